"""An SCM without batched snapshots (no ``get_pr_snapshots``): the lifecycle manager falls back to per-PR calls.

It wraps a :class:`~ao_core.testing.FakeSCM` (``inner``) that tests drive.
"""

from __future__ import annotations

from ao_core.config import ProjectConfig
from ao_core.interfaces import SCM, PluginManifest
from ao_core.models import (
    AutomatedComment,
    CICheck,
    CIStatus,
    MergeMethod,
    MergeReadiness,
    PluginSlot,
    PRInfo,
    PRState,
    Review,
    ReviewComment,
    ReviewDecision,
    Session,
)
from ao_core.testing import FakeSCM

manifest = PluginManifest(name="plain", slot=PluginSlot.SCM, description="SCM without snapshots, for tests")


class PlainSCM:
    """Every SCM method, delegated to ``inner``; no optional capability."""

    name = "plain"

    def __init__(self) -> None:
        self.inner = FakeSCM("plain")

    async def detect_pr(self, session: Session, project: ProjectConfig) -> PRInfo | None:
        return await self.inner.detect_pr(session, project)

    async def get_pr_state(self, pr: PRInfo) -> PRState:
        return await self.inner.get_pr_state(pr)

    async def merge_pr(self, pr: PRInfo, method: MergeMethod = MergeMethod.SQUASH) -> None:
        await self.inner.merge_pr(pr, method)

    async def close_pr(self, pr: PRInfo) -> None:
        await self.inner.close_pr(pr)

    async def get_ci_checks(self, pr: PRInfo) -> list[CICheck]:
        return await self.inner.get_ci_checks(pr)

    async def get_ci_summary(self, pr: PRInfo) -> CIStatus:
        return await self.inner.get_ci_summary(pr)

    async def get_reviews(self, pr: PRInfo) -> list[Review]:
        return await self.inner.get_reviews(pr)

    async def get_review_decision(self, pr: PRInfo) -> ReviewDecision:
        return await self.inner.get_review_decision(pr)

    async def get_pending_comments(self, pr: PRInfo) -> list[ReviewComment]:
        return await self.inner.get_pending_comments(pr)

    async def get_automated_comments(self, pr: PRInfo) -> list[AutomatedComment]:
        return await self.inner.get_automated_comments(pr)

    async def get_mergeability(self, pr: PRInfo) -> MergeReadiness:
        return await self.inner.get_mergeability(pr)


def create() -> SCM:
    """Build the plain SCM."""
    return PlainSCM()
