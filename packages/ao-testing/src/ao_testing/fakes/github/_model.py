"""The fake's state and the rules GitHub applies to it.

Users, tokens, repositories, issues, pull requests, reviews, checks; review decision, check rollup,
merge state.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ao_testing.fakes.github._git import GitRepo

__all__ = [
    "Budget",
    "CheckRun",
    "CommitStatus",
    "FakeIssue",
    "FakePullRequest",
    "FakeRepo",
    "IssueComment",
    "Review",
    "ReviewComment",
    "ReviewThread",
    "Rollup",
    "TokenInfo",
    "User",
    "iso",
]

FAILING_CONCLUSIONS = frozenset({"failure", "cancelled", "timed_out", "action_required", "startup_failure"})
FAILING_STATES = frozenset({"failure", "error"})


def iso(moment: datetime | None) -> str | None:
    """GitHub's timestamp format (``2024-05-01T12:00:00Z``), or ``None``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


class _Ids:
    """Process-wide increasing ids, like GitHub's database ids."""

    def __init__(self) -> None:
        self._next = 1000
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            self._next += 1
            return self._next


IDS = _Ids()


@dataclass(eq=False)
class User:
    """A GitHub account; ``type`` is ``User`` or ``Bot`` (bots' REST logins end in ``[bot]``)."""

    login: str
    id: int = field(default_factory=IDS.next)
    type: str = "User"

    @property
    def node_id(self) -> str:
        """The GraphQL id."""
        return f"{'BOT' if self.type == 'Bot' else 'U'}_kgDO{self.id:08d}"

    @property
    def graphql_login(self) -> str:
        """The login GraphQL reports: a bot's without the ``[bot]`` suffix."""
        return self.login.removesuffix("[bot]") if self.type == "Bot" else self.login


@dataclass
class Budget:
    """One rate-limit budget (``core`` or ``graphql``) of a token."""

    limit: int = 5000
    used: int = 0
    reset: int = field(default_factory=lambda: int(time.time()) + 3600)

    def roll(self) -> None:
        """Start a new window when the reset time has passed."""
        now = int(time.time())
        if now >= self.reset:
            self.used = 0
            self.reset = now + 3600

    @property
    def remaining(self) -> int:
        """Points left in this window."""
        return max(0, self.limit - self.used)


@dataclass(eq=False)
class TokenInfo:
    """A token the fake accepts: its user and its rate-limit budgets."""

    token: str
    user: User
    budgets: dict[str, Budget] = field(default_factory=lambda: {"core": Budget(), "graphql": Budget()})


@dataclass(eq=False)
class IssueComment:
    """A comment on an issue or pull request conversation."""

    user: User
    body: str
    created_at: datetime
    id: int = field(default_factory=IDS.next)

    @property
    def updated_at(self) -> datetime:
        """Comments are never edited in the fake."""
        return self.created_at


@dataclass(eq=False)
class FakeIssue:
    """An issue, or the issue half of a pull request."""

    number: int
    title: str
    body: str
    user: User
    created_at: datetime
    updated_at: datetime
    state: str = "open"
    state_reason: str | None = None
    labels: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    comments: list[IssueComment] = field(default_factory=list)
    closed_at: datetime | None = None
    closed_by: User | None = None
    pull: FakePullRequest | None = None
    id: int = field(default_factory=IDS.next)


@dataclass(eq=False)
class Review:
    """A submitted review."""

    user: User
    state: str
    body: str
    submitted_at: datetime
    commit_id: str
    id: int = field(default_factory=IDS.next)


@dataclass(eq=False)
class ReviewComment:
    """An inline review comment (on a path and line)."""

    user: User
    body: str
    path: str
    line: int | None
    commit_id: str
    created_at: datetime
    review_id: int | None = None
    in_reply_to_id: int | None = None
    id: int = field(default_factory=IDS.next)


@dataclass(eq=False)
class ReviewThread:
    """A review thread: the first comment and its replies; resolved or not."""

    comments: list[ReviewComment]
    is_resolved: bool = False
    resolved_by: User | None = None
    id: int = field(default_factory=IDS.next)

    @property
    def node_id(self) -> str:
        """The GraphQL id (``resolveReviewThread`` takes it)."""
        return f"PRRT_kwDO{self.id:08d}"


