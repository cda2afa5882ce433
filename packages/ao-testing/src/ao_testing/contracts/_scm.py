"""The SCM contract suite and the backdoor its subclasses provide."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import ClassVar, Protocol

import pytest
from ao_core.config._schema import ProjectConfig
from ao_core.errors import SCMError
from ao_core.interfaces import SCM, SupportsPRSnapshots, SupportsPRSummary, SupportsReviewThreads, SupportsWebhooks
from ao_core.models import (
    CheckStatus,
    CIStatus,
    MergeMethod,
    PRInfo,
    PRState,
    ReviewDecision,
    ReviewState,
    Session,
    WebhookRequest,
)
from ao_core.testing import wait_until

from ao_testing.contracts._common import unique_id

__all__ = ["PRFactory", "SCMBackdoor", "SCMContract"]

PRFactory = Callable[[str], Awaitable[PRInfo]]
"""Opens a real pull request from a new branch of the given name and returns it."""


class SCMBackdoor(Protocol):
    """What the suite does on the backing system behind the plugin's back (as CI and reviewers would).

    A fake host implements it directly (``FakeSCM`` does); for a plugin tested against a fake HTTP server,
    implement it on the server's state.
    """

    async def set_ci(self, pr: PRInfo, status: CIStatus) -> None:
        """Make the head commit's checks add up to ``status`` (``none``: no checks)."""
        ...

    async def approve(self, pr: PRInfo) -> None:
        """Submit an approving review by someone other than the author."""
        ...

    async def request_changes(self, pr: PRInfo, comments: Sequence[str]) -> None:
        """Submit a changes-requested review with one unresolved inline comment per entry of ``comments``."""
        ...


