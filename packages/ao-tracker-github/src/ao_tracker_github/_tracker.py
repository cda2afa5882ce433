"""``GitHubTracker``: GitHub Issues as an ao tracker."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from ao_core.config import ProjectConfig
from ao_core.errors import IssueNotFoundError, TrackerError
from ao_core.models import CreateIssueInput, Issue, IssueFilters, IssueState, IssueUpdate

from ao_tracker_github._cache import TTLCache
from ao_tracker_github._config import GitHubTrackerConfig
from ao_tracker_github._github import GitHubAccess, RepoName, parse_repo, web_base

if TYPE_CHECKING:
    from github import Github

__all__ = ["GitHubTracker", "parse_issue_number"]

T = TypeVar("T")

_NUMBER_RE = re.compile(r"^#?([1-9][0-9]{0,9})$")
_URL_NUMBER_RE = re.compile(r"/(?:issues|pull)/([1-9][0-9]{0,9})(?:[/?#]|$)")


def parse_issue_number(identifier: str) -> int:
    """The issue number of ``"42"`` or ``"#42"``.

    Raises:
        TrackerError: for anything else (it would end up in a branch name).
    """
    match = _NUMBER_RE.match(identifier.strip())
    if match is None:
        raise TrackerError(f"{identifier!r} is not a GitHub issue number; give it as 42 or #42")
    return int(match.group(1))


def _to_issue(data: Mapping[str, Any]) -> Issue:
    """An issue's REST JSON as an :class:`Issue` (``state_reason`` not_planned → cancelled)."""
    if data.get("state") == "closed":
        state = IssueState.CANCELLED if data.get("state_reason") == "not_planned" else IssueState.CLOSED
    else:
        state = IssueState.OPEN
    assignees = [a.get("login") for a in data.get("assignees") or [] if isinstance(a, dict)]
    return Issue(
        id=str(data["number"]),
        title=str(data.get("title") or ""),
        description=str(data.get("body") or ""),
        url=str(data.get("html_url") or ""),
        state=state,
        labels=[str(label.get("name")) for label in data.get("labels") or [] if isinstance(label, dict)],
        assignee=assignees[0] if assignees else None,
    )


def _next_link(header: Any) -> str | None:
    """The ``rel="next"`` URL of a ``Link`` header."""
    for part in str(header or "").split(","):
        url, _, rel = part.partition(";")
        if rel.strip() == 'rel="next"':
            return url.strip().strip("<>")
    return None


