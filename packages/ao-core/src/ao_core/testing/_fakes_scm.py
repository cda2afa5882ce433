"""A source-control host whose pull requests, checks and reviews live in memory and are set by tests."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio.lowlevel

from ao_core.config._schema import ProjectConfig
from ao_core.errors import SCMError
from ao_core.models import (
    AutomatedComment,
    CheckStatus,
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
    ReviewState,
    ReviewSummary,
    ReviewThreads,
    Session,
    WebhookEvent,
    WebhookEventKind,
    WebhookRequest,
    WebhookVerification,
    utc_now,
)
from ao_core.testing._calls import CallRecorder

__all__ = ["FakePR", "FakeSCM"]

_CI_CHECK_NAME = "fake-ci"
_MAX_WEBHOOK_BYTES = 25 * 1024 * 1024


@dataclass
class FakePR:
    """The host-side state of one pull request of a :class:`FakeSCM`."""

    info: PRInfo
    state: PRState = PRState.OPEN
    checks: list[CICheck] = field(default_factory=list)
    logs: dict[str, str] = field(default_factory=dict)
    """Log tails by check name (``get_ci_log_tails``)."""
    reviews: list[Review] = field(default_factory=list)
    review_decision: ReviewDecision | None = None
    """An explicit decision; ``None`` derives it from ``reviews`` and ``review_required``."""
    review_required: bool = False
    pending_comments: list[ReviewComment] = field(default_factory=list)
    automated_comments: list[AutomatedComment] = field(default_factory=list)
    resolved: set[str] = field(default_factory=set)
    """Ids of resolved comments (human or bot)."""
    has_conflicts: bool = False
    is_behind: bool = False
    additions: int = 0
    deletions: int = 0
    head_sha: str = ""
    readable: bool = True
    """When false, every call about this pull request fails (snapshots leave it out)."""
    merged_with: MergeMethod | None = None
    assignees: list[str] = field(default_factory=list)


def _ci_summary(checks: Iterable[CICheck]) -> CIStatus:
    statuses = {check.status for check in checks}
    if CheckStatus.FAILED in statuses:
        return CIStatus.FAILING
    if statuses & {CheckStatus.PENDING, CheckStatus.RUNNING}:
        return CIStatus.PENDING
    if CheckStatus.PASSED in statuses:
        return CIStatus.PASSING
    return CIStatus.NONE


class FakeSCM(CallRecorder):
    """A host of pull requests, driven by tests: open PRs, set CI, reviews, comments and conflicts.

    Pull requests are found by head branch (``detect_pr`` returns the newest open one, and only for the
    project's ``repo`` when it is set). The review decision is derived from the latest review of each
    author unless set explicitly. ``merge_pr`` behaves like a repository whose branch protection
    requires green CI and approval: it refuses (``SCMError``, naming the blockers) unless
    ``get_mergeability`` says mergeable, and otherwise really flips the state to merged.

    Webhooks are verified like GitHub's: ``x-hub-signature-256`` is ``sha256=`` + the HMAC-SHA256 of
    the body with ``webhook_secret``; ``x-github-event`` and ``x-github-delivery`` name the event.
    :meth:`make_webhook_request` builds signed deliveries.

    Every method is counted in ``calls`` so tests can assert request budgets.

    Implements :class:`~ao_core.interfaces.SupportsPRSnapshots`, ``SupportsPRSummary``,
    ``SupportsReviewThreads``, ``SupportsClaimPR`` and ``SupportsWebhooks``, and the contract suites'
    ``SCMBackdoor`` (``set_ci``, ``approve``, ``request_changes``).
    """

    def __init__(
        self,
        name: str = "fake",
        *,
        owner: str = "acme",
        repo: str = "app",
        webhook_secret: str | None = None,
        base_url: str = "https://scm.example.test",
        user: str = "fake-user",
        max_webhook_bytes: int = _MAX_WEBHOOK_BYTES,
    ) -> None:
        super().__init__()
        self._name = name
        self.owner = owner
        self.repo = repo
        self.webhook_secret = webhook_secret
        self.base_url = base_url.rstrip("/")
        self.user = user
        self.max_webhook_bytes = max_webhook_bytes
        self.prs: dict[str, FakePR] = {}
        """Every pull request, by ``PRInfo.key``."""
        self.checkouts: list[tuple[str, str]] = []
        """``(PR key, workspace path)`` of every ``checkout_pr``."""
        self._numbers = itertools.count(1)
        self._comment_ids = itertools.count(1)

    @property
    def name(self) -> str:
        """The plugin name (``fake`` unless given)."""
        return self._name

    # ------------------------------------------------------------------ SCM

    async def detect_pr(self, session: Session, project: ProjectConfig) -> PRInfo | None:
        """The newest open pull request whose head is the session's branch (in the project's repo)."""
        await self._enter("detect_pr")
        if not session.branch:
            return None
        candidates = [
            pr
            for pr in self.prs.values()
            if pr.state is PRState.OPEN
            and pr.info.branch == session.branch
            and (project.repo is None or f"{pr.info.owner}/{pr.info.repo}" == project.repo)
        ]
        if not candidates:
            return None
        return max(candidates, key=lambda pr: pr.info.number).info.model_copy()

    async def get_pr_state(self, pr: PRInfo) -> PRState:
        """Open, merged or closed."""
        await self._enter("get_pr_state")
        return self._readable(pr).state

    async def merge_pr(self, pr: PRInfo, method: MergeMethod = MergeMethod.SQUASH) -> None:
        """Merge when nothing blocks it.

        Raises:
            SCMError: when the pull request is not open or has blockers (named in the message).
        """
        await self._enter("merge_pr")
        fake = self._readable(pr)
        if fake.state is not PRState.OPEN:
            raise SCMError(f"cannot merge {fake.info.key}: it is {fake.state.value}")
        readiness = self._mergeability(fake)
        if not readiness.mergeable:
            raise SCMError(f"cannot merge {fake.info.key}: {'; '.join(readiness.blockers)}")
        fake.state = PRState.MERGED
        fake.merged_with = MergeMethod(method)

    async def close_pr(self, pr: PRInfo) -> None:
        """Close an open pull request (closing a closed one is a no-op).

        Raises:
            SCMError: when the pull request is merged.
        """
        await self._enter("close_pr")
        fake = self._readable(pr)
        if fake.state is PRState.MERGED:
            raise SCMError(f"cannot close {fake.info.key}: it is already merged")
        fake.state = PRState.CLOSED

    async def get_ci_checks(self, pr: PRInfo) -> list[CICheck]:
        """The checks of the head commit."""
        await self._enter("get_ci_checks")
        return [check.model_copy() for check in self._readable(pr).checks]

    async def get_ci_log_tails(self, pr: PRInfo, checks: Sequence[CICheck]) -> dict[str, str]:
        """The logs set by :meth:`set_log` of the named checks."""
        await self._enter("get_ci_log_tails")
        logs = self._readable(pr).logs
        return {check.name: logs[check.name] for check in checks if check.name in logs}

    async def get_ci_summary(self, pr: PRInfo) -> CIStatus:
        """Failing, pending, passing or none from the checks; failing when they cannot be read."""
        await self._enter("get_ci_summary")
        fake = self._pr(pr)
        if not fake.readable:
            return CIStatus.FAILING if fake.state is PRState.OPEN else CIStatus.NONE
        return _ci_summary(fake.checks)

    async def get_reviews(self, pr: PRInfo) -> list[Review]:
        """Every submitted review, oldest first."""
        await self._enter("get_reviews")
        return [review.model_copy() for review in self._readable(pr).reviews]

    async def get_review_decision(self, pr: PRInfo) -> ReviewDecision:
        """The explicit decision, else derived from the latest review of each author."""
        await self._enter("get_review_decision")
        return self._decision(self._readable(pr))

    async def get_pending_comments(self, pr: PRInfo) -> list[ReviewComment]:
        """Unresolved comments by humans."""
        await self._enter("get_pending_comments")
        fake = self._readable(pr)
        return [c.model_copy() for c in fake.pending_comments if c.id not in fake.resolved]

    async def get_automated_comments(self, pr: PRInfo) -> list[AutomatedComment]:
        """Unresolved comments by bots."""
        await self._enter("get_automated_comments")
        fake = self._readable(pr)
        return [c.model_copy() for c in fake.automated_comments if c.id not in fake.resolved]

    async def get_mergeability(self, pr: PRInfo) -> MergeReadiness:
        """Whether the pull request can be merged now, with every blocker named."""
        await self._enter("get_mergeability")
        return self._mergeability(self._readable(pr))

    # ------------------------------------------------------------------ optional capabilities

    async def get_pr_snapshots(self, prs: Sequence[PRInfo]) -> dict[str, PRSnapshot]:
        """One snapshot per known, readable pull request; the others are left out."""
        await self._enter("get_pr_snapshots")
        result: dict[str, PRSnapshot] = {}
        for pr in prs:
            fake = self.prs.get(pr.key)
            if fake is None or not fake.readable:
                continue
            readiness = self._mergeability(fake)
            is_open = fake.state is PRState.OPEN
            result[pr.key] = PRSnapshot(
                state=fake.state,
                ci_status=_ci_summary(fake.checks),
                review_decision=self._decision(fake),
                mergeable=is_open and readiness.mergeable,
                title=fake.info.title,
                additions=fake.additions,
                deletions=fake.deletions,
                is_draft=fake.info.is_draft,
                has_conflicts=fake.has_conflicts,
                is_behind=fake.is_behind,
                head_sha=fake.head_sha,
                blockers=list(readiness.blockers) if is_open else [],
                ci_checks=[check.model_copy() for check in fake.checks],
            )
        return result

    async def get_pr_summary(self, pr: PRInfo) -> PRSummary:
        """State, title, additions and deletions."""
        await self._enter("get_pr_summary")
        fake = self._readable(pr)
        return PRSummary(state=fake.state, title=fake.info.title, additions=fake.additions, deletions=fake.deletions)

    async def get_review_threads(self, pr: PRInfo) -> ReviewThreads:
        """Unresolved human and bot comments as threads, and every review with a body."""
        await self._enter("get_review_threads")
        fake = self._readable(pr)
        threads = [c.model_copy() for c in fake.pending_comments if c.id not in fake.resolved]
        threads += [
            ReviewComment(
                id=c.id,
                thread_id=c.id,
                author=c.bot_name,
                body=c.body,
                path=c.path,
                line=c.line,
                created_at=c.created_at,
                url=c.url,
                is_bot=True,
            )
            for c in fake.automated_comments
            if c.id not in fake.resolved
        ]
        reviews = [
            ReviewSummary(author=r.author, state=r.state.value, body=r.body, submitted_at=r.submitted_at)
            for r in fake.reviews
            if r.body
        ]
        return ReviewThreads(threads=threads, reviews=reviews)

    async def resolve_pr(self, reference: str, project: ProjectConfig) -> PRInfo:
        """Resolve ``42``, ``#42`` or a pull request URL of the project's repository.

        Raises:
            SCMError: when the reference is not a number or URL, or names no pull request.
        """
        await self._enter("resolve_pr")
        text = reference.strip().rstrip("/")
        number_text = text.rsplit("/", 1)[-1].removeprefix("#")
        if not number_text.isdigit():
            raise SCMError(f"cannot resolve pull request {reference!r}: give a number (42) or a pull request URL")
        owner, repo = (project.repo or f"{self.owner}/{self.repo}").split("/", 1)
        key = f"{owner}/{repo}#{int(number_text)}"
        fake = self.prs.get(key)
        if fake is None:
            raise SCMError(f"no pull request {key} on fake scm '{self._name}'")
        return fake.info.model_copy()

    async def checkout_pr(self, pr: PRInfo, workspace_path: str) -> bool:
        """Record the checkout in ``checkouts``; ``True`` unless the same PR was last checked out there."""
        await self._enter("checkout_pr")
        fake = self._readable(pr)
        previous = next((key for key, path in reversed(self.checkouts) if path == workspace_path), None)
        self.checkouts.append((fake.info.key, workspace_path))
        return previous != fake.info.key

    async def assign_pr_to_current_user(self, pr: PRInfo) -> None:
        """Add ``user`` to the pull request's assignees."""
        await self._enter("assign_pr_to_current_user")
        fake = self._readable(pr)
        if self.user not in fake.assignees:
            fake.assignees.append(self.user)

    async def verify_webhook(self, request: WebhookRequest, project: ProjectConfig) -> WebhookVerification:
        """Check method, size and the HMAC-SHA256 signature (never echoing the secret)."""
        await self._enter("verify_webhook")
        headers = {k.lower(): v for k, v in request.headers.items()}
        delivery = headers.get("x-github-delivery")
        event_type = headers.get("x-github-event")

        def refuse(status: int, reason: str) -> WebhookVerification:
            return WebhookVerification(
                ok=False, status_code=status, reason=reason, delivery_id=delivery, event_type=event_type
            )

        if request.method.upper() != "POST":
            return refuse(405, f"webhook deliveries are POST requests, not {request.method}")
        if len(request.body) > self.max_webhook_bytes:
            return refuse(413, f"body of {len(request.body)} bytes exceeds {self.max_webhook_bytes}")
        if self.webhook_secret is None:
            return refuse(401, "no webhook secret is configured; refusing unsigned deliveries")
        signature = headers.get("x-hub-signature-256")
        if not signature:
            return refuse(401, "missing x-hub-signature-256 header")
        if not hmac.compare_digest(signature, self.sign(request.body)):
            return refuse(401, "signature does not match the body")
        if not event_type:
            return refuse(400, "missing x-github-event header")
        return WebhookVerification(ok=True, delivery_id=delivery, event_type=event_type)

    async def parse_webhook(self, request: WebhookRequest, project: ProjectConfig) -> WebhookEvent | None:
        """Turn a pull request, review, comment, CI or push delivery into an event; ``None`` otherwise."""
        await self._enter("parse_webhook")
        headers = {k.lower(): v for k, v in request.headers.items()}
        event_type = headers.get("x-github-event", "")
        try:
            payload = json.loads(request.body or b"{}")
        except ValueError:
            return None
        if not isinstance(payload, dict):
            return None
        return _parse_github_like(event_type, headers.get("x-github-delivery"), payload, self._name)

    # ------------------------------------------------------------------ SCMBackdoor

    async def set_ci(self, pr: PRInfo, status: CIStatus) -> None:
        """Make the head commit's CI report ``status`` (one check named ``fake-ci``; none for ``none``)."""
        await anyio.lowlevel.checkpoint()
        fake = self._pr(pr)
        check_status = {
            CIStatus.PASSING: CheckStatus.PASSED,
            CIStatus.FAILING: CheckStatus.FAILED,
            CIStatus.PENDING: CheckStatus.RUNNING,
        }.get(CIStatus(status))
        now = utc_now()
        fake.checks = (
            []
            if check_status is None
            else [
                CICheck(
                    name=_CI_CHECK_NAME,
                    status=check_status,
                    url=f"{fake.info.url}/checks",
                    conclusion=check_status.value,
                    started_at=now,
                    completed_at=None if check_status is CheckStatus.RUNNING else now,
                )
            ]
        )

    async def approve(self, pr: PRInfo) -> None:
        """Submit an approving review by ``reviewer``."""
        await anyio.lowlevel.checkpoint()
        self.add_review(pr, "reviewer", ReviewState.APPROVED, body="Looks good to me.")

    async def request_changes(self, pr: PRInfo, comments: Sequence[str]) -> None:
        """Submit a changes-requested review by ``reviewer`` with one inline comment per entry."""
        await anyio.lowlevel.checkpoint()
        self.add_review(pr, "reviewer", ReviewState.CHANGES_REQUESTED, body="Please address the comments.")
        for body in comments:
            self.add_pending_comment(pr, body, author="reviewer")

    # ------------------------------------------------------------------ test controls

    def open_pr(
        self,
        branch: str,
        *,
        title: str | None = None,
        number: int | None = None,
        owner: str | None = None,
        repo: str | None = None,
        base_branch: str = "main",
        is_draft: bool = False,
        review_required: bool = False,
        additions: int = 0,
        deletions: int = 0,
    ) -> PRInfo:
        """Open a pull request from ``branch`` and return its identity.

        Raises:
            SCMError: when a pull request with that number exists.
        """
        owner = owner or self.owner
        repo = repo or self.repo
        if number is None:
            number = next(self._numbers)
            while f"{owner}/{repo}#{number}" in self.prs:
                number = next(self._numbers)
        info = PRInfo(
            number=number,
            url=f"{self.base_url}/{owner}/{repo}/pull/{number}",
            title=title if title is not None else f"Work from {branch}",
            owner=owner,
            repo=repo,
            branch=branch,
            base_branch=base_branch,
            is_draft=is_draft,
        )
        if info.key in self.prs:
            raise SCMError(f"pull request {info.key} already exists on fake scm '{self._name}'")
        self.prs[info.key] = FakePR(
            info=info,
            review_required=review_required,
            additions=additions,
            deletions=deletions,
            head_sha=hashlib.sha1(f"{info.key}:{branch}".encode(), usedforsecurity=False).hexdigest(),
        )
        return info.model_copy()

    def pr(self, pr: PRInfo | str) -> FakePR:
        """The host-side state of a pull request (by ``PRInfo`` or key), to read or change directly.

        Raises:
            SCMError: when there is no such pull request.
        """
        return self._pr(pr)

    def set_state(self, pr: PRInfo | str, state: PRState) -> None:
        """Set the pull request's state (e.g. merged or closed by a human)."""
        self._pr(pr).state = PRState(state)

    def set_checks(self, pr: PRInfo | str, checks: Iterable[CICheck]) -> None:
        """Replace the head commit's checks."""
        self._pr(pr).checks = [check.model_copy() for check in checks]

    def set_log(self, pr: PRInfo | str, name: str, tail: str) -> None:
        """What ``get_ci_log_tails`` answers for the check ``name``."""
        self._pr(pr).logs[name] = tail

    def add_check(self, pr: PRInfo | str, name: str, status: CheckStatus, *, url: str | None = None) -> CICheck:
        """Add one check to the head commit."""
        check = CICheck(name=name, status=CheckStatus(status), url=url, started_at=utc_now())
        self._pr(pr).checks.append(check)
        return check

    def add_review(self, pr: PRInfo | str, author: str, state: ReviewState, *, body: str = "") -> Review:
        """Submit a review."""
        review = Review(author=author, state=ReviewState(state), body=body, submitted_at=utc_now())
        self._pr(pr).reviews.append(review)
        return review

    def set_review_decision(self, pr: PRInfo | str, decision: ReviewDecision | None) -> None:
        """Force the review decision (``None``: derive it from the reviews again)."""
        self._pr(pr).review_decision = None if decision is None else ReviewDecision(decision)

    def add_pending_comment(
        self,
        pr: PRInfo | str,
        body: str,
        *,
        author: str = "reviewer",
        path: str | None = None,
        line: int | None = None,
    ) -> ReviewComment:
        """Add an unresolved inline comment by a human."""
        fake = self._pr(pr)
        ident = f"c{next(self._comment_ids)}"
        comment = ReviewComment(
            id=ident,
            thread_id=f"t-{ident}",
            author=author,
            body=body,
            path=path,
            line=line,
            created_at=utc_now(),
            url=f"{fake.info.url}#discussion_{ident}",
        )
        fake.pending_comments.append(comment)
        return comment

    def add_automated_comment(
        self,
        pr: PRInfo | str,
        body: str,
        *,
        bot_name: str = "lint-bot[bot]",
        severity: Literal["error", "warning", "info"] = "warning",
        path: str | None = None,
        line: int | None = None,
    ) -> AutomatedComment:
        """Add an unresolved inline comment by a bot."""
        fake = self._pr(pr)
        ident = f"c{next(self._comment_ids)}"
        comment = AutomatedComment(
            id=ident,
            bot_name=bot_name,
            body=body,
            path=path,
            line=line,
            severity=severity,
            created_at=utc_now(),
            url=f"{fake.info.url}#discussion_{ident}",
        )
        fake.automated_comments.append(comment)
        return comment

    def resolve_comment(self, pr: PRInfo | str, comment_id: str) -> None:
        """Mark a human or bot comment resolved."""
        self._pr(pr).resolved.add(comment_id)

    def set_conflicts(self, pr: PRInfo | str, has_conflicts: bool = True) -> None:
        """Say whether the branch conflicts with its base."""
        self._pr(pr).has_conflicts = has_conflicts

    def set_behind(self, pr: PRInfo | str, is_behind: bool = True) -> None:
        """Say whether the branch is behind its base."""
        self._pr(pr).is_behind = is_behind

    def set_readable(self, pr: PRInfo | str, readable: bool) -> None:
        """Make every call about the pull request fail (``False``) or work again (``True``)."""
        self._pr(pr).readable = readable

    def sign(self, body: bytes) -> str:
        """The ``x-hub-signature-256`` value for ``body`` under ``webhook_secret``.

        Raises:
            ValueError: when no webhook secret is configured.
        """
        if self.webhook_secret is None:
            raise ValueError("FakeSCM has no webhook_secret; pass one to sign deliveries")
        return "sha256=" + hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).hexdigest()

    def make_webhook_request(
        self,
        event_type: str,
        payload: dict[str, Any],
        *,
        delivery_id: str | None = None,
        signed: bool = True,
        path: str = "/webhooks/fake",
    ) -> WebhookRequest:
        """A delivery as a GitHub-like host sends it (signed with ``webhook_secret`` unless ``signed=False``)."""
        body = json.dumps(payload).encode()
        headers = {
            "content-type": "application/json",
            "x-github-event": event_type,
            "x-github-delivery": delivery_id or uuid.uuid4().hex,
        }
        if signed:
            headers["x-hub-signature-256"] = self.sign(body)
        return WebhookRequest(method="POST", path=path, headers=headers, body=body)

    # ------------------------------------------------------------------ internals

    def _pr(self, pr: PRInfo | str) -> FakePR:
        key = pr if isinstance(pr, str) else pr.key
        fake = self.prs.get(key)
        if fake is None:
            raise SCMError(f"no pull request {key} on fake scm '{self._name}'")
        return fake

    def _readable(self, pr: PRInfo | str) -> FakePR:
        fake = self._pr(pr)
        if not fake.readable:
            raise SCMError(f"cannot read pull request {fake.info.key} on fake scm '{self._name}' (set unreadable)")
        return fake

    @staticmethod
    def _decision(fake: FakePR) -> ReviewDecision:
        if fake.review_decision is not None:
            return fake.review_decision
        latest: dict[str, ReviewState] = {}
        for review in fake.reviews:
            if review.state in (ReviewState.APPROVED, ReviewState.CHANGES_REQUESTED, ReviewState.DISMISSED):
                latest[review.author] = review.state
        if ReviewState.CHANGES_REQUESTED in latest.values():
            return ReviewDecision.CHANGES_REQUESTED
        if ReviewState.APPROVED in latest.values():
            return ReviewDecision.APPROVED
        return ReviewDecision.PENDING if fake.review_required else ReviewDecision.NONE

    def _mergeability(self, fake: FakePR) -> MergeReadiness:
        if fake.state is PRState.MERGED:
            return MergeReadiness(mergeable=True, ci_passing=True, approved=True, no_conflicts=True)
        blockers: list[str] = []
        if fake.state is PRState.CLOSED:
            blockers.append("PR is closed")
        ci = _ci_summary(fake.checks)
        if ci not in (CIStatus.PASSING, CIStatus.NONE):
            blockers.append(f"CI is {ci.value}")
        decision = self._decision(fake)
        if decision is ReviewDecision.CHANGES_REQUESTED:
            blockers.append("Changes requested in review")
        elif decision is ReviewDecision.PENDING:
            blockers.append("Review required")
        if fake.has_conflicts:
            blockers.append("Merge conflicts")
        if fake.is_behind:
            blockers.append("Branch is behind base branch")
        if fake.info.is_draft:
            blockers.append("PR is still a draft")
        return MergeReadiness(
            mergeable=not blockers,
            ci_passing=ci in (CIStatus.PASSING, CIStatus.NONE),
            approved=decision is ReviewDecision.APPROVED,
            no_conflicts=not fake.has_conflicts,
            blockers=blockers,
        )

    async def _enter(self, method: str) -> None:
        await anyio.lowlevel.checkpoint()
        self._record(method)