@dataclass(eq=False)
class FakePullRequest:
    """The pull-request half of an issue."""

    issue: FakeIssue
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    draft: bool = False
    merged: bool = False
    merged_at: datetime | None = None
    merged_by: User | None = None
    merge_commit_sha: str | None = None
    reviews: list[Review] = field(default_factory=list)
    threads: list[ReviewThread] = field(default_factory=list)
    unknown_mergeability: int = 0
    """How many more reads report the mergeability as not yet computed (GitHub computes it lazily)."""
    id: int = field(default_factory=IDS.next)

    @property
    def number(self) -> int:
        """The number shared with the issue."""
        return self.issue.number

    @property
    def state(self) -> str:
        """``open`` or ``closed`` (merged pull requests are closed)."""
        return self.issue.state

    def review_comments(self) -> list[ReviewComment]:
        """Every inline comment of every thread, oldest first."""
        return sorted((c for t in self.threads for c in t.comments), key=lambda c: c.id)


@dataclass(eq=False)
class CheckRun:
    """A check run on a commit."""

    head_sha: str
    name: str
    status: str
    conclusion: str | None
    details_url: str | None
    started_at: datetime | None
    completed_at: datetime | None
    title: str | None = None
    summary: str | None = None
    app_slug: str = "github-actions"
    id: int = field(default_factory=IDS.next)
    log: str | None = None
    """The job's log (GitHub Actions runs: ``GET /repos/O/R/actions/jobs/<id>/logs``)."""


@dataclass(eq=False)
class CommitStatus:
    """A commit status (the older CI API)."""

    sha: str
    context: str
    state: str
    target_url: str | None
    description: str | None
    created_at: datetime
    creator: User
    id: int = field(default_factory=IDS.next)


@dataclass(frozen=True)
class Rollup:
    """The combined CI state of a commit, as GitHub's ``statusCheckRollup`` computes it."""

    state: str | None
    """``SUCCESS``, ``FAILURE``, ``PENDING`` or ``None`` when the commit has no checks."""
    checks: tuple[CheckRun, ...]
    statuses: tuple[CommitStatus, ...]

    def passing(self, name: str) -> bool:
        """Whether the check or status context ``name`` passed."""
        for run in self.checks:
            if run.name == name:
                return run.status == "completed" and run.conclusion in ("success", "neutral", "skipped")
        for status in self.statuses:
            if status.context == name:
                return status.state == "success"
        return False