class GitHubTracker:
    """GitHub Issues of a project's ``repo``, through the REST API (PyGithub in worker threads).

    Fetched issues are cached for ``cacheTtlSeconds``; concurrent requests for one issue share a single
    HTTP request. Writes through :meth:`update_issue` invalidate the issue's cache entry.
    """

    def __init__(self, config: GitHubTrackerConfig) -> None:
        self.config = config
        self._gh = GitHubAccess(config.base_url, config.token_env, config.timeout_seconds)
        self._cache: TTLCache[Issue] = TTLCache(config.cache_ttl_seconds, config.cache_size)
        self._web = web_base(config.base_url)

    @property
    def name(self) -> str:
        """``github``."""
        return "github"

    # ------------------------------------------------------------------ reading

    async def get_issue(self, identifier: str, project: ProjectConfig) -> Issue:
        """Fetch an issue (cached).

        Raises:
            IssueNotFoundError: when the repository has no such issue.
            TrackerError: when the repository cannot be seen, ``repo`` is malformed, or GitHub fails.
        """
        repo = parse_repo(project)
        number = parse_issue_number(identifier)
        return await self._cache.get((repo.lower(), number), lambda: self._fetch(repo, number, identifier, project))

    async def _fetch(self, repo: RepoName, number: int, identifier: str, project: ProjectConfig) -> Issue:
        from github.GithubException import UnknownObjectException

        def fetch(gh: Github) -> tuple[Issue, bool]:
            _, data = gh.requester.requestJsonAndCheck("GET", f"/repos/{repo}/issues/{number}")
            return _to_issue(data), "pull_request" in data

        try:
            issue, is_pull = await self._gh.call(f"read issue #{number} of {repo}", fetch)
        except UnknownObjectException as exc:
            await self._check_repo_visible(repo, project)
            raise IssueNotFoundError(identifier, f"GitHub repository {repo}") from exc
        if is_pull:
            raise TrackerError(f"#{number} of {repo} is a pull request, not an issue")
        return issue

    async def _check_repo_visible(self, repo: RepoName, project: ProjectConfig) -> None:
        from github.GithubException import UnknownObjectException

        def probe(gh: Github) -> None:
            gh.get_repo(repo).complete()

        try:
            await self._gh.call(f"read repository {repo}", probe)
        except UnknownObjectException as exc:
            raise TrackerError(
                f"GitHub repository {repo} does not exist or the token from {self.config.token_env} cannot see it; "
                f"check projects.{project.name or '<project>'}.repo and the token's access"
            ) from exc

    async def is_completed(self, identifier: str, project: ProjectConfig) -> bool:
        """Whether the issue is closed (completed) or cancelled (closed as not planned)."""
        issue = await self.get_issue(identifier, project)
        return issue.state in (IssueState.CLOSED, IssueState.CANCELLED)

    def issue_url(self, identifier: str, project: ProjectConfig) -> str:
        """``https://github.com/<owner>/<name>/issues/<n>`` (the web host of ``baseUrl``)."""
        return f"{self._web}/{parse_repo(project)}/issues/{parse_issue_number(identifier)}"

    def issue_label(self, url: str, project: ProjectConfig) -> str:
        """``#<n>`` for an issue or pull request URL (the URL itself when it names neither)."""
        match = _URL_NUMBER_RE.search(url)
        if match is not None:
            return f"#{match.group(1)}"
        bare = _NUMBER_RE.match(url.strip())
        return f"#{bare.group(1)}" if bare else url

    def branch_name(self, identifier: str, project: ProjectConfig) -> str:
        """``feat/issue-<n>``; only a validated number gets into the branch name."""
        return f"feat/issue-{parse_issue_number(identifier)}"

    async def generate_prompt(self, identifier: str, project: ProjectConfig) -> str:
        """The issue as a complete task description: title, URL, labels, description, what to do."""
        issue = await self.get_issue(identifier, project)
        lines = [f"You are working on GitHub issue #{issue.id}: {issue.title}", f"Issue URL: {issue.url}"]
        if issue.labels:
            lines.append(f"Labels: {', '.join(issue.labels)}")
        lines += [
            "",
            "## Description",
            "",
            issue.description.strip() or "(The issue has no description; the title is the task.)",
            "",
            "This issue description is the complete context for the task: you do not need to look the issue up "
            "on GitHub.",
            "Implement the change, commit it on your branch with a clear message, and push the branch.",
        ]
        return "\n".join(lines)

    async def list_issues(self, filters: IssueFilters, project: ProjectConfig) -> list[Issue]:
        """Issues (pull requests left out) by state, labels (all must match) and assignee, up to ``limit``."""
        repo = parse_repo(project)

        def fetch(gh: Github) -> list[Issue]:
            # Raw pages, not PyGithub objects: reading ``pull_request`` (absent on plain issues) from a
            # listed Issue object would make PyGithub fetch every issue again.
            params: dict[str, Any] = {"state": filters.state, "per_page": min(100, max(filters.limit, 1))}
            if filters.labels:
                params["labels"] = ",".join(filters.labels)
            if filters.assignee:
                params["assignee"] = filters.assignee
            found: list[Issue] = []
            url: str | None = f"/repos/{repo}/issues"
            while url is not None:
                headers, page = gh.requester.requestJsonAndCheck("GET", url, parameters=params)
                for item in page or []:
                    if "pull_request" in item:
                        continue
                    found.append(_to_issue(item))
                    if len(found) >= filters.limit:
                        return found
                url, params = _next_link(headers.get("link")), {}
            return found

        issues = await self._call_repo(repo, project, f"list issues of {repo}", fetch)
        for issue in issues:
            self._cache.put((repo.lower(), int(issue.id)), issue)
        return issues

    async def _call_repo(
        self,
        repo: RepoName,
        project: ProjectConfig,
        what: str,
        fn: Callable[[Github], T],
        missing: Callable[[], TrackerError] | None = None,
    ) -> T:
        """Run ``fn``; a 404 means either the repository is invisible (said so) or ``missing()``."""
        from github.GithubException import UnknownObjectException

        try:
            return await self._gh.call(what, fn)
        except UnknownObjectException as exc:
            await self._check_repo_visible(repo, project)
            raise (missing() if missing else TrackerError(f"GitHub could not {what}: not found")) from exc

    # ------------------------------------------------------------------ writing

    async def update_issue(self, identifier: str, update: IssueUpdate, project: ProjectConfig) -> None:
        """Close (as completed) or reopen, add and remove labels, assign, comment.

        ``in_progress`` has no GitHub equivalent and leaves the state alone. Removing a label the issue
        does not have is not an error.
        """
        from github.GithubException import GithubException

        repo = parse_repo(project)
        number = parse_issue_number(identifier)

        def apply(gh: Github) -> None:
            issue = gh.get_repo(repo).get_issue(number)
            if update.state == "closed":
                issue.edit(state="closed", state_reason="completed")
            elif update.state == "open":
                issue.edit(state="open")
            if update.labels:
                issue.add_to_labels(*update.labels)
            for label in update.remove_labels:
                try:
                    issue.remove_from_labels(label)
                except GithubException as exc:
                    if exc.status != 404:
                        raise
            if update.assignee:
                issue.add_to_assignees(update.assignee)
            if update.comment:
                issue.create_comment(update.comment)

        self._cache.invalidate((repo.lower(), number))
        try:
            await self._call_repo(
                repo,
                project,
                f"update issue #{number} of {repo}",
                apply,
                lambda: IssueNotFoundError(identifier, f"GitHub repository {repo}"),
            )
        finally:
            self._cache.invalidate((repo.lower(), number))

    async def create_issue(self, issue: CreateIssueInput, project: ProjectConfig) -> Issue:
        """Open an issue with title, description, labels and assignee (GitHub has no priority; it is ignored)."""
        repo = parse_repo(project)

        def create(gh: Github) -> Issue:
            kwargs: dict[str, Any] = {"title": issue.title, "body": issue.description}
            if issue.labels:
                kwargs["labels"] = list(issue.labels)
            if issue.assignee:
                kwargs["assignees"] = [issue.assignee]
            return _to_issue(gh.get_repo(repo).create_issue(**kwargs).raw_data)

        created = await self._call_repo(repo, project, f"create an issue in {repo}", create)
        self._cache.put((repo.lower(), int(created.id)), created)
        return created
