"""``GitHubSCM``: pull requests, CI, reviews, webhooks and batched snapshots on GitHub."""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlsplit

import anyio
from ao_core.config import ProjectConfig
from ao_core.errors import RateLimitedError, SCMError
from ao_core.models import (
    AutomatedComment,
    CICheck,
    CIStatus,
    MergeMethod,
    MergeReadiness,
    PRInfo,
    PRSnapshot,
    PRState,
    PRSummary,
    Review,
    ReviewComment,
    ReviewDecision,
    ReviewThreads,
    Session,
    WebhookEvent,
    WebhookEventKind,
    WebhookRequest,
    WebhookVerification,
)

from ao_scm_github import _mapping as m
from ao_scm_github import _webhooks
from ao_scm_github._config import GitHubSCMConfig
from ao_scm_github._github import (
    GitHubAccess,
    NotFound,
    RepoName,
    check_repo,
    parse_repo,
    rate_limit_reset,
    rate_limited,
    web_base,
)

if TYPE_CHECKING:
    from github import Github
    from github.PullRequest import PullRequest

    from ao_scm_github._snapshots import SnapshotEngine

__all__ = ["GitHubSCM"]

T = TypeVar("T")

_NUMBER_RE = re.compile(r"^#?([1-9][0-9]{0,9})$")
_PR_URL_RE = re.compile(r"^/([^/]+)/([^/]+)/pull/([1-9][0-9]{0,9})(?:/.*)?$")

_PR_QUERY = """
query AoPullRequest($owner: String!, $name: String!, $number: Int!) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      state isDraft mergeable mergeStateStatus reviewDecision
      commits(last: 1) { nodes { commit { statusCheckRollup { state } } } }
    }
  }
}
"""

_THREADS_QUERY = """
query AoReviewThreads($owner: String!, $name: String!, $number: Int!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      reviewThreads(first: 100, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes {
          id isResolved path line
          comments(first: 1) {
            nodes { id databaseId author { __typename login } body path line url createdAt }
          }
        }
      }
      reviews(last: 30) { nodes { author { login } state body submittedAt } }
    }
  }
}
"""
_MAX_THREAD_PAGES = 10
_MAX_CACHED_THREADS = 1000
_GUARD_PAGE = 100
_THREAD_EVENTS = (WebhookEventKind.REVIEW, WebhookEventKind.COMMENT, WebhookEventKind.PULL_REQUEST)


@dataclass
class _CachedThreads:
    """The last :meth:`GitHubSCM.get_review_threads` of a pull request and the ETags it was read under."""

    result: ReviewThreads
    etags: tuple[str | None, str | None]
    """Of the review comments and the reviews lists; ``None``: cannot guard (the next read runs GraphQL)."""


def _pr_info(data: PullRequest, repo: RepoName) -> PRInfo:
    return PRInfo(
        number=data.number,
        url=data.html_url,
        title=data.title or "",
        owner=repo.owner,
        repo=repo.name,
        branch=data.head.ref,
        base_branch=data.base.ref,
        is_draft=bool(data.draft),
    )


def _repo_of(pr: PRInfo) -> RepoName:
    return check_repo(pr.owner, pr.repo, f"pull request {pr.key}")


