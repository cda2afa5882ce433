"""An SCM whose pull requests live in a JSON file the test writes, so separate ao processes see them.

The file holds ``{"prs": [PR, ...]}``; a PR is::

    {"number": 1, "branch": "feat/x", "base": "main", "state": "open", "headSha": "abc",
     "checks": [{"name": "lint", "status": "failed", "url": "https://ci.test/run/1"}],
     "reviewDecision": "none", "hasConflicts": false,
     "comments": [{"id": "c1", "author": "alice", "body": "...", "path": "a.py", "line": 3}]}

``merge_pr`` writes ``state: merged`` back. Webhooks are verified with HMAC-SHA256 (``x-hub-signature-256``)
under ``webhookSecret``; ``pull_request`` deliveries name the PR by number and branch. Every call
increments ``request_count`` (the lifecycle manager reports it per poll).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ao_core.config import ProjectConfig
from ao_core.errors import SCMError
from ao_core.interfaces import SCM, PluginManifest
from ao_core.models import (
    AutomatedComment,
    CheckStatus,
    CICheck,
    CIStatus,
    MergeMethod,
    MergeReadiness,
    PluginSlot,
    PRInfo,
    PRSnapshot,
    PRState,
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
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

manifest = PluginManifest(name="file", slot=PluginSlot.SCM, description="File-backed SCM for tests")


class FileSCMConfig(BaseModel):
    """Options of the file SCM."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    state_file: str
    owner: str = "acme"
    repo: str = "app"
    webhook_secret: str | None = None


def _summary(checks: list[CICheck]) -> CIStatus:
    statuses = {c.status for c in checks}
    if CheckStatus.FAILED in statuses:
        return CIStatus.FAILING
    if statuses & {CheckStatus.PENDING, CheckStatus.RUNNING}:
        return CIStatus.PENDING
    return CIStatus.PASSING if CheckStatus.PASSED in statuses else CIStatus.NONE