def _get(data: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _parse_github_like(
    event_type: str, delivery_id: str | None, payload: dict[str, Any], provider: str
) -> WebhookEvent | None:
    full_name = _get(payload, "repository", "full_name")
    owner, _, repo = full_name.partition("/") if isinstance(full_name, str) else (None, "", None)
    kind: WebhookEventKind
    branch: Any = None
    sha: Any = None
    number: Any = None
    if event_type in ("pull_request", "pull_request_review", "pull_request_review_comment"):
        kind = {
            "pull_request": WebhookEventKind.PULL_REQUEST,
            "pull_request_review": WebhookEventKind.REVIEW,
            "pull_request_review_comment": WebhookEventKind.COMMENT,
        }[event_type]
        number = _get(payload, "pull_request", "number") or payload.get("number")
        branch = _get(payload, "pull_request", "head", "ref")
        sha = _get(payload, "pull_request", "head", "sha")
    elif event_type == "issue_comment":
        if _get(payload, "issue", "pull_request") is None:
            return None
        kind = WebhookEventKind.COMMENT
        number = _get(payload, "issue", "number")
    elif event_type in ("check_run", "check_suite"):
        kind = WebhookEventKind.CI
        suite = (
            _get(payload, "check_suite") if event_type == "check_suite" else _get(payload, "check_run", "check_suite")
        )
        branch = _get(suite, "head_branch")
        sha = _get(suite, "head_sha")
    elif event_type == "status":
        kind = WebhookEventKind.CI
        sha = payload.get("sha")
        branches = payload.get("branches")
        if isinstance(branches, list) and branches:
            branch = _get(branches[0], "name")
    elif event_type == "push":
        kind = WebhookEventKind.PUSH
        ref = payload.get("ref")
        branch = ref.removeprefix("refs/heads/") if isinstance(ref, str) else None
        sha = payload.get("after")
    else:
        return None
    action = payload.get("action")
    return WebhookEvent(
        provider=provider,
        kind=kind,
        action=action if isinstance(action, str) else "",
        raw_event_type=event_type,
        delivery_id=delivery_id,
        owner=owner or None,
        repo=repo or None,
        pr_number=number if isinstance(number, int) else None,
        branch=branch if isinstance(branch, str) else None,
        sha=sha if isinstance(sha, str) else None,
        timestamp=utc_now(),
        data=payload,
    )