class GitHubSCM:
    """GitHub pull requests through PyGithub (REST, in worker threads) and GraphQL; snapshots through httpx.

    Implements ``SCM`` and every optional capability: ``SupportsPRSnapshots``, ``SupportsPRSummary``,
    ``SupportsReviewThreads``, ``SupportsClaimPR`` and ``SupportsWebhooks``.

    Args:
        config: The plugin's options.
        clock: Monotonic seconds for the snapshot engine's periodic refresh (tests pass their own).
    """

    def __init__(self, config: GitHubSCMConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self._gh = GitHubAccess(config.base_url, config.token_env, config.timeout_seconds)
        self._web = web_base(config.base_url)
        self._engine: SnapshotEngine | None = None
        self._threads_cache: OrderedDict[str, _CachedThreads] = OrderedDict()
        self._threads_epoch = 0
        """Bumped by every webhook that drops cached review threads (a read racing it stores no ETags)."""

    @property
    def name(self) -> str:
        """``github``."""
        return "github"

    # ------------------------------------------------------------------ pull requests

    async def detect_pr(self, session: Session, project: ProjectConfig) -> PRInfo | None:
        """The open pull request whose head is the session's branch (``head=owner:branch``), or ``None``."""
        if not session.branch:
            return None
        repo = parse_repo(project)
        branch = session.branch

        def find(gh: Github) -> PRInfo | None:
            for data in gh.get_repo(repo).get_pulls(state="open", head=f"{repo.owner}:{branch}"):
                return _pr_info(data, repo)
            return None

        return await self._call(f"find the pull request of branch {branch} in {repo}", find, repo=repo, project=project)

    async def resolve_pr(self, reference: str, project: ProjectConfig) -> PRInfo:
        """A pull request of the project's repository by number (``42``, ``#42``) or URL.

        Raises:
            SCMError: for a reference that is neither, a URL of another repository, or no such pull request.
        """
        repo = parse_repo(project)
        number = self._number_from(reference.strip(), repo)

        def get(gh: Github) -> PRInfo:
            data = gh.get_repo(repo).get_pull(number)
            data.complete()
            return _pr_info(data, repo)

        return await self._call(f"read pull request #{number} of {repo}", get, repo=repo, project=project)

    def _number_from(self, reference: str, repo: RepoName) -> int:
        match = _NUMBER_RE.match(reference)
        if match:
            return int(match.group(1))
        parts = urlsplit(reference)
        url_match = _PR_URL_RE.match(parts.path) if parts.scheme in ("http", "https") else None
        if url_match is None:
            raise SCMError(f"{reference!r} is not a pull request number (42, #42) or URL (.../owner/repo/pull/42)")
        if f"{url_match.group(1)}/{url_match.group(2)}".lower() != repo.lower():
            raise SCMError(f"{reference} is a pull request of {url_match.group(1)}/{url_match.group(2)}, not of {repo}")
        return int(url_match.group(3))

    async def get_pr_state(self, pr: PRInfo) -> PRState:
        """Open, merged or closed."""
        repo = _repo_of(pr)

        def get(gh: Github) -> PRState:
            data = gh.get_repo(repo).get_pull(pr.number)
            data.complete()
            return m.pr_state(data.state, bool(data.merged))

        return await self._call(f"read the state of {pr.key}", get, pr=pr)

    async def get_pr_summary(self, pr: PRInfo) -> PRSummary:
        """State, title, additions and deletions."""
        repo = _repo_of(pr)

        def get(gh: Github) -> PRSummary:
            data = gh.get_repo(repo).get_pull(pr.number)
            data.complete()
            return PRSummary(
                state=m.pr_state(data.state, bool(data.merged)),
                title=data.title or "",
                additions=data.additions,
                deletions=data.deletions,
            )

        return await self._call(f"read {pr.key}", get, pr=pr)

    async def merge_pr(self, pr: PRInfo, method: MergeMethod = MergeMethod.SQUASH) -> None:
        """Merge (only the head that was checked: a push in between makes GitHub refuse with 409).

        The head branch is deleted afterwards when ``deleteBranchOnMerge`` is set and it lives in the
        same repository.

        Raises:
            SCMError: with GitHub's reason when it refuses (not mergeable, checks, reviews, draft).
        """
        from github.GithubException import GithubException

        repo = _repo_of(pr)
        delete = self.config.delete_branch_on_merge

        def merge(gh: Github) -> None:
            github_repo = gh.get_repo(repo)
            data = github_repo.get_pull(pr.number)
            data.complete()
            head_sha, head_repo = data.head.sha, data.head.repo
            status = data.merge(merge_method=method.value, sha=head_sha)
            if not status.merged:
                raise SCMError(f"GitHub did not merge {pr.key}: {status.message}")
            if delete and head_repo is not None and head_repo.full_name.lower() == repo.lower():
                try:
                    gh.requester.requestJsonAndCheck(
                        "DELETE", f"{github_repo.url}/git/refs/heads/{quote(data.head.ref, safe='/')}"
                    )
                except GithubException as exc:
                    if exc.status not in (404, 422):  # already gone
                        raise

        await self._call(f"merge {pr.key}", merge, pr=pr)

    async def close_pr(self, pr: PRInfo) -> None:
        """Close without merging."""
        repo = _repo_of(pr)

        def close(gh: Github) -> None:
            gh.get_repo(repo).get_pull(pr.number).edit(state="closed")

        await self._call(f"close {pr.key}", close, pr=pr)

    # ------------------------------------------------------------------ CI

    async def get_ci_checks(self, pr: PRInfo) -> list[CICheck]:
        """Every check run and commit status of the head commit (latest per name)."""
        repo = _repo_of(pr)

        def read(gh: Github) -> list[CICheck]:
            github_repo = gh.get_repo(repo)
            data = github_repo.get_pull(pr.number)
            data.complete()
            commit = github_repo.get_commit(data.head.sha)
            checks = [
                m.check_from_run(
                    {
                        "name": run.name,
                        "status": run.status,
                        "conclusion": run.conclusion,
                        "details_url": run.details_url,
                        "html_url": run.html_url,
                        "started_at": run.started_at,
                        "completed_at": run.completed_at,
                    }
                )
                for run in commit.get_check_runs()
            ]
            combined = commit.get_combined_status()
            checks += [
                m.check_from_status(
                    {
                        "context": status.context,
                        "state": status.state,
                        "target_url": status.target_url,
                        "created_at": status.created_at,
                        "updated_at": status.updated_at,
                    }
                )
                for status in combined.statuses
            ]
            return checks

        return await self._call(f"read the CI checks of {pr.key}", read, pr=pr)

    async def get_ci_log_tails(self, pr: PRInfo, checks: Sequence[CICheck]) -> dict[str, str]:
        """The end of each named check's log: the Actions job log, else the check run's report.

        Two REST requests find the head commit's check runs; each GitHub Actions run then costs one more
        (``GET /repos/O/R/actions/jobs/<id>/logs``, a redirect to the log's download URL, which is free).
        Runs of other apps give their report (``output``: title, summary, text). A log GitHub no longer has
        (expired, 404/410) falls back to the report; checks with neither are left out.
        """
        repo = _repo_of(pr)
        names = {check.name for check in checks}

        def read(gh: Github) -> list[tuple[str, int, bool, str]]:
            github_repo = gh.get_repo(repo)
            commit = github_repo.get_commit(github_repo.get_pull(pr.number).head.sha)
            found = []
            for run in commit.get_check_runs():
                if run.name in names:
                    output = run.output
                    report = "\n".join(p for p in (output.title, output.summary, output.text) if p) if output else ""
                    found.append((run.name, run.id, bool(run.app and run.app.slug == "github-actions"), report))
            return found

        runs = await self._call(f"read the check runs of {pr.key}", read, pr=pr)
        tails: dict[str, str] = {}
        for name, run_id, actions, report in runs:
            log = await self._job_log(repo, run_id) if actions else None
            text = m.log_tail(log or report)
            if text:
                tails[name] = text
        return tails

    async def _job_log(self, repo: RepoName, job_id: int) -> str | None:
        """An Actions job's log, or ``None`` when GitHub has none (any more)."""
        from ao_scm_github._snapshots import http_client

        url = f"{self._gh.base_url}/repos/{repo}/actions/jobs/{job_id}/logs"
        try:
            async with await http_client(self._gh, 1) as client:
                response = await client.get(url, follow_redirects=True)
        except Exception as exc:  # httpx.HTTPError and OS errors
            raise SCMError(
                f"cannot reach GitHub at {self._gh.base_url} to read a job log: {type(exc).__name__}"
            ) from exc
        if response.status_code in (404, 410):
            return None
        if response.status_code >= 400:
            message = response.text[:200] if response.text else ""
            if rate_limited(response.status_code, response.headers, message):
                raise RateLimitedError(self._gh.host, rate_limit_reset(response.headers), "reading a job log")
            raise SCMError(f"GitHub answered {response.status_code} for the log of job {job_id} in {repo}")
        return str(response.text)

    async def get_ci_summary(self, pr: PRInfo) -> CIStatus:
        """Failing if any check failed, pending if any runs, passing if any passed, else none.

        Fails closed: when the checks of an open pull request cannot be read, the answer is ``failing``
        (a merged or closed one gives ``none``). A rate limit is raised, not hidden.
        """
        try:
            return m.ci_summary(await self.get_ci_checks(pr))
        except RateLimitedError:
            raise
        except SCMError:
            try:
                state = await self.get_pr_state(pr)
            except SCMError:
                state = PRState.OPEN
            return CIStatus.NONE if state is not PRState.OPEN else CIStatus.FAILING

    # ------------------------------------------------------------------ reviews

    async def get_reviews(self, pr: PRInfo) -> list[Review]:
        """Every submitted review, oldest first."""
        repo = _repo_of(pr)

        def read(gh: Github) -> list[Review]:
            return [
                Review(
                    author=review.user.login if review.user else "ghost",
                    state=m.review_state(review.state),
                    body=review.body or "",
                    submitted_at=review.submitted_at,
                )
                for review in gh.get_repo(repo).get_pull(pr.number).get_reviews()
            ]

        return await self._call(f"read the reviews of {pr.key}", read, pr=pr)

    async def _pr_details(self, pr: PRInfo) -> dict[str, Any]:
        repo = _repo_of(pr)
        variables = {"owner": repo.owner, "name": repo.name, "number": pr.number}
        try:
            data = await self._gh.graphql(f"read {pr.key}", _PR_QUERY, variables)
        except NotFound as exc:
            raise SCMError(f"pull request {pr.key} does not exist or cannot be seen with the token") from exc
        node = (data.get("repository") or {}).get("pullRequest")
        if not isinstance(node, dict):
            raise SCMError(f"pull request {pr.key} does not exist or cannot be seen with the token")
        return node

    async def get_review_decision(self, pr: PRInfo) -> ReviewDecision:
        """GitHub's review decision (``none`` when the repository requires no review)."""
        return m.review_decision((await self._pr_details(pr)).get("reviewDecision"))

    async def _threads(self, pr: PRInfo) -> tuple[list[ReviewComment], list[dict[str, Any]]]:
        repo = _repo_of(pr)
        threads: list[ReviewComment] = []
        reviews: list[dict[str, Any]] = []
        after: str | None = None
        for _ in range(_MAX_THREAD_PAGES):
            variables = {"owner": repo.owner, "name": repo.name, "number": pr.number, "after": after}
            try:
                data = await self._gh.graphql(f"read the review threads of {pr.key}", _THREADS_QUERY, variables)
            except NotFound as exc:
                raise SCMError(f"pull request {pr.key} does not exist or cannot be seen with the token") from exc
            node = (data.get("repository") or {}).get("pullRequest") or {}
            connection = node.get("reviewThreads") or {}
            for thread in connection.get("nodes") or []:
                comment = m.thread_comment(thread) if isinstance(thread, dict) else None
                if comment is not None:
                    threads.append(comment)
            if not reviews:
                reviews = [r for r in (node.get("reviews") or {}).get("nodes") or [] if isinstance(r, dict)]
            page = connection.get("pageInfo") or {}
            if not page.get("hasNextPage"):
                break
            after = page.get("endCursor")
        return threads, reviews

    async def get_pending_comments(self, pr: PRInfo) -> list[ReviewComment]:
        """The first comment of every unresolved thread started by a human."""
        threads, _ = await self._threads(pr)
        return [t for t in threads if not t.is_resolved and not t.is_bot]

    async def get_automated_comments(self, pr: PRInfo) -> list[AutomatedComment]:
        """The first comment of every unresolved thread started by a bot."""
        threads, _ = await self._threads(pr)
        return [m.automated(t) for t in threads if not t.is_resolved and t.is_bot]

    async def get_review_threads(self, pr: PRInfo) -> ReviewThreads:
        """Unresolved threads of humans and bots (``is_bot`` set) and the bodies of submitted reviews.

        Guarded by two conditional REST requests (the pull request's review comments and reviews,
        ``per_page=100``): when both answer 304 (free) the previous result is returned without GraphQL.
        The first read sends them too, to prime the ETags. A resolved thread may move neither list
        (see the README); webhooks for reviews, review comments and the pull request drop the cache.
        """
        repo = _repo_of(pr)
        cached = self._threads_cache.get(pr.key)
        epoch = self._threads_epoch
        etags = await self._thread_guards(repo, pr.number, cached.etags if cached is not None else (None, None))
        if cached is not None and etags is None:
            self._threads_cache.move_to_end(pr.key)
            return cached.result
        threads, reviews = await self._threads(pr)
        result = ReviewThreads(threads=[t for t in threads if not t.is_resolved], reviews=m.review_summaries(reviews))
        raced = epoch != self._threads_epoch  # a webhook during the read: its change may postdate the ETags
        self._threads_cache[pr.key] = _CachedThreads(result, (None, None) if raced or etags is None else etags)
        self._threads_cache.move_to_end(pr.key)
        while len(self._threads_cache) > _MAX_CACHED_THREADS:
            self._threads_cache.popitem(last=False)
        return result

    async def _thread_guards(
        self, repo: RepoName, number: int, etags: tuple[str | None, str | None]
    ) -> tuple[str | None, str | None] | None:
        """The review threads' guards: ``None`` when both lists answered 304, else their new ETags.

        An ETag is ``None`` for a list that cannot guard: an error, no ETag, or a full page.
        """
        from ao_scm_github._snapshots import conditional_get, http_client

        base = f"{self._gh.base_url}/repos/{quote(repo.owner)}/{quote(repo.name)}/pulls/{number}"
        urls = (f"{base}/comments?per_page={_GUARD_PAGE}", f"{base}/reviews?per_page={_GUARD_PAGE}")
        answers: list[tuple[int, str | None]] = [(0, None), (0, None)]
        limiter = anyio.CapacityLimiter(2)

        async def guard(i: int, client: Any) -> None:
            try:
                status, body, etag = await conditional_get(client, urls[i], etags[i], access=self._gh, limiter=limiter)
            except SCMError:  # rate limits too: the GraphQL read decides, as without the guard
                return
            # the lists are oldest first: past one page, a new entry would not change the first page's ETag
            full = isinstance(body, list) and len(body) >= _GUARD_PAGE
            answers[i] = (status, None if full else etag)

        async with await http_client(self._gh, 2) as client, anyio.create_task_group() as tg:
            for i in range(2):
                tg.start_soon(guard, i, client)
        if all(status == 304 for status, _ in answers):
            return None
        return answers[0][1], answers[1][1]

    async def get_mergeability(self, pr: PRInfo) -> MergeReadiness:
        """Whether the pull request can be merged now, with every blocker named (one GraphQL request)."""
        node = await self._pr_details(pr)
        state = m.pr_state(node.get("state"))
        if state is PRState.MERGED:
            return MergeReadiness(mergeable=True, ci_passing=True, approved=True, no_conflicts=True, blockers=[])
        commits = ((node.get("commits") or {}).get("nodes") or [{}])[-1] or {}
        rollup = (commits.get("commit") or {}).get("statusCheckRollup") or {}
        ci = m.ci_from_rollup(rollup.get("state"))
        found = m.blockers(
            state=state,
            ci=ci,
            decision=node.get("reviewDecision"),
            mergeable=node.get("mergeable"),
            merge_state=node.get("mergeStateStatus"),
            draft=bool(node.get("isDraft")),
        )
        return MergeReadiness(
            mergeable=not found,
            ci_passing=ci in (CIStatus.PASSING, CIStatus.NONE),
            approved=str(node.get("reviewDecision") or "").upper() == "APPROVED",
            no_conflicts=str(node.get("mergeable") or "").upper() == "MERGEABLE",
            blockers=found,
        )

    # ------------------------------------------------------------------ claiming

    async def checkout_pr(self, pr: PRInfo, workspace_path: str) -> bool:
        """Check the pull request's branch out in the workspace; ``True`` if the branch changed.

        Raises:
            SCMError: when the workspace has uncommitted changes or git fails.
        """
        from ao_scm_github._checkout import checkout

        return await checkout(pr, workspace_path)

    async def assign_pr_to_current_user(self, pr: PRInfo) -> None:
        """Add the token's user to the pull request's assignees."""
        repo = _repo_of(pr)

        def assign(gh: Github) -> None:
            login = gh.get_user().login
            gh.get_repo(repo).get_issue(pr.number).add_to_assignees(login)

        await self._call(f"assign {pr.key}", assign, pr=pr)

    # ------------------------------------------------------------------ webhooks

    async def verify_webhook(self, request: WebhookRequest, project: ProjectConfig) -> WebhookVerification:
        """Check size (413), signature (401) and JSON (400) of a delivery."""
        return _webhooks.verify(request, self.config.webhook)

    async def parse_webhook(self, request: WebhookRequest, project: ProjectConfig) -> WebhookEvent | None:
        """The event of a verified delivery (``None`` for deliveries ao has no use for).

        The snapshots the event may have changed are re-read by the next :meth:`get_pr_snapshots`, whatever
        the guards say: a re-run of a finished check, for one, moves nothing a guard can see.
        """
        event = _webhooks.parse(request)
        if event is not None and self._engine is not None:
            self._engine.invalidate(event)
        if event is not None:
            self._invalidate_threads(event)
        return event

    def _invalidate_threads(self, event: WebhookEvent) -> None:
        """Drop the cached review threads of the pull request of a review, comment or pull_request event."""
        if event.kind not in _THREAD_EVENTS or event.pr_number is None or not event.owner or not event.repo:
            return
        key = f"{event.owner}/{event.repo}#{event.pr_number}".lower()
        for cached in [k for k in self._threads_cache if k.lower() == key]:
            del self._threads_cache[cached]
        self._threads_epoch += 1

    # ------------------------------------------------------------------ snapshots

    async def get_pr_snapshots(self, prs: Sequence[PRInfo]) -> dict[str, PRSnapshot]:
        """Snapshots keyed by ``PRInfo.key``, in as few requests as GitHub allows.

        One GraphQL request per 50 pull requests to re-read; which ones depends on ``snapshotMode``
        (adaptive by default: one conditional request per repository, answered 304 and free when nothing
        changed). Pull requests that cannot be read are left out.

        Raises:
            RateLimitedError: when GitHub refuses for a rate limit (with the reset time).
        """
        readable = []
        for pr in prs:
            try:
                _repo_of(pr)
            except SCMError:
                continue  # not a GitHub owner/name: it cannot be read, so it is left out
            readable.append(pr)
        if not readable:
            return {}
        if self._engine is None:
            from ao_scm_github._snapshots import SnapshotEngine

            self._engine = SnapshotEngine(
                self._gh,
                self.config.max_concurrent_requests,
                mode=self.config.snapshot_mode,
                full_refresh_polls=self.config.full_refresh_polls,
                full_refresh_seconds=self.config.full_refresh_seconds,
                ci_start_grace_seconds=self.config.ci_start_grace_seconds,
                clock=self._clock,
            )
        return await self._engine.snapshots(readable)

    @property
    def last_poll(self) -> dict[str, int]:
        """What the last :meth:`get_pr_snapshots` did.

        ``requests``, ``not_modified``, ``graphql``, ``refreshed``; adaptive mode adds why pull requests were
        re-read: ``volatile``, ``due`` (periodic refresh) and ``invalidated`` (webhooks).
        """
        return dict(self._engine.last_poll) if self._engine else {}

    # ------------------------------------------------------------------ plumbing

    async def _call(
        self,
        what: str,
        fn: Callable[[Github], T],
        *,
        pr: PRInfo | None = None,
        repo: RepoName | None = None,
        project: ProjectConfig | None = None,
    ) -> T:
        """Run ``fn`` in a worker thread; a 404 names the missing pull request or the invisible repository."""
        try:
            return await self._gh.call(what, fn)
        except NotFound as exc:
            if repo is not None and not await self._repo_visible(repo):
                key = f"projects.{project.name or '<project>'}.repo" if project else "the project's repo"
                raise SCMError(
                    f"GitHub repository {repo} does not exist or the token from {self.config.token_env} cannot "
                    f"see it; check {key} and the token's access"
                ) from exc
            if pr is not None:
                raise SCMError(f"pull request {pr.key} does not exist or cannot be seen with the token") from exc
            raise SCMError(f"GitHub could not {what}: not found") from exc

    async def _repo_visible(self, repo: RepoName) -> bool:
        def probe(gh: Github) -> None:
            gh.get_repo(repo).complete()

        try:
            await self._gh.call(f"read repository {repo}", probe)
        except NotFound:
            return False
        return True