@dataclass(eq=False)
class FakeRepo:
    """A repository: a real bare git repository plus issues, pull requests and CI results."""

    owner: User
    name: str
    git: GitRepo
    default_branch: str
    private: bool = False
    collaborators: set[str] = field(default_factory=set)
    required_approvals: int = 1
    require_up_to_date: bool = True
    required_checks: tuple[str, ...] = ()
    delete_branch_on_merge: bool = False
    issues: dict[int, FakeIssue] = field(default_factory=dict)
    check_runs: dict[str, list[CheckRun]] = field(default_factory=dict)
    statuses: dict[str, list[CommitStatus]] = field(default_factory=dict)
    known_refs: dict[str, str] = field(default_factory=dict)
    label_colors: dict[str, str] = field(default_factory=dict)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    id: int = field(default_factory=IDS.next)
    _last_stamp: float = 0.0
    _next_number: int = 1

    @property
    def full_name(self) -> str:
        """``owner/name``."""
        return f"{self.owner.login}/{self.name}"

    def visible_to(self, user: User | None) -> bool:
        """Whether a token of ``user`` (``None``: anonymous) can see this repository."""
        if not self.private:
            return True
        return user is not None and (user.login == self.owner.login or user.login in self.collaborators)

    def stamp(self) -> datetime:
        """A timestamp for a change: now, but strictly later than the previous change in this repository.

        GitHub's timestamps have one-second resolution; a test makes many changes per second, and ETags
        over ``updated_at`` must still change with each, so the fake's clock never repeats a second.
        """
        now = float(int(time.time()))
        self._last_stamp = max(now, self._last_stamp + 1)
        return datetime.fromtimestamp(self._last_stamp, UTC)

    def take_number(self) -> int:
        """The next issue/pull request number."""
        number = self._next_number
        self._next_number += 1
        return number

    def pulls(self) -> list[FakePullRequest]:
        """Every pull request, by number."""
        return [i.pull for i in sorted(self.issues.values(), key=lambda i: i.number) if i.pull is not None]

    def pull(self, number: int) -> FakePullRequest | None:
        """The pull request ``number``, or ``None``."""
        issue = self.issues.get(number)
        return issue.pull if issue is not None else None

    # ------------------------------------------------------------------ GitHub's rules

    def rollup(self, sha: str) -> Rollup:
        """Latest check run per name and latest status per context of a commit, and their combined state."""
        latest_runs: dict[str, CheckRun] = {}
        for run in self.check_runs.get(sha, []):
            latest_runs[run.name] = run
        latest_statuses: dict[str, CommitStatus] = {}
        for status in self.statuses.get(sha, []):
            latest_statuses[status.context] = status
        runs = tuple(sorted(latest_runs.values(), key=lambda r: r.id))
        statuses = tuple(sorted(latest_statuses.values(), key=lambda s: s.id))
        if not runs and not statuses:
            return Rollup(None, runs, statuses)
        failing = any(r.status == "completed" and r.conclusion in FAILING_CONCLUSIONS for r in runs) or any(
            s.state in FAILING_STATES for s in statuses
        )
        pending = any(r.status != "completed" for r in runs) or any(s.state == "pending" for s in statuses)
        state = "FAILURE" if failing else "PENDING" if pending else "SUCCESS"
        return Rollup(state, runs, statuses)

    def review_decision(self, pr: FakePullRequest) -> str | None:
        """``APPROVED``, ``CHANGES_REQUESTED``, ``REVIEW_REQUIRED``; ``None`` when reviews are not required."""
        if self.required_approvals <= 0:
            return None
        latest: dict[str, str] = {}
        for review in pr.reviews:
            if review.state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
                latest[review.user.login] = review.state
        if "CHANGES_REQUESTED" in latest.values():
            return "CHANGES_REQUESTED"
        if sum(1 for s in latest.values() if s == "APPROVED") >= self.required_approvals:
            return "APPROVED"
        return "REVIEW_REQUIRED"

    def base_head_sha(self, pr: FakePullRequest) -> str | None:
        """The current SHA of the pull request's base branch."""
        return self.known_refs.get(pr.base_ref) or self.git.branch_sha(pr.base_ref)

    def mergeable(self, pr: FakePullRequest) -> str:
        """``MERGEABLE``, ``CONFLICTING`` or ``UNKNOWN`` (closed, or not computed yet)."""
        if pr.state != "open":
            return "UNKNOWN"
        if pr.unknown_mergeability > 0:
            pr.unknown_mergeability -= 1
            return "UNKNOWN"
        base = self.base_head_sha(pr)
        if base is None:
            return "UNKNOWN"
        return "CONFLICTING" if self.git.merge_info(base, pr.head_sha).conflicts else "MERGEABLE"

    def merge_state_status(self, pr: FakePullRequest, mergeable: str | None = None) -> str:
        """GitHub's ``mergeStateStatus``: DIRTY, DRAFT, BEHIND, BLOCKED, UNSTABLE, CLEAN or UNKNOWN."""
        mergeable = mergeable or self.mergeable(pr)
        if mergeable == "UNKNOWN":
            return "UNKNOWN"
        if mergeable == "CONFLICTING":
            return "DIRTY"
        if pr.draft:
            return "DRAFT"
        base = self.base_head_sha(pr)
        if base is not None and self.require_up_to_date and self.git.merge_info(base, pr.head_sha).behind:
            return "BEHIND"
        rollup = self.rollup(pr.head_sha)
        if self.review_decision(pr) not in (None, "APPROVED"):
            return "BLOCKED"
        if any(not rollup.passing(name) for name in self.required_checks):
            return "BLOCKED"
        if rollup.state in ("FAILURE", "PENDING"):
            return "UNSTABLE"
        return "CLEAN"