class FileSCM:
    """Pull requests read from ``state_file`` at every call."""

    name = "file"

    def __init__(self, config: FileSCMConfig) -> None:
        self.config = config
        self.path = Path(config.state_file)
        self.request_count = 0

    # ------------------------------------------------------------------ file access

    def _prs(self) -> list[dict[str, Any]]:
        self.request_count += 1
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return []
        prs = data.get("prs", []) if isinstance(data, dict) else []
        return [pr for pr in prs if isinstance(pr, dict)]

    def _find(self, pr: PRInfo) -> dict[str, Any]:
        for data in self._prs():
            if data.get("number") == pr.number:
                return data
        raise SCMError(f"no pull request #{pr.number} in {self.path}")

    def _info(self, data: dict[str, Any]) -> PRInfo:
        number = int(data["number"])
        return PRInfo(
            number=number,
            url=f"https://scm.test/{self.config.owner}/{self.config.repo}/pull/{number}",
            owner=self.config.owner,
            repo=self.config.repo,
            branch=str(data.get("branch", "")),
            base_branch=str(data.get("base", "main")),
        )

    @staticmethod
    def _checks(data: dict[str, Any]) -> list[CICheck]:
        return [
            CICheck(name=c["name"], status=CheckStatus(c["status"]), url=c.get("url"), conclusion=c.get("conclusion"))
            for c in data.get("checks", [])
        ]

    @staticmethod
    def _comments(data: dict[str, Any]) -> list[ReviewComment]:
        return [
            ReviewComment(
                id=c["id"],
                thread_id=f"t-{c['id']}",
                author=c.get("author", "reviewer"),
                body=c.get("body", ""),
                path=c.get("path"),
                line=c.get("line"),
                is_bot=bool(c.get("bot", False)),
            )
            for c in data.get("comments", [])
        ]

    def _readiness(self, data: dict[str, Any]) -> MergeReadiness:
        ci = _summary(self._checks(data))
        decision = ReviewDecision(data.get("reviewDecision", "none"))
        blockers = []
        if ci not in (CIStatus.PASSING, CIStatus.NONE):
            blockers.append(f"CI is {ci.value}")
        if decision in (ReviewDecision.CHANGES_REQUESTED, ReviewDecision.PENDING):
            blockers.append(f"review is {decision.value}")
        if data.get("hasConflicts"):
            blockers.append("Merge conflicts")
        return MergeReadiness(
            mergeable=not blockers,
            ci_passing=ci in (CIStatus.PASSING, CIStatus.NONE),
            approved=decision is ReviewDecision.APPROVED,
            no_conflicts=not data.get("hasConflicts"),
            blockers=blockers,
        )

    # ------------------------------------------------------------------ SCM

    async def detect_pr(self, session: Session, project: ProjectConfig) -> PRInfo | None:
        for data in self._prs():
            if data.get("branch") == session.branch and data.get("state", "open") == "open":
                return self._info(data)
        return None

    async def get_pr_state(self, pr: PRInfo) -> PRState:
        return PRState(self._find(pr).get("state", "open"))

    async def merge_pr(self, pr: PRInfo, method: MergeMethod = MergeMethod.SQUASH) -> None:
        raw = json.loads(self.path.read_text())
        for data in raw["prs"]:
            if data.get("number") == pr.number:
                data["state"] = "merged"
        self.path.write_text(json.dumps(raw))

    async def close_pr(self, pr: PRInfo) -> None:
        raise SCMError("close_pr is not supported by the file SCM")

    async def get_ci_checks(self, pr: PRInfo) -> list[CICheck]:
        return self._checks(self._find(pr))

    async def get_ci_summary(self, pr: PRInfo) -> CIStatus:
        return _summary(self._checks(self._find(pr)))

    async def get_reviews(self, pr: PRInfo) -> list[Review]:
        return []

    async def get_review_decision(self, pr: PRInfo) -> ReviewDecision:
        return ReviewDecision(self._find(pr).get("reviewDecision", "none"))

    async def get_pending_comments(self, pr: PRInfo) -> list[ReviewComment]:
        return [c for c in self._comments(self._find(pr)) if not c.is_bot]

    async def get_automated_comments(self, pr: PRInfo) -> list[AutomatedComment]:
        return []

    async def get_mergeability(self, pr: PRInfo) -> MergeReadiness:
        return self._readiness(self._find(pr))

    async def get_pr_snapshots(self, prs: Sequence[PRInfo]) -> dict[str, PRSnapshot]:
        by_number = {data.get("number"): data for data in self._prs()}
        result: dict[str, PRSnapshot] = {}
        for pr in prs:
            data = by_number.get(pr.number)
            if data is None:
                continue
            checks = self._checks(data)
            readiness = self._readiness(data)
            state = PRState(data.get("state", "open"))
            result[pr.key] = PRSnapshot(
                state=state,
                ci_status=_summary(checks),
                review_decision=ReviewDecision(data.get("reviewDecision", "none")),
                mergeable=state is PRState.OPEN and readiness.mergeable,
                has_conflicts=bool(data.get("hasConflicts")),
                head_sha=data.get("headSha"),
                blockers=readiness.blockers,
                ci_checks=checks,
            )
        return result

    async def get_review_threads(self, pr: PRInfo) -> ReviewThreads:
        return ReviewThreads(threads=self._comments(self._find(pr)))

    async def verify_webhook(self, request: WebhookRequest, project: ProjectConfig) -> WebhookVerification:
        secret = self.config.webhook_secret
        if secret is None:
            return WebhookVerification(ok=False, status_code=401, reason="no webhook secret configured")
        expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("x-hub-signature-256", ""), expected):
            return WebhookVerification(ok=False, status_code=401, reason="signature does not match")
        return WebhookVerification(ok=True, event_type=request.headers.get("x-github-event"))

    async def parse_webhook(self, request: WebhookRequest, project: ProjectConfig) -> WebhookEvent | None:
        payload = json.loads(request.body or b"{}")
        pull = payload.get("pull_request") or {}
        return WebhookEvent(
            provider="file",
            kind=WebhookEventKind.PULL_REQUEST,
            raw_event_type=request.headers.get("x-github-event", ""),
            owner=self.config.owner,
            repo=self.config.repo,
            pr_number=pull.get("number"),
            branch=(pull.get("head") or {}).get("ref"),
        )


def create(config: FileSCMConfig | None = None) -> SCM:
    """Build the file SCM."""
    if config is None:
        raise SCMError("the file SCM needs a 'stateFile' option")
    return FileSCM(config)
