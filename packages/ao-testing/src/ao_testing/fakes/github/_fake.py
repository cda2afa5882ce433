"""``FakeGitHub``: a stateful GitHub (REST + GraphQL) on 127.0.0.1, backed by real bare git repositories."""

from __future__ import annotations

import functools
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ao_testing.fakes._serving import LocalHTTPServer
from ao_testing.fakes.github._git import GitRepo
from ao_testing.fakes.github._model import (
    FAILING_CONCLUSIONS,
    Budget,
    CheckRun,
    CommitStatus,
    FakeIssue,
    FakePullRequest,
    FakeRepo,
    IssueComment,
    Review,
    ReviewComment,
    ReviewThread,
    TokenInfo,
    User,
)
from ao_testing.fakes.github._webhooks import (
    WebhookDelivery,
    check_run_payload,
    check_suite_payload,
    deliver,
    issue_comment_payload,
    pull_request_payload,
    push_payload,
    review_comment_payload,
    review_payload,
    status_payload,
)

__all__ = ["ApiError", "FakeGitHub", "Fault", "Hook", "RequestRecord"]

DEFAULT_TOKEN = "fake-token"
DEFAULT_LOGIN = "ao-user"
DEFAULT_REVIEWER = "octo-reviewer"


class ApiError(Exception):
    """An error answer of the API: status, message and optional validation errors."""

    def __init__(
        self,
        status: int,
        message: str,
        errors: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class RequestRecord:
    """One request the fake answered."""

    method: str
    path: str
    query: str
    status: int
    cost: int
    resource: str
    conditional: bool
    login: str | None
    fault: bool
    duration_ms: float

    @property
    def target(self) -> str:
        """Path and query, as sent."""
        return f"{self.path}?{self.query}" if self.query else self.path


@dataclass
class Fault:
    """An injected answer for the next ``count`` requests matching ``method`` and the ``path`` pattern."""

    path: re.Pattern[str]
    status: int
    count: int | None
    method: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies to a request."""
        return (self.method is None or self.method == method) and self.path.search(path) is not None


@dataclass
class Hook:
    """A webhook subscription: deliveries of ``events`` (``*`` for all) to ``url`` signed with ``secret``."""

    url: str
    secret: str | None
    events: frozenset[str]


class FakeGitHub(LocalHTTPServer):
    """A faithful, stateful fake of GitHub's REST and GraphQL APIs on 127.0.0.1.

    Every repository is a real bare git repository under ``root``: agents push to :meth:`repo_path`,
    and the fake reads branches, head SHAs, mergeability and conflicts from git. Tests act as humans
    through helpers (:meth:`approve`, :meth:`request_changes`, :meth:`fail_ci`, ...), inject faults
    (:meth:`fail_next`, :meth:`rate_limit_next`, :meth:`throttle_next`, :attr:`latency`,
    :attr:`graphql_field_limit`), and assert on
    :attr:`requests`, the log of every request with its status and rate-limit cost.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(self, root: Path, *, latency: float = 0.0) -> None:
        super().__init__()
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.latency = latency
        """Seconds added to every request (models network and server time)."""
        self.graphql_field_limit: int | None = None
        """When set, a GraphQL query selecting more top-level fields (aliases) than this is refused with
        ``RESOURCE_LIMITS_EXCEEDED``, as GitHub refuses a query that needs more than it allows one query."""
        self._lock = threading.RLock()
        self._users: dict[str, User] = {}
        self._tokens: dict[str, TokenInfo] = {}
        self._anonymous: dict[str, Budget] = {"core": Budget(limit=60), "graphql": Budget(limit=0)}
        self._repos: dict[str, FakeRepo] = {}
        self._faults: list[Fault] = []
        self._log: list[RequestRecord] = []
        self._hooks: list[Hook] = []
        self._deliveries: list[WebhookDelivery] = []
        self._delivery_threads: list[threading.Thread] = []
        self.default_token = DEFAULT_TOKEN
        self.add_token(DEFAULT_TOKEN, DEFAULT_LOGIN)
        self.user(DEFAULT_REVIEWER)

    @property
    def lock(self) -> threading.RLock:
        """The lock that guards the fake's state (the HTTP handlers hold it while they change things)."""
        return self._lock

    @property
    def anonymous_budgets(self) -> dict[str, Budget]:
        """The budgets of requests without a token."""
        return self._anonymous

    # ================================================================== lifecycle

    _thread_name = "fake-github"
    _join_timeout = 10.0
    _not_started_message = "the fake GitHub is not started"

    def _make_server(self) -> ThreadingHTTPServer:
        from ao_testing.fakes.github._http import make_server

        return make_server(self)

    def close(self) -> None:
        """Stop serving and wait for pending webhook deliveries."""
        super().close()
        for thread in list(self._delivery_threads):
            thread.join(timeout=10)

    def stop(self) -> None:
        """Stop serving and wait for pending webhook deliveries."""
        self.close()

    @property
    def url(self) -> str:
        """The API base URL (``http://127.0.0.1:<port>``): give it to clients as their ``base_url``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def graphql_url(self) -> str:
        """The GraphQL endpoint."""
        return f"{self.url}/graphql"

    # ================================================================== users, tokens, budgets

    def user(self, login: str, *, bot: bool | None = None) -> User:
        """The user ``login``, created on first use (a login ending in ``[bot]`` is a bot)."""
        with self._lock:
            existing = self._users.get(login)
            if existing is None:
                is_bot = login.endswith("[bot]") if bot is None else bot
                existing = User(login, type="Bot" if is_bot else "User")
                self._users[login] = existing
            return existing

    def add_token(self, token: str, login: str) -> TokenInfo:
        """Accept ``token`` as user ``login`` (with fresh 5,000-point budgets)."""
        with self._lock:
            info = TokenInfo(token, self.user(login))
            self._tokens[token] = info
            return info

    def token_info(self, token: str | None) -> TokenInfo | None:
        """The token's record (``None`` for unknown tokens)."""
        with self._lock:
            return self._tokens.get(token or "")

    def set_rate_limit(
        self,
        *,
        token: str | None = None,
        resource: str = "core",
        limit: int | None = None,
        remaining: int | None = None,
        reset_in: float | None = None,
    ) -> Budget:
        """Change a token's budget (``core`` or ``graphql``): limit, points remaining, seconds to reset."""
        with self._lock:
            info = self._tokens[token or self.default_token]
            budget = info.budgets[resource]
            if limit is not None:
                budget.limit = limit
            if remaining is not None:
                budget.used = max(0, budget.limit - remaining)
            if reset_in is not None:
                budget.reset = int(time.time() + reset_in)
            return budget

    def budget(self, token: str | None = None, resource: str = "core") -> Budget:
        """A token's budget."""
        with self._lock:
            return self._tokens[token or self.default_token].budgets[resource]

    # ================================================================== faults and the request log

    def inject(self, fault: Fault) -> Fault:
        """Add a fault; it answers matching requests until its count runs out (``None``: until cleared)."""
        with self._lock:
            self._faults.append(fault)
            return fault

    def fail_next(self, count: int = 1, *, path: str = ".*", method: str | None = None, status: int = 502) -> Fault:
        """The next ``count`` requests whose path matches ``path`` (a regex) answer ``status`` (5xx)."""
        return self.inject(
            Fault(re.compile(path), status, count, method, body={"message": "Server Error", "documentation_url": ""})
        )

    def rate_limit_next(self, count: int = 1, *, path: str = ".*", reset_in: float = 60.0) -> Fault:
        """The next ``count`` matching requests answer 403 with ``X-RateLimit-Remaining: 0`` and a reset time."""
        reset = int(time.time() + reset_in)
        user = self._tokens[self.default_token].user
        return self.inject(
            Fault(
                re.compile(path),
                403,
                count,
                headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset), "X-RateLimit-Limit": "5000"},
                body={
                    "message": f"API rate limit exceeded for user ID {user.id}.",
                    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
                },
            )
        )

    def throttle_next(self, count: int = 1, *, path: str = ".*", retry_after: int = 30) -> Fault:
        """The next ``count`` matching requests answer 429 with ``Retry-After`` (a secondary rate limit)."""
        return self.inject(
            Fault(
                re.compile(path),
                429,
                count,
                headers={"Retry-After": str(retry_after)},
                body={
                    "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you "
                    "try again.",
                    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
                },
            )
        )

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        with self._lock:
            self._faults.clear()

    def take_fault(self, method: str, path: str) -> Fault | None:
        """The fault that answers this request, if any (consumes one of its count)."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count <= 0:
                            self._faults.remove(fault)
                    return fault
            return None

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request answered so far (a copy)."""
        with self._lock:
            return list(self._log)

    def _requests_copy(self) -> list[RequestRecord]:
        return self.requests

    def clear_requests(self) -> None:
        """Forget the request log."""
        with self._lock:
            self._log.clear()

    def record(self, entry: RequestRecord) -> None:
        """Append to the request log."""
        with self._lock:
            self._log.append(entry)

    # ================================================================== repositories and git

    def create_repo(
        self,
        full_name: str,
        *,
        private: bool = False,
        collaborators: Iterable[str] = (),
        default_branch: str = "main",
        files: Mapping[str, str] | None = None,
        required_approvals: int = 1,
        require_up_to_date: bool = True,
        required_checks: Sequence[str] = (),
        delete_branch_on_merge: bool = False,
    ) -> FakeRepo:
        """Create a repository backed by a bare git repository with one commit on ``default_branch``.

        Branch protection is modelled by ``required_approvals`` (0: no review needed, so the review
        decision is ``null``), ``require_up_to_date`` (behind → ``BEHIND``) and ``required_checks``.
        A private repository is visible to its owner and ``collaborators`` only; others get 404.
        """
        owner_login, _, name = full_name.partition("/")
        if not owner_login or not name or "/" in name:
            raise ValueError(f"repository names are 'owner/name', not {full_name!r}")
        path = self.root / "repos" / owner_login / f"{name}.git"
        git = GitRepo.init_bare(path, default_branch)
        git.commit_files(default_branch, files or {"README.md": f"# {name}\n"}, "Initial commit")
        repo = FakeRepo(
            owner=self.user(owner_login),
            name=name,
            git=git,
            default_branch=default_branch,
            private=private,
            collaborators=set(collaborators),
            required_approvals=required_approvals,
            require_up_to_date=require_up_to_date,
            required_checks=tuple(required_checks),
            delete_branch_on_merge=delete_branch_on_merge,
        )
        repo.known_refs = git.refs()
        with self._lock:
            self._repos[full_name.lower()] = repo
        return repo

    def repo(self, full_name: str) -> FakeRepo:
        """The repository ``owner/name`` (KeyError when there is none)."""
        with self._lock:
            return self._repos[full_name.lower()]

    def find_repo(self, owner: str, name: str) -> FakeRepo | None:
        """The repository, or ``None``."""
        with self._lock:
            return self._repos.get(f"{owner}/{name}".lower())

    def job_run(self, job_id: int) -> CheckRun | None:
        """The GitHub Actions check run whose job is ``job_id`` (GitHub uses one id for both), if it has a log."""
        with self._lock:
            for repo in self._repos.values():
                for runs in repo.check_runs.values():
                    for run in runs:
                        if run.id == job_id and run.app_slug == "github-actions" and run.log is not None:
                            return run
        return None

    def repo_path(self, full_name: str) -> Path:
        """The bare repository's path: use it as an agent's ``origin``."""
        return self.repo(full_name).git.path

    def commit(
        self,
        full_name: str,
        branch: str,
        files: Mapping[str, str | None],
        message: str = "change",
        *,
        parent: str | None = None,
    ) -> str:
        """Commit ``files`` on ``branch`` (new branches start from ``parent`` or the default branch) and sync."""
        repo = self.repo(full_name)
        if parent is None and repo.git.branch_sha(branch) is None:
            parent = repo.default_branch
        sha = repo.git.commit_files(branch, files, message, parent=parent)
        self.sync(full_name)
        return sha

    def create_branches(
        self, full_name: str, branches: Mapping[str, Mapping[str, str]], *, base: str | None = None
    ) -> dict[str, str]:
        """Create many branches at once (one commit each, off ``base``); returns branch → SHA."""
        repo = self.repo(full_name)
        shas = repo.git.bulk_branches(branches, base or repo.default_branch, "work")
        self.sync(full_name)
        return shas

    def sync(self, full_name: str | None = None) -> None:
        """Read branch heads from git (pushes made straight to the bare repository) and react like GitHub.

        Pull requests whose head moved get a new head SHA and ``updated_at`` (``synchronize``); every
        moved branch produces a ``push`` webhook. Requests call this on their own; tests may call it
        to see a push at once.
        """
        repos = [self.repo(full_name)] if full_name else list(self._repos.values())
        for repo in repos:
            self.sync_repo(repo)

    def sync_repo(self, repo: FakeRepo) -> None:
        """:meth:`sync` for one repository."""
        refs = repo.git.refs()
        with self._lock:
            old = repo.known_refs
            if refs == old:
                return
            repo.known_refs = refs
            pusher = repo.owner
            for branch in sorted(set(old) | set(refs)):
                before, after = old.get(branch), refs.get(branch)
                if before != after:
                    self._emit(
                        "push",
                        functools.partial(
                            push_payload, repo=repo, branch=branch, before=before, after=after, sender=pusher
                        ),
                    )
            for pr in repo.pulls():
                new = refs.get(pr.head_ref)
                if pr.state == "open" and new is not None and new != pr.head_sha:
                    pr.head_sha = new
                    pr.base_sha = refs.get(pr.base_ref, pr.base_sha)
                    repo.git.update_pull_ref(pr.number, new)
                    pr.issue.updated_at = repo.stamp()
                    self._emit(
                        "pull_request",
                        functools.partial(pull_request_payload, repo=repo, pr=pr, action="synchronize", sender=pusher),
                    )

    def warm(self) -> None:
        """Compute every open pull request's mergeability now (GitHub computes it in the background)."""
        for repo in list(self._repos.values()):
            self.sync_repo(repo)
            for pr in repo.pulls():
                base = repo.base_head_sha(pr)
                if pr.state == "open" and base is not None:
                    repo.git.merge_info(base, pr.head_sha)
                    repo.git.commits_between(pr.base_sha, pr.head_sha)

    # ================================================================== issues

    def create_issue(
        self,
        full_name: str,
        title: str,
        body: str = "",
        *,
        labels: Iterable[str] = (),
        assignees: Iterable[str] = (),
        author: str | None = None,
    ) -> int:
        """Open an issue as ``author`` (default: the reviewer account); returns its number."""
        repo = self.repo(full_name)
        with self._lock:
            now = repo.stamp()
            issue = FakeIssue(
                number=repo.take_number(),
                title=title,
                body=body,
                user=self.user(author or DEFAULT_REVIEWER),
                created_at=now,
                updated_at=now,
                labels=list(dict.fromkeys(labels)),
                assignees=[self.user(a).login for a in assignees],
            )
            repo.issues[issue.number] = issue
            return issue.number

    def issue(self, full_name: str, number: int) -> FakeIssue:
        """The issue (or pull request's issue) ``number``."""
        return self.repo(full_name).issues[number]

    def set_issue_state(self, full_name: str, number: int, state: str, reason: str | None = None) -> None:
        """Close (``closed`` with reason ``completed``/``not_planned``) or reopen an issue, as a human would."""
        repo = self.repo(full_name)
        with self._lock:
            issue = repo.issues[number]
            self.apply_issue_state(repo, issue, state, reason, self.user(DEFAULT_REVIEWER))

    def apply_issue_state(self, repo: FakeRepo, issue: FakeIssue, state: str, reason: str | None, actor: User) -> None:
        """Change an issue's state as GitHub does (closing sets ``closed_at``/``closed_by``/``state_reason``)."""
        if state == issue.state and (reason is None or reason == issue.state_reason):
            return
        issue.state = state
        if state == "closed":
            issue.state_reason = reason or "completed"
            issue.closed_at = repo.stamp()
            issue.closed_by = actor
            issue.updated_at = issue.closed_at
        else:
            issue.state_reason = "reopened"
            issue.closed_at = None
            issue.closed_by = None
            issue.updated_at = repo.stamp()

    # ================================================================== pull requests

    def create_pr(
        self,
        full_name: str,
        head: str,
        *,
        base: str | None = None,
        title: str | None = None,
        body: str = "",
        draft: bool = False,
        author: str | None = None,
    ) -> int:
        """Open a pull request from branch ``head`` (which must exist in git); returns its number."""
        repo = self.repo(full_name)
        self.sync_repo(repo)
        with self._lock:
            pr = self.open_pull(repo, head, base or repo.default_branch, title or head, body, draft, author)
        return pr.number

    def create_prs(self, full_name: str, heads: Sequence[str], *, base: str | None = None) -> list[int]:
        """Open one pull request per branch in ``heads`` at once (for large scenarios); returns the numbers.

        The branches must exist and differ from ``base``; unlike :meth:`create_pr` nothing else is checked.
        """
        repo = self.repo(full_name)
        self.sync_repo(repo)
        base = base or repo.default_branch
        numbers: list[int] = []
        updates: list[str] = []
        with self._lock:
            base_sha = repo.known_refs[base]
            for head in heads:
                now = repo.stamp()
                user = self.user(DEFAULT_LOGIN)
                issue = FakeIssue(
                    number=repo.take_number(), title=head, body="", user=user, created_at=now, updated_at=now
                )
                head_sha = repo.known_refs[head]
                issue.pull = FakePullRequest(
                    issue=issue, head_ref=head, head_sha=head_sha, base_ref=base, base_sha=base_sha
                )
                repo.issues[issue.number] = issue
                numbers.append(issue.number)
                updates.append(f"update refs/pull/{issue.number}/head {head_sha}\n")
        repo.git.run("update-ref", "--stdin", input="".join(updates).encode())
        return numbers

    def open_pull(
        self,
        repo: FakeRepo,
        head: str,
        base: str,
        title: str,
        body: str,
        draft: bool,
        author: str | None,
    ) -> FakePullRequest:
        """Validate and create a pull request like ``POST /repos/{o}/{r}/pulls`` (422 on duplicate head).

        Raises:
            ApiError: 422 when the head or base is invalid, a pull request exists for the head, or
                there are no commits between base and head.
        """
        head_sha = repo.known_refs.get(head)
        base_sha = repo.known_refs.get(base)
        if head_sha is None:
            raise ApiError(
                422,
                "Validation Failed",
                [{"resource": "PullRequest", "field": "head", "code": "invalid"}],
            )
        if base_sha is None:
            raise ApiError(
                422,
                "Validation Failed",
                [{"resource": "PullRequest", "field": "base", "code": "invalid"}],
            )
        for other in repo.pulls():
            if other.state == "open" and other.head_ref == head and other.base_ref == base:
                raise ApiError(
                    422,
                    "Validation Failed",
                    [
                        {
                            "resource": "PullRequest",
                            "code": "custom",
                            "message": f"A pull request already exists for {repo.owner.login}:{head}.",
                        }
                    ],
                )
        if not repo.git.commits_between(base_sha, head_sha):
            raise ApiError(
                422,
                "Validation Failed",
                [{"resource": "PullRequest", "code": "custom", "message": f"No commits between {base} and {head}"}],
            )
        now = repo.stamp()
        user = self.user(author or DEFAULT_LOGIN)
        issue = FakeIssue(number=repo.take_number(), title=title, body=body, user=user, created_at=now, updated_at=now)
        pr = FakePullRequest(issue=issue, head_ref=head, head_sha=head_sha, base_ref=base, base_sha=base_sha)
        pr.draft = draft
        issue.pull = pr
        repo.issues[issue.number] = issue
        repo.git.update_pull_ref(issue.number, head_sha)
        self._emit("pull_request", lambda base: pull_request_payload(base, repo, pr, "opened", user))
        return pr

    def pr(self, full_name: str, number: int) -> FakePullRequest:
        """The pull request ``number``."""
        pr = self.repo(full_name).pull(number)
        if pr is None:
            raise KeyError(f"{full_name}#{number} is not a pull request")
        return pr

    def head_sha(self, full_name: str, number: int) -> str:
        """The pull request's head SHA (after reading pushes from git)."""
        self.sync(full_name)
        return self.pr(full_name, number).head_sha

    def set_draft(self, full_name: str, number: int, draft: bool) -> None:
        """Mark a pull request draft or ready for review."""
        repo = self.repo(full_name)
        with self._lock:
            pr = self.pr(full_name, number)
            if pr.draft != draft:
                pr.draft = draft
                pr.issue.updated_at = repo.stamp()
                action = "converted_to_draft" if draft else "ready_for_review"
                self._emit("pull_request", lambda base: pull_request_payload(base, repo, pr, action, repo.owner))

    def mergeability_computing(self, full_name: str, number: int, times: int = 1) -> None:
        """The next ``times`` reads of the pull request's mergeability answer UNKNOWN (GitHub is computing)."""
        self.pr(full_name, number).unknown_mergeability = times

    def close_pr(self, full_name: str, number: int) -> None:
        """Close a pull request without merging, as a human would."""
        repo = self.repo(full_name)
        with self._lock:
            pr = self.pr(full_name, number)
            self.apply_pull_state(repo, pr, "closed", self.user(DEFAULT_REVIEWER))

    def apply_pull_state(self, repo: FakeRepo, pr: FakePullRequest, state: str, actor: User) -> None:
        """Close or reopen a pull request (``closed``/``reopened`` webhooks)."""
        if pr.state == state or pr.merged:
            return
        self.apply_issue_state(repo, pr.issue, state, None, actor)
        if state == "closed":
            pr.issue.state_reason = None
        action = "closed" if state == "closed" else "reopened"
        self._emit("pull_request", lambda base: pull_request_payload(base, repo, pr, action, actor))

    def merge(self, full_name: str, number: int, method: str = "merge", *, force: bool = False) -> str:
        """Merge a pull request as a human (``force`` ignores branch protection); returns the merge SHA."""
        repo = self.repo(full_name)
        self.sync_repo(repo)
        with self._lock:
            return self.merge_pull(repo, self.pr(full_name, number), method, None, self.user(DEFAULT_REVIEWER), force)

    def merge_pull(
        self,
        repo: FakeRepo,
        pr: FakePullRequest,
        method: str,
        expected_sha: str | None,
        actor: User,
        force: bool = False,
    ) -> str:
        """Merge with GitHub's checks: open, not draft, no conflicts, protection satisfied, head unchanged.

        Raises:
            ApiError: 405 when GitHub would refuse the merge, 409 when ``expected_sha`` is not the head.
        """
        if method not in ("merge", "squash", "rebase"):
            raise ApiError(422, "Validation Failed", [{"resource": "PullRequest", "field": "merge_method"}])
        if pr.merged or pr.state != "open":
            raise ApiError(405, "Pull Request is not mergeable")
        if expected_sha is not None and expected_sha != pr.head_sha:
            raise ApiError(409, "Head branch was modified. Review and try the merge again.")
        if pr.draft:
            raise ApiError(405, "Pull Request is still a draft")
        base_sha = repo.base_head_sha(pr)
        if base_sha is None or repo.git.merge_info(base_sha, pr.head_sha).conflicts:
            raise ApiError(405, "Pull Request is not mergeable")
        if not force:
            state = repo.merge_state_status(pr)
            if state == "BEHIND":
                raise ApiError(405, "Head branch is out of date. Update the branch and try again.")
            if state == "BLOCKED":
                decision = repo.review_decision(pr)
                if decision == "CHANGES_REQUESTED":
                    raise ApiError(405, "Changes must be made before merging.")
                if decision == "REVIEW_REQUIRED":
                    raise ApiError(
                        405,
                        f"At least {repo.required_approvals} approving review is required by reviewers with "
                        "write access.",
                    )
                raise ApiError(405, "Required status checks have not succeeded.")
        title = f"{pr.issue.title} (#{pr.number})"
        message = title if method == "squash" else f"Merge pull request #{pr.number} from {pr.head_ref}"
        new_sha = repo.git.merge(pr.base_ref, pr.head_sha, method, message)
        repo.known_refs[pr.base_ref] = new_sha
        now = repo.stamp()
        pr.merged = True
        pr.merged_at = now
        pr.merged_by = actor
        pr.merge_commit_sha = new_sha
        pr.base_sha = base_sha
        pr.issue.state = "closed"
        pr.issue.closed_at = now
        pr.issue.closed_by = actor
        pr.issue.updated_at = now
        if repo.delete_branch_on_merge:
            repo.git.delete_branch(pr.head_ref)
            repo.known_refs.pop(pr.head_ref, None)
        self._emit("pull_request", lambda base: pull_request_payload(base, repo, pr, "closed", actor))
        self._emit("push", lambda base: push_payload(base, repo, pr.base_ref, base_sha, new_sha, actor))
        return new_sha

    # ================================================================== reviews and comments (as humans)

    def approve(self, full_name: str, number: int, *, reviewer: str = DEFAULT_REVIEWER, body: str = "") -> Review:
        """Submit an APPROVED review."""
        return self.submit_review(full_name, number, "APPROVED", body=body, reviewer=reviewer)

    def request_changes(
        self,
        full_name: str,
        number: int,
        comments: Sequence[tuple[str, int, str]] = (),
        *,
        reviewer: str = DEFAULT_REVIEWER,
        body: str = "Please address the comments.",
    ) -> Review:
        """Submit a CHANGES_REQUESTED review with inline comments ``(path, line, body)``, one thread each."""
        return self.submit_review(
            full_name, number, "CHANGES_REQUESTED", body=body, reviewer=reviewer, comments=comments
        )

    def submit_review(
        self,
        full_name: str,
        number: int,
        state: str,
        *,
        body: str = "",
        reviewer: str = DEFAULT_REVIEWER,
        comments: Sequence[tuple[str, int, str]] = (),
    ) -> Review:
        """Submit a review (APPROVED, CHANGES_REQUESTED or COMMENTED) with optional inline comments."""
        repo = self.repo(full_name)
        self.sync_repo(repo)
        with self._lock:
            return self.add_review(repo, self.pr(full_name, number), self.user(reviewer), state, body, comments)

    def add_review(
        self,
        repo: FakeRepo,
        pr: FakePullRequest,
        user: User,
        state: str,
        body: str,
        comments: Sequence[tuple[str, int | None, str]],
    ) -> Review:
        """Record a review and its inline comments; moves the pull request's ``updated_at``."""
        now = repo.stamp()
        review = Review(user=user, state=state, body=body, submitted_at=now, commit_id=pr.head_sha)
        pr.reviews.append(review)
        new_comments = []
        for path, line, text in comments:
            comment = ReviewComment(
                user=user, body=text, path=path, line=line, commit_id=pr.head_sha, created_at=now, review_id=review.id
            )
            pr.threads.append(ReviewThread([comment]))
            new_comments.append(comment)
        pr.issue.updated_at = now
        self._emit("pull_request_review", lambda base: review_payload(base, repo, pr, review, "submitted"))
        for comment in new_comments:
            self._emit(
                "pull_request_review_comment",
                functools.partial(review_comment_payload, repo=repo, pr=pr, comment=comment, action="created"),
            )
        return review

    def comment(
        self,
        full_name: str,
        number: int,
        body: str,
        *,
        user: str = DEFAULT_REVIEWER,
        path: str | None = None,
        line: int | None = None,
    ) -> int:
        """Comment on an issue or pull request; with ``path`` (and ``line``) an inline review comment.

        Returns the comment id. An inline comment opens a new thread inside a COMMENTED review.
        """
        repo = self.repo(full_name)
        if path is not None:
            self.submit_review(full_name, number, "COMMENTED", reviewer=user, comments=[(path, line or 1, body)])
            return self.pr(full_name, number).threads[-1].comments[0].id
        with self._lock:
            issue = repo.issues[number]
            return self.add_issue_comment(repo, issue, self.user(user), body).id

    def add_issue_comment(self, repo: FakeRepo, issue: FakeIssue, user: User, body: str) -> IssueComment:
        """Record a conversation comment; moves ``updated_at``."""
        now = repo.stamp()
        comment = IssueComment(user=user, body=body, created_at=now)
        issue.comments.append(comment)
        issue.updated_at = now
        self._emit("issue_comment", lambda base: issue_comment_payload(base, repo, issue, comment, "created"))
        return comment

    def add_bot_comment(
        self,
        full_name: str,
        number: int,
        path: str,
        line: int,
        body: str,
        *,
        bot: str = "cursor[bot]",
    ) -> ReviewThread:
        """An automated reviewer (a ``[bot]`` account of type Bot) opens an inline thread."""
        self.submit_review(full_name, number, "COMMENTED", reviewer=bot, comments=[(path, line, body)])
        return self.pr(full_name, number).threads[-1]

    def reply(self, full_name: str, number: int, thread: int | str, body: str, *, user: str = DEFAULT_REVIEWER) -> None:
        """Reply in a review thread (by index or GraphQL id)."""
        repo = self.repo(full_name)
        with self._lock:
            pr = self.pr(full_name, number)
            target = self._find_thread(pr, thread)
            first = target.comments[0]
            comment = ReviewComment(
                user=self.user(user),
                body=body,
                path=first.path,
                line=first.line,
                commit_id=pr.head_sha,
                created_at=repo.stamp(),
                in_reply_to_id=first.id,
            )
            target.comments.append(comment)
            pr.issue.updated_at = comment.created_at

    def resolve_thread(
        self, full_name: str, number: int, thread: int | str = -1, *, user: str = DEFAULT_REVIEWER
    ) -> None:
        """Mark a review thread (index or GraphQL id; default the latest) resolved."""
        with self._lock:
            target = self._find_thread(self.pr(full_name, number), thread)
            target.is_resolved = True
            target.resolved_by = self.user(user)

    def threads(self, full_name: str, number: int) -> list[ReviewThread]:
        """The pull request's review threads."""
        return list(self.pr(full_name, number).threads)

    @staticmethod
    def _find_thread(pr: FakePullRequest, thread: int | str) -> ReviewThread:
        if isinstance(thread, int):
            return pr.threads[thread]
        for candidate in pr.threads:
            if candidate.node_id == thread:
                return candidate
        raise KeyError(f"no review thread {thread!r} on #{pr.number}")

    # ================================================================== CI

    def _sha_of(self, repo: FakeRepo, target: int | str) -> str:
        if isinstance(target, int):
            self.sync_repo(repo)
            pull = repo.pull(target)
            if pull is None:
                raise KeyError(f"{repo.full_name}#{target} is not a pull request")
            return pull.head_sha
        sha = repo.git.resolve(target)
        if sha is None:
            raise KeyError(f"{target!r} is neither a branch nor a commit of {repo.full_name}")
        return sha

    def set_check(
        self,
        full_name: str,
        target: int | str,
        name: str,
        status: str = "completed",
        conclusion: str | None = "success",
        details_url: str | None = None,
        *,
        title: str | None = None,
        summary: str | None = None,
        log: str | None = None,
    ) -> CheckRun:
        """Create or update the check run ``name`` on a commit (a SHA, a branch, or a pull request number).

        ``status`` is ``queued``, ``in_progress`` or ``completed``; ``conclusion`` applies to completed runs;
        ``log`` is what the Actions job printed.
        """
        repo = self.repo(full_name)
        sha = self._sha_of(repo, target)
        with self._lock:
            return self.put_check_run(repo, sha, name, status, conclusion, details_url, title, summary, log)

    def put_check_run(
        self,
        repo: FakeRepo,
        sha: str,
        name: str,
        status: str,
        conclusion: str | None,
        details_url: str | None,
        title: str | None = None,
        summary: str | None = None,
        log: str | None = None,
    ) -> CheckRun:
        """Create or update a check run (keyed by name and commit) and send ``check_run``/``check_suite``."""
        now = datetime.now(UTC).replace(microsecond=0)
        runs = repo.check_runs.setdefault(sha, [])
        run = next((r for r in runs if r.name == name), None)
        created = run is None
        if run is None:
            run = CheckRun(sha, name, status, None, details_url, None, None)
            runs.append(run)
        run.status = status
        run.details_url = details_url if details_url is not None else run.details_url
        run.title, run.summary = title or run.title, summary or run.summary
        run.log = log if log is not None else run.log
        if status != "queued" and run.started_at is None:
            run.started_at = now
        if status == "completed":
            run.conclusion = conclusion or "success"
            run.completed_at = now
        else:
            run.conclusion = None
            run.completed_at = None
        prs = [p for p in repo.pulls() if p.head_sha == sha and p.state == "open"]
        action = "completed" if status == "completed" else "created" if created else "rerequested"
        self._emit("check_run", lambda base: check_run_payload(base, repo, run, prs, action, repo.owner))
        latest = repo.rollup(sha).checks
        if status == "completed" and all(r.status == "completed" for r in latest):
            failed = any(r.conclusion in FAILING_CONCLUSIONS for r in latest)
            conclusion_all = "failure" if failed else "success"
            self._emit(
                "check_suite", lambda base: check_suite_payload(base, repo, sha, prs, conclusion_all, repo.owner)
            )
        return run

    def pass_ci(self, full_name: str, target: int | str, name: str = "ci", details_url: str | None = None) -> CheckRun:
        """The check run ``name`` completed successfully."""
        return self.set_check(full_name, target, name, "completed", "success", details_url)

    def fail_ci(
        self,
        full_name: str,
        target: int | str,
        name: str = "ci",
        details_url: str | None = None,
        *,
        summary: str | None = None,
        log: str | None = None,
    ) -> CheckRun:
        """The check run ``name`` completed with a failure (``log``: what its Actions job printed)."""
        return self.set_check(full_name, target, name, "completed", "failure", details_url, summary=summary, log=log)

    def pending_ci(self, full_name: str, target: int | str, name: str = "ci") -> CheckRun:
        """The check run ``name`` is in progress."""
        return self.set_check(full_name, target, name, "in_progress", None)

    def set_status(
        self,
        full_name: str,
        target: int | str,
        context: str,
        state: str,
        target_url: str | None = None,
        description: str | None = None,
    ) -> CommitStatus:
        """Post a commit status (``pending``, ``success``, ``failure``, ``error``) for ``context``."""
        repo = self.repo(full_name)
        sha = self._sha_of(repo, target)
        with self._lock:
            return self.add_status(repo, sha, context, state, target_url, description, repo.owner)

    def add_status(
        self,
        repo: FakeRepo,
        sha: str,
        context: str,
        state: str,
        target_url: str | None,
        description: str | None,
        creator: User,
    ) -> CommitStatus:
        """Record a commit status and send the ``status`` webhook."""
        status = CommitStatus(
            sha=sha,
            context=context,
            state=state,
            target_url=target_url,
            description=description,
            created_at=datetime.now(UTC).replace(microsecond=0),
            creator=creator,
        )
        repo.statuses.setdefault(sha, []).append(status)
        branches = [b for b, s in repo.known_refs.items() if s == sha]
        self._emit("status", lambda base: status_payload(base, repo, status, branches))
        return status

    # ================================================================== webhooks

    def add_webhook(self, url: str, secret: str | None, events: Iterable[str] = ("*",)) -> Hook:
        """Deliver events (``*``: all) to ``url`` (loopback), signed with ``secret``, as things happen."""
        hook = Hook(url, secret, frozenset(events))
        with self._lock:
            self._hooks.append(hook)
        return hook

    @property
    def deliveries(self) -> list[WebhookDelivery]:
        """Every delivery sent to a hook (with the receiver's status once answered)."""
        with self._lock:
            return list(self._deliveries)

    def wait_for_deliveries(self, timeout: float = 10.0) -> None:
        """Wait until every webhook delivery sent so far was answered."""
        deadline = time.monotonic() + timeout
        for thread in list(self._delivery_threads):
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def _emit(self, event: str, build: Callable[[str], dict[str, Any]]) -> None:
        hooks = [h for h in self._hooks if "*" in h.events or event in h.events]
        if not hooks or self._server is None:
            return
        payload = build(self.url)
        for hook in hooks:
            delivery = WebhookDelivery(event, payload, hook.secret)
            self._deliveries.append(delivery)
            thread = threading.Thread(target=self._send, args=(hook.url, delivery), daemon=True)
            self._delivery_threads.append(thread)
            thread.start()

    @staticmethod
    def _send(url: str, delivery: WebhookDelivery) -> None:
        try:
            deliver(url, delivery)
        except OSError:
            delivery.status = 0

    def webhook(
        self,
        event: str,
        full_name: str,
        *,
        number: int | None = None,
        action: str | None = None,
        secret: str | None = None,
        sha: str | None = None,
        branch: str | None = None,
    ) -> WebhookDelivery:
        """Build a signed delivery of ``event`` from the current state, without sending it.

        Events: ``pull_request`` (needs ``number``), ``pull_request_review`` (the latest review),
        ``pull_request_review_comment`` (the latest inline comment), ``issue_comment`` (the latest
        comment), ``check_run`` (the latest run of the head), ``check_suite``, ``status`` (the latest
        status of the head), ``push`` (``branch``).
        """
        repo = self.repo(full_name)
        self.sync_repo(repo)
        base = self.url
        with self._lock:
            pr = repo.pull(number) if number is not None else None
            head = sha or (pr.head_sha if pr else None)
            prs = [p for p in repo.pulls() if p.head_sha == head and p.state == "open"]
            payload: dict[str, Any]
            if event == "pull_request" and pr is not None:
                payload = pull_request_payload(base, repo, pr, action or "opened", pr.issue.user)
            elif event == "pull_request_review" and pr is not None and pr.reviews:
                payload = review_payload(base, repo, pr, pr.reviews[-1], action or "submitted")
            elif event == "pull_request_review_comment" and pr is not None and pr.review_comments():
                payload = review_comment_payload(base, repo, pr, pr.review_comments()[-1], action or "created")
            elif event == "issue_comment" and number is not None and repo.issues[number].comments:
                issue = repo.issues[number]
                payload = issue_comment_payload(base, repo, issue, issue.comments[-1], action or "created")
            elif event == "check_run" and head is not None and repo.check_runs.get(head):
                run = repo.check_runs[head][-1]
                payload = check_run_payload(base, repo, run, prs, action or "completed", repo.owner)
            elif event == "check_suite" and head is not None:
                state = repo.rollup(head).state
                conclusion = {"SUCCESS": "success", "FAILURE": "failure"}.get(state or "")
                payload = check_suite_payload(base, repo, head, prs, conclusion, repo.owner)
            elif event == "status" and head is not None and repo.statuses.get(head):
                status = repo.statuses[head][-1]
                branches = [b for b, s in repo.known_refs.items() if s == head]
                payload = status_payload(base, repo, status, branches)
            elif event == "push":
                target = branch or (pr.head_ref if pr else repo.default_branch)
                after = repo.known_refs.get(target)
                parents = repo.git.commit_info(after)["parents"].split() if after else []
                payload = push_payload(base, repo, target, parents[0] if parents else None, after, repo.owner)
            else:
                raise ValueError(f"cannot build a {event!r} delivery from the current state of {full_name}")
        return WebhookDelivery(event, payload, secret)