@pytest.mark.anyio
class SCMContract:
    """What every SCM plugin must do. Subclass it in a ``Test*`` class and provide the fixtures.

    Fixtures the subclass provides:

    - ``scm`` (required): the :class:`~ao_core.interfaces.SCM` under test.
    - ``project`` (required): the :class:`~ao_core.config.ProjectConfig` of the repository (with ``repo``).
    - ``pr_factory`` (required): a :data:`PRFactory`, ``async (branch) -> PRInfo``, that opens a real open
      pull request for ``branch`` on the backing system (each call gets a new branch name).
    - ``scm_backdoor`` (required): an :class:`SCMBackdoor` acting on the same backing system.
    - ``valid_webhook_request`` (optional, for ``SupportsWebhooks``): a correctly signed delivery the plugin
      must accept; default ``None`` (that check is then skipped).

    Checked: ``detect_pr`` finds the open pull request of a session's branch and nothing for a branch
    without one; a new pull request is open; failing and passing CI show in checks, summary and
    mergeability; approval and requested changes show in reviews, decision and pending comments; a
    green, approved pull request merges and then reads as merged (and is no longer detected); closing
    works and merging a closed one raises ``SCMError``. When supported: snapshots agree with the single
    calls and leave out a pull request that does not exist; summaries, review threads, and webhook
    verification (an unsigned delivery is refused with a 4xx status).

    Class attribute ``settle_timeout`` bounds the wait for the plugin to see a backdoor change (caches).
    """

    settle_timeout: ClassVar[float] = 10.0

    @pytest.fixture
    def valid_webhook_request(self) -> WebhookRequest | None:
        """A delivery the plugin must accept (``None``: not checked)."""
        return None

    async def _open(self, pr_factory: PRFactory) -> PRInfo:
        pr = await pr_factory(f"aoc/{unique_id()}")
        assert isinstance(pr, PRInfo)
        return pr

    async def _settles(self, condition: Callable[[], Awaitable[bool]], what: str) -> None:
        await wait_until(condition, within=self.settle_timeout, interval=0.05, message=what)

    # ------------------------------------------------------------------ tests

    async def test_name_is_set(self, scm: SCM) -> None:
        assert isinstance(scm.name, str)
        assert scm.name

    async def test_detect_pr_finds_the_branch_pr(self, scm: SCM, project: ProjectConfig, pr_factory: PRFactory) -> None:
        pr = await self._open(pr_factory)
        session = Session(id="aoc-1", project_id="contract", branch=pr.branch)
        found = await scm.detect_pr(session, project)
        assert found is not None, f"no pull request detected for branch {pr.branch!r}"
        assert (found.number, found.branch) == (pr.number, pr.branch)
        assert found.key == pr.key

    async def test_detect_pr_without_a_pr_is_none(self, scm: SCM, project: ProjectConfig) -> None:
        session = Session(id="aoc-1", project_id="contract", branch=f"aoc/{unique_id('nopr')}")
        assert await scm.detect_pr(session, project) is None

    async def test_new_pr_is_open_and_unreviewed(self, scm: SCM, pr_factory: PRFactory) -> None:
        pr = await self._open(pr_factory)
        assert await scm.get_pr_state(pr) is PRState.OPEN
        assert await scm.get_review_decision(pr) in (ReviewDecision.NONE, ReviewDecision.PENDING)
        assert isinstance(await scm.get_reviews(pr), list)
        assert isinstance(await scm.get_automated_comments(pr), list)

    async def test_failing_ci_shows_everywhere(
        self, scm: SCM, pr_factory: PRFactory, scm_backdoor: SCMBackdoor
    ) -> None:
        pr = await self._open(pr_factory)
        await scm_backdoor.set_ci(pr, CIStatus.FAILING)

        async def failing() -> bool:
            return await scm.get_ci_summary(pr) is CIStatus.FAILING

        await self._settles(failing, "CI summary to become failing")
        checks = await scm.get_ci_checks(pr)
        assert any(check.status is CheckStatus.FAILED for check in checks), checks
        readiness = await scm.get_mergeability(pr)
        assert readiness.ci_passing is False
        assert readiness.mergeable is False
        assert readiness.blockers, "a pull request with failing CI must name a blocker"

    async def test_passing_ci_shows_everywhere(
        self, scm: SCM, pr_factory: PRFactory, scm_backdoor: SCMBackdoor
    ) -> None:
        pr = await self._open(pr_factory)
        await scm_backdoor.set_ci(pr, CIStatus.FAILING)
        await scm_backdoor.set_ci(pr, CIStatus.PASSING)

        async def passing() -> bool:
            return await scm.get_ci_summary(pr) is CIStatus.PASSING

        await self._settles(passing, "CI summary to become passing")
        checks = await scm.get_ci_checks(pr)
        assert checks
        assert all(check.status in (CheckStatus.PASSED, CheckStatus.SKIPPED) for check in checks), checks
        assert (await scm.get_mergeability(pr)).ci_passing is True

    async def test_approval_shows_in_decision_and_reviews(
        self, scm: SCM, pr_factory: PRFactory, scm_backdoor: SCMBackdoor
    ) -> None:
        pr = await self._open(pr_factory)
        await scm_backdoor.approve(pr)

        async def approved() -> bool:
            return await scm.get_review_decision(pr) is ReviewDecision.APPROVED

        await self._settles(approved, "review decision to become approved")
        assert any(review.state is ReviewState.APPROVED for review in await scm.get_reviews(pr))
        assert (await scm.get_mergeability(pr)).approved is True

    async def test_requested_changes_show_with_their_comments(
        self, scm: SCM, pr_factory: PRFactory, scm_backdoor: SCMBackdoor
    ) -> None:
        pr = await self._open(pr_factory)
        body = f"Please rename this variable ({unique_id('comment')})"
        await scm_backdoor.request_changes(pr, [body])

        async def changes_requested() -> bool:
            return await scm.get_review_decision(pr) is ReviewDecision.CHANGES_REQUESTED

        await self._settles(changes_requested, "review decision to become changes_requested")
        pending = await scm.get_pending_comments(pr)
        assert any(body in comment.body for comment in pending), f"{body!r} not among {pending}"
        readiness = await scm.get_mergeability(pr)
        assert readiness.mergeable is False
        assert readiness.blockers

    async def test_green_approved_pr_merges(
        self, scm: SCM, project: ProjectConfig, pr_factory: PRFactory, scm_backdoor: SCMBackdoor
    ) -> None:
        pr = await self._open(pr_factory)
        await scm_backdoor.set_ci(pr, CIStatus.PASSING)
        await scm_backdoor.approve(pr)

        async def mergeable() -> bool:
            return (await scm.get_mergeability(pr)).mergeable

        await self._settles(mergeable, "pull request to become mergeable")
        await scm.merge_pr(pr, MergeMethod.SQUASH)

        async def merged() -> bool:
            return await scm.get_pr_state(pr) is PRState.MERGED

        await self._settles(merged, "pull request to read as merged")
        session = Session(id="aoc-1", project_id="contract", branch=pr.branch)
        assert await scm.detect_pr(session, project) is None, "a merged pull request is still detected as open"

    async def test_close_and_merging_a_closed_pr_fails(self, scm: SCM, pr_factory: PRFactory) -> None:
        pr = await self._open(pr_factory)
        await scm.close_pr(pr)

        async def closed() -> bool:
            return await scm.get_pr_state(pr) is PRState.CLOSED

        await self._settles(closed, "pull request to read as closed")
        with pytest.raises(SCMError):
            await scm.merge_pr(pr)

    async def test_snapshots_when_supported(self, scm: SCM, pr_factory: PRFactory, scm_backdoor: SCMBackdoor) -> None:
        if not isinstance(scm, SupportsPRSnapshots):
            pytest.skip(f"scm {scm.name!r} does not implement SupportsPRSnapshots")
        pr = await self._open(pr_factory)
        await scm_backdoor.set_ci(pr, CIStatus.FAILING)

        async def failing() -> bool:
            return await scm.get_ci_summary(pr) is CIStatus.FAILING

        await self._settles(failing, "CI summary to become failing")
        missing = pr.model_copy(update={"number": pr.number + 100_000, "url": f"{pr.url}00000"})
        snapshots = await scm.get_pr_snapshots([pr, missing])
        assert set(snapshots) == {pr.key}, f"expected only {pr.key}, got {sorted(snapshots)}"
        snapshot = snapshots[pr.key]
        assert snapshot.state is PRState.OPEN
        assert snapshot.ci_status is CIStatus.FAILING
        assert snapshot.review_decision is await scm.get_review_decision(pr)
        assert snapshot.mergeable is False

    async def test_summary_when_supported(self, scm: SCM, pr_factory: PRFactory) -> None:
        if not isinstance(scm, SupportsPRSummary):
            pytest.skip(f"scm {scm.name!r} does not implement SupportsPRSummary")
        pr = await self._open(pr_factory)
        summary = await scm.get_pr_summary(pr)
        assert summary.state is PRState.OPEN
        assert summary.additions >= 0
        assert summary.deletions >= 0

    async def test_review_threads_when_supported(
        self, scm: SCM, pr_factory: PRFactory, scm_backdoor: SCMBackdoor
    ) -> None:
        if not isinstance(scm, SupportsReviewThreads):
            pytest.skip(f"scm {scm.name!r} does not implement SupportsReviewThreads")
        pr = await self._open(pr_factory)
        body = f"Handle the empty case ({unique_id('comment')})"
        await scm_backdoor.request_changes(pr, [body])

        async def has_thread() -> bool:
            threads = await scm.get_review_threads(pr)
            return any(body in thread.body and not thread.is_resolved for thread in threads.threads)

        await self._settles(has_thread, f"an unresolved review thread with {body!r}")

    async def test_webhooks_when_supported(
        self, scm: SCM, project: ProjectConfig, valid_webhook_request: WebhookRequest | None
    ) -> None:
        if not isinstance(scm, SupportsWebhooks):
            pytest.skip(f"scm {scm.name!r} does not implement SupportsWebhooks")
        unsigned = WebhookRequest(
            method="POST", path="/webhook", headers={"content-type": "application/json"}, body=b'{"action": "opened"}'
        )
        verdict = await scm.verify_webhook(unsigned, project)
        assert verdict.ok is False, "an unsigned delivery was accepted"
        assert 400 <= verdict.status_code < 500
        if valid_webhook_request is None:
            return
        accepted = await scm.verify_webhook(valid_webhook_request, project)
        assert accepted.ok is True, f"a valid delivery was refused: {accepted.reason}"
        tampered = valid_webhook_request.model_copy(update={"body": valid_webhook_request.body + b" "})
        assert (await scm.verify_webhook(tampered, project)).ok is False, "a tampered delivery was accepted"
        await scm.parse_webhook(valid_webhook_request, project)
