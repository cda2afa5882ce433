"""The lifecycle manager in-process: fakes of every slot, a real SQLite store, a controllable clock."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import anyio
import pytest
from ao_core.config import OrchestratorConfig
from ao_core.errors import RateLimitedError, RuntimeFailedError, SCMError
from ao_core.lifecycle import LifecycleManager, PollReport
from ao_core.models import (
    ActivityDetection,
    ActivityState,
    CheckStatus,
    CICheck,
    EventType,
    PRInfo,
    PRState,
    ReviewDecision,
    ReviewState,
    RuntimeCreateConfig,
    Session,
    SessionStatus,
)
from ao_core.registry import Registry
from ao_core.sessions import SessionManager
from ao_core.store import Store
from ao_core.testing import FakeAgent, FakeRuntime, FakeSCM, RecordingNotifier, wait_until
from ao_core.testing.plugins import PLUGIN_FILES

DATA = Path(__file__).parent / "data" / "lifecycle"
T0 = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@dataclass
class Rig:
    config: OrchestratorConfig
    store: Store
    manager: SessionManager
    lifecycle: LifecycleManager
    clock: Clock
    tmp: Path

    @property
    def runtime(self) -> FakeRuntime:
        return cast(FakeRuntime, self.manager.runtime_for("app"))

    @property
    def agent(self) -> FakeAgent:
        return cast(FakeAgent, self.manager.agent_for("app", "fake"))

    @property
    def scm(self) -> FakeSCM:
        return cast(FakeSCM, self.manager.scm_for("app"))

    def notifier(self, name: str) -> RecordingNotifier:
        return cast(RecordingNotifier, self.lifecycle.dispatcher.notifier(name))

    async def add_session(
        self,
        session_id: str = "app-1",
        *,
        branch: str | None = "feat/issue-1",
        status: SessionStatus = SessionStatus.WORKING,
        issue_id: str | None = "1",
        activity: ActivityState | None = ActivityState.ACTIVE,
    ) -> Session:
        handle = await self.runtime.create(
            RuntimeCreateConfig(session_id=session_id, workspace_path=str(self.tmp), launch_command="fake-agent")
        )
        session = Session(
            id=session_id,
            project_id="app",
            status=status,
            branch=branch,
            issue_id=issue_id,
            runtime_handle=handle,
            agent="fake",
            workspace_path=str(self.tmp / "ws" / session_id),
            created_at=self.clock.now - timedelta(hours=1),
        )
        self.store.save_session(session)
        if activity is not None:
            self.set_activity(session_id, activity)
        return session

    def set_activity(self, session_id: str, state: ActivityState, *, seconds_ago: float = 2) -> None:
        self.agent.set_activity(
            session_id,
            ActivityDetection(state=state, timestamp=self.clock.now - timedelta(seconds=seconds_ago)),
        )

    def open_pr(self, branch: str = "feat/issue-1", **kwargs: Any) -> PRInfo:
        pr = self.scm.open_pr(branch, **kwargs)
        self.scm.pr(pr).head_sha = "sha-1"
        return pr

    def session(self, session_id: str = "app-1") -> Session:
        found = self.store.get_session(session_id)
        assert found is not None
        return found

    def events(self, event_type: EventType | None = None) -> list[Any]:
        return [
            (event, results)
            for event, results in self.store.list_events(limit=1000)
            if event_type is None or event.type is event_type
        ]

    def sent(self, session_id: str = "app-1") -> list[str]:
        return self.runtime.sent_to(session_id)

    async def poll(self) -> PollReport:
        report = await self.lifecycle.poll_once()
        assert not report.skipped
        return report


def base_config(tmp: Path, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "defaults": {"runtime": "fake", "agent": "fake", "workspace": "fake"},
        "projects": {"app": {"path": str(tmp), "repo": "acme/app", "scm": "fake", "sessionPrefix": "app"}},
        "notifiers": {
            "urgent": {"plugin": "fake"},
            "action": {"plugin": "fake"},
            "warning": {"plugin": "fake"},
            "info": {"plugin": "fake"},
        },
        "notificationRouting": {"urgent": ["urgent"], "action": ["action"], "warning": ["warning"], "info": ["info"]},
        "lifecycle": {"mergeCleanupIdleGraceMs": 60_000},
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


def make_rig(tmp_path: Path, **config_extra: Any) -> Iterator[Rig]:
    config = OrchestratorConfig.model_validate(base_config(tmp_path, **config_extra))
    registry = Registry(local_paths=[*PLUGIN_FILES.values(), DATA / "plain_scm.py"])
    store = Store(tmp_path / "state" / "ao.db")
    manager = SessionManager(config, registry, store, state_dir=tmp_path / "state")
    clock = Clock()
    lifecycle = LifecycleManager(config, registry, store, manager, clock=clock, send_ready_wait_s=0, notify_timeout_s=2)
    try:
        yield Rig(config, store, manager, lifecycle, clock, tmp_path)
    finally:
        store.close()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    yield from make_rig(tmp_path)


def fail_ci(rig: Rig, pr: PRInfo, *checks: tuple[str, str], sha: str | None = None) -> None:
    """Make the PR's CI fail with ``(name, run url)`` checks (plus one passing check)."""
    rig.scm.set_checks(
        pr,
        [
            *(CICheck(name=name, status=CheckStatus.FAILED, conclusion="failure", url=url) for name, url in checks),
            CICheck(name="docs", status=CheckStatus.PASSED, conclusion="success"),
        ],
    )
    if sha is not None:
        rig.scm.pr(pr).head_sha = sha


# =========================================================================== transitions, evidence, events


@pytest.mark.anyio
async def test_ci_failure_transition_records_evidence_and_tells_the_agent(rig: Rig) -> None:
    await rig.add_session()
    pr = rig.open_pr()
    fail_ci(rig, pr, ("lint", "https://ci.test/runs/11"))

    report = await rig.poll()

    session = rig.session()
    assert session.status is SessionStatus.CI_FAILED
    assert session.pr is not None
    assert session.pr.number == pr.number
    assert session.status_evidence == "PR #1: CI failing (lint: failure); review: none"
    assert session.metadata["prSnapshot"]["ci_status"] == "failing"
    assert session.metadata["prSnapshot"]["review_decision"] == "none"
    assert session.metadata["lifecycleStatus"] == "ci_failed"
    [transition] = [t for t in rig.store.list_transitions("app-1") if t.new_status is SessionStatus.CI_FAILED]
    assert transition.old_status is SessionStatus.WORKING
    assert transition.evidence == session.status_evidence
    assert [(t.session_id, t.old, t.new) for t in report.transitions] == [("app-1", "working", "ci_failed")]

    [message] = rig.sent()
    assert "CI is failing on your pull request #1" in message
    assert "- lint: failure — https://ci.test/runs/11" in message
    assert "docs" not in message
    assert message.endswith("Find the cause of each failure, fix it, and push again.")

    # The reaction succeeded: the plain ci.failing notification is recorded but not delivered.
    [(_, results)] = rig.events(EventType.CI_FAILING)
    assert results == []
    assert rig.notifier("warning").events == []
    assert rig.events(EventType.CI_FIX_SENT)
    assert [(r.key, r.result, r.attempts) for r in report.reactions] == [("ci-failed", "sent", 1)]


@pytest.mark.anyio
async def test_the_ci_message_carries_the_end_of_each_failing_log_read_once_per_failure(rig: Rig) -> None:
    await rig.add_session()
    pr = rig.open_pr()
    fail_ci(rig, pr, ("lint", "https://ci.test/runs/11"))
    rig.scm.set_log(pr, "lint", "src/app.py:3:1: E302 expected 2 blank lines\nFound 1 error.")
    await rig.poll()
    [message] = rig.sent()
    assert (
        "- lint: failure — https://ci.test/runs/11\n"
        "  The end of its log:\n"
        "  ```\n"
        "  src/app.py:3:1: E302 expected 2 blank lines\n"
        "  Found 1 error.\n"
        "  ```\n"
    ) in message
    assert "- docs" not in message, "passing checks are not listed"
    await rig.poll()
    assert rig.scm.calls["get_ci_log_tails"] == 1, "the same failure is not read again"
    fail_ci(rig, pr, ("lint", "https://ci.test/runs/12"), sha="sha-2")
    await rig.poll()
    assert rig.scm.calls["get_ci_log_tails"] == 2, "a new run is"
    rig.scm.fail_on("get_ci_log_tails", SCMError("logs expired"))
    fail_ci(rig, pr, ("lint", "https://ci.test/runs/13"), sha="sha-3")
    report = await rig.poll()
    assert any("logs expired" in e for e in report.errors)
    assert rig.session().status is SessionStatus.CI_FAILED, "an unreadable log fails nothing else"


@pytest.mark.anyio
async def test_pr_detected_only_for_sessions_with_a_branch(rig: Rig) -> None:
    await rig.add_session("app-1")
    await rig.add_session("app-2", branch=None)
    rig.open_pr()
    report = await rig.poll()
    assert rig.session("app-1").pr is not None
    assert rig.session("app-1").status is SessionStatus.MERGEABLE  # no CI, no review required
    assert rig.session("app-2").pr is None
    assert rig.scm.calls["detect_pr"] == 1
    # detect_pr, one get_pr_snapshots, and a first read of the new PR's review threads
    assert dict(rig.scm.calls) == {"detect_pr": 1, "get_pr_snapshots": 1, "get_review_threads": 1}
    assert report.scm_calls == {"fake": 3}


@pytest.mark.anyio
async def test_one_snapshot_call_per_scm_for_all_sessions(rig: Rig) -> None:
    for n in range(1, 21):
        await rig.add_session(f"app-{n}", branch=f"feat/issue-{n}")
        rig.open_pr(f"feat/issue-{n}")
    await rig.poll()  # detects the PRs
    rig.scm.reset_calls()
    rig.clock.advance(seconds=30)
    report = await rig.poll()
    assert report.sessions_checked == 20
    assert rig.scm.calls["get_pr_snapshots"] == 1
    assert rig.scm.calls["detect_pr"] == 0
    assert report.scm_calls["fake"] == rig.scm.total_calls()
    assert report.scm_requests == {"fake": rig.scm.total_calls()}
    assert report.duration_ms > 0


@pytest.mark.anyio
async def test_scm_without_snapshots_falls_back_to_per_pr_calls(tmp_path: Path) -> None:
    for rig in make_rig(tmp_path, projects={"app": {"path": str(tmp_path), "scm": "plain"}}):
        plain = cast(Any, rig.manager.scm_for("app"))
        inner: FakeSCM = plain.inner
        await rig.add_session()
        pr = inner.open_pr("feat/issue-1")
        inner.set_checks(pr, [CICheck(name="unit", status=CheckStatus.FAILED, url="https://ci.test/9")])
        await rig.poll()
        session = rig.session()
        assert session.status is SessionStatus.CI_FAILED
        assert {"get_pr_state", "get_ci_summary", "get_review_decision", "get_mergeability"} <= set(inner.calls)
        assert "- unit: failed — https://ci.test/9" in rig.sent()[0]


@pytest.mark.anyio
async def test_runtime_dead_is_killed_and_a_human_is_told_urgently(rig: Rig) -> None:
    await rig.add_session()
    rig.runtime.kill("app-1")
    await rig.poll()
    session = rig.session()
    assert session.status is SessionStatus.KILLED
    assert session.activity is ActivityState.EXITED
    assert session.status_evidence == "runtime session is gone"
    [message] = rig.notifier("urgent").messages
    assert message.startswith("app-1: the agent is gone — runtime session is gone")
    assert "ao session restore app-1" in message
    # The next poll leaves it alone.
    await rig.poll()
    assert len(rig.notifier("urgent").events) == 1


@pytest.mark.anyio
async def test_needs_input_waits_for_the_agent_before_sending_ci_fixes(rig: Rig) -> None:
    await rig.add_session()
    pr = rig.open_pr()
    fail_ci(rig, pr, ("lint", "https://ci.test/runs/1"))
    rig.set_activity("app-1", ActivityState.WAITING_INPUT)
    await rig.poll()
    assert rig.session().status is SessionStatus.NEEDS_INPUT
    assert (
        rig.notifier("urgent").messages[0].startswith("app-1: needs your input — runtime alive; agent: waiting_input")
    )
    assert rig.sent() == []  # nothing typed into the permission prompt

    rig.set_activity("app-1", ActivityState.ACTIVE)
    rig.clock.advance(seconds=30)
    await rig.poll()
    assert rig.session().status is SessionStatus.CI_FAILED
    assert len(rig.sent()) == 1


@pytest.mark.anyio
async def test_failed_probes_escalate_from_detecting_to_stuck(rig: Rig) -> None:
    await rig.add_session()
    rig.runtime.fail_on("is_alive", RuntimeFailedError("tmux server not answering"))
    rig.agent.fail_on("get_activity_state", RuntimeFailedError("transcript unreadable"))
    for attempt in (1, 2):
        await rig.poll()
        session = rig.session()
        assert session.status is SessionStatus.DETECTING
        assert session.metadata["detectingAttempts"] == attempt
        rig.clock.advance(seconds=30)
    await rig.poll()
    session = rig.session()
    assert session.status is SessionStatus.STUCK
    assert "undecided for 3 polls" in (session.status_evidence or "")
    assert "detectingAttempts" not in session.metadata
    assert rig.notifier("urgent").messages[-1].startswith("app-1: stuck — ")

    rig.runtime.fail_on("is_alive", None)
    rig.agent.fail_on("get_activity_state", None)
    rig.set_activity("app-1", ActivityState.ACTIVE)
    await rig.poll()
    assert rig.session().status is SessionStatus.WORKING
    assert rig.store.get_reaction("app-1", "agent-stuck") is None  # cleared on leaving stuck


# =========================================================================== content reactions


@pytest.mark.anyio
async def test_ci_reaction_fires_on_new_content_never_twice_then_escalates(tmp_path: Path) -> None:
    for rig in make_rig(tmp_path, reactions={"ci-failed": {"retries": 2, "escalateAfter": 5}}):
        await rig.add_session()
        pr = rig.open_pr()
        fail_ci(rig, pr, ("lint", "https://ci.test/runs/1"), sha="sha-1")
        await rig.poll()
        await rig.poll()
        assert len(rig.sent()) == 1

        # A new failing run (new head commit): sent again, attempt 2.
        fail_ci(rig, pr, ("lint", "https://ci.test/runs/2"), ("unit", "https://ci.test/runs/3"), sha="sha-2")
        rig.clock.advance(minutes=1)
        await rig.poll()
        assert len(rig.sent()) == 2
        assert "- unit: failure — https://ci.test/runs/3" in rig.sent()[1]
        state = rig.store.get_reaction("app-1", "ci-failed")
        assert state is not None
        assert state.attempts == 2

        # The third failing run exceeds retries: a human is told (urgent), the agent is not.
        fail_ci(rig, pr, ("lint", "https://ci.test/runs/4"), sha="sha-3")
        rig.clock.advance(minutes=1)
        report = await rig.poll()
        assert len(rig.sent()) == 2
        [escalation] = rig.notifier("urgent").events
        assert escalation.type is EventType.REACTION_ESCALATED
        assert "reaction 'ci-failed' escalated to you after 3 attempt(s)" in escalation.message
        assert escalation.data["prUrl"] == pr.url
        assert [(r.key, r.result) for r in report.reactions] == [("ci-failed", "escalated")]

        # Escalated once: later failures neither message the agent nor the human again.
        fail_ci(rig, pr, ("lint", "https://ci.test/runs/5"), sha="sha-4")
        await rig.poll()
        assert len(rig.sent()) == 2
        assert len(rig.notifier("urgent").events) == 1

        # Green CI clears the reaction: the next failure starts over.
        rig.scm.set_checks(pr, [CICheck(name="lint", status=CheckStatus.PASSED)])
        await rig.poll()
        assert rig.store.get_reaction("app-1", "ci-failed") is None
        fail_ci(rig, pr, ("lint", "https://ci.test/runs/6"), sha="sha-5")
        await rig.poll()
        assert len(rig.sent()) == 3


@pytest.mark.anyio
async def test_a_new_manager_on_the_same_store_does_not_resend(tmp_path: Path) -> None:
    for rig in make_rig(tmp_path):
        await rig.add_session()
        pr = rig.open_pr()
        fail_ci(rig, pr, ("lint", "https://ci.test/runs/1"))
        await rig.poll()
        assert len(rig.sent()) == 1
        restarted = LifecycleManager(
            rig.config, rig.manager.registry, rig.store, rig.manager, clock=rig.clock, send_ready_wait_s=0
        )
        await restarted.poll_once()
        assert len(rig.sent()) == 1
        fail_ci(rig, pr, ("lint", "https://ci.test/runs/2"), sha="sha-2")
        await restarted.poll_once()
        assert len(rig.sent()) == 2
        state = rig.store.get_reaction("app-1", "ci-failed")
        assert state is not None
        assert state.attempts == 2


@pytest.mark.anyio
async def test_failed_send_still_notifies_a_human_and_is_retried(rig: Rig) -> None:
    await rig.add_session()
    pr = rig.open_pr()
    fail_ci(rig, pr, ("lint", "https://ci.test/runs/1"))
    rig.runtime.fail_on("send_message", RuntimeFailedError("pane is gone"))
    report = await rig.poll()
    assert [(r.key, r.result) for r in report.reactions] == [("ci-failed", "failed")]
    assert "pane is gone" in report.reactions[0].detail
    # Upstream suppressed this notification even though the reaction failed; here it goes out.
    [warning] = rig.notifier("warning").events
    assert warning.type is EventType.CI_FAILING
    assert warning.message.startswith("app-1: working → ci_failed — PR #1: CI failing (lint: failure)")

    rig.runtime.fail_on("send_message", None)
    rig.clock.advance(seconds=30)
    await rig.poll()
    assert len(rig.sent()) == 1
    state = rig.store.get_reaction("app-1", "ci-failed")
    assert state is not None
    assert state.attempts == 2


@pytest.mark.anyio
async def test_send_to_agent_without_a_message_uses_a_built_in_one(tmp_path: Path) -> None:
    config = {"reactions": {"agent-stuck": {"action": "send-to-agent"}, "merge-conflicts": {"message": ""}}}
    for rig in make_rig(tmp_path, **config):
        await rig.add_session()
        rig.set_activity("app-1", ActivityState.IDLE, seconds_ago=11 * 60)
        await rig.poll()
        assert rig.session().status is SessionStatus.STUCK
        [nudge] = rig.sent()
        assert nudge == "Please check the state of your task and your pull request, and carry on."
        # The reaction succeeded, so the plain session.stuck notification stays quiet.
        assert rig.notifier("urgent").events == []


@pytest.mark.anyio
async def test_changes_requested_sends_every_comment_with_path_line_author(rig: Rig) -> None:
    await rig.add_session()
    pr = rig.open_pr()
    rig.scm.add_review(pr, "alice", ReviewState.CHANGES_REQUESTED, body="Needs a test.")
    rig.scm.add_pending_comment(pr, "Rename this variable.", author="alice", path="src/app.py", line=42)
    rig.scm.add_pending_comment(pr, "Typo here", author="bob", path="README.md", line=3)
    await rig.poll()
    assert rig.session().status is SessionStatus.CHANGES_REQUESTED
    [message] = rig.sent()
    assert "- @alice (changes_requested): Needs a test." in message
    assert "2 unresolved review comment(s):" in message
    assert '1. src/app.py:42 (@alice): "Rename this variable."' in message
    assert '2. README.md:3 (@bob): "Typo here"' in message
    assert "thread: t-c1" in message
    assert "Address each comment and push." in message

    rig.clock.advance(minutes=3)  # the threads are re-read (interval) — same comments: not sent again
    await rig.poll()
    assert len(rig.sent()) == 1

    rig.scm.add_pending_comment(pr, "And this one.", author="alice", path="src/app.py", line=50)
    rig.clock.advance(minutes=3)
    await rig.poll()
    assert len(rig.sent()) == 2
    assert '3. src/app.py:50 (@alice): "And this one."' in rig.sent()[1]


@pytest.mark.anyio
async def test_unaddressed_review_feedback_escalates_after_the_configured_duration(rig: Rig) -> None:
    await rig.add_session()
    pr = rig.open_pr()
    rig.scm.add_review(pr, "alice", ReviewState.CHANGES_REQUESTED, body="Please fix.")
    rig.scm.add_pending_comment(pr, "Off by one.", author="alice", path="a.py", line=1)
    await rig.poll()
    assert len(rig.sent()) == 1
    rig.clock.advance(minutes=29)
    await rig.poll()
    assert rig.notifier("urgent").events == []
    rig.clock.advance(minutes=2)  # the default escalateAfter of changes-requested is 30m
    await rig.poll()
    [escalation] = rig.notifier("urgent").events
    assert escalation.type is EventType.REACTION_ESCALATED
    assert "reaction 'changes-requested' escalated to you after 1 attempt(s) over 31 min" in escalation.message
    assert len(rig.sent()) == 1
    rig.clock.advance(minutes=10)
    await rig.poll()
    assert len(rig.notifier("urgent").events) == 1


@pytest.mark.anyio
async def test_bot_comments_and_conflicts_reach_the_agent(rig: Rig) -> None:
    await rig.add_session()
    pr = rig.open_pr()
    rig.scm.add_automated_comment(pr, "Possible null dereference", bot_name="cursor[bot]", path="a.py", line=7)
    rig.scm.set_conflicts(pr)
    report = await rig.lifecycle.check("app-1")  # a webhook-style check reads the threads at once
    sent = rig.sent()
    assert any('a.py:7 (@cursor[bot]): "Possible null dereference"' in m for m in sent)
    conflict = next(m for m in sent if "merge conflicts" in m)
    assert "branch feat/issue-1 has merge conflicts with main. Rebase onto origin/main" in conflict
    assert {r.key for r in report.reactions} == {"bugbot-comments", "merge-conflicts"}


@pytest.mark.anyio
async def test_disabled_conflict_reaction_announces_conflicts_once(tmp_path: Path) -> None:
    for rig in make_rig(tmp_path, reactions={"merge-conflicts": {"auto": False}}):
        await rig.add_session()
        pr = rig.open_pr()
        rig.scm.set_conflicts(pr)
        await rig.poll()
        await rig.poll()
        assert rig.sent() == []
        [event] = rig.notifier("warning").events
        assert event.type is EventType.MERGE_CONFLICTS
        assert event.message == "app-1: PR #1 has merge conflicts with main: " + pr.url


@pytest.mark.anyio
async def test_approved_and_green_notifies_ready_to_merge(rig: Rig) -> None:
    await rig.add_session()
    pr = rig.open_pr(review_required=True)
    rig.scm.set_checks(pr, [CICheck(name="ci", status=CheckStatus.PASSED)])
    await rig.poll()
    assert rig.session().status is SessionStatus.REVIEW_PENDING
    await rig.scm.approve(pr)
    rig.clock.advance(seconds=30)
    await rig.poll()
    assert rig.session().status is SessionStatus.MERGEABLE
    [ready] = rig.notifier("action").events
    assert ready.type is EventType.REACTION_TRIGGERED
    assert ready.message == f"app-1: PR #1 is approved and green — ready to merge: {pr.url}"
    assert rig.scm.pr(pr).state is PRState.OPEN  # notify only: nothing merged
    await rig.poll()
    assert len(rig.notifier("action").events) == 1


# =========================================================================== auto-merge and clean-up


@pytest.mark.anyio
async def test_auto_merge_merges_then_cleans_up(tmp_path: Path) -> None:
    extra = {
        "reactions": {"approved-and-green": {"auto": True, "action": "auto-merge"}},
        "lifecycle": {"mergeCleanupIdleGraceMs": 0},
    }
    for rig in make_rig(tmp_path, **extra):
        await rig.add_session()
        pr = rig.open_pr()
        rig.scm.set_checks(pr, [CICheck(name="ci", status=CheckStatus.PASSED)])
        await rig.scm.approve(pr)
        rig.set_activity("app-1", ActivityState.READY)
        report = await rig.poll()
        assert rig.scm.pr(pr).state is PRState.MERGED
        assert rig.scm.calls["get_mergeability"] == 1
        [merged] = rig.notifier("action").events
        assert merged.type is EventType.MERGE_COMPLETED
        assert merged.message == f"app-1: PR #1 was auto-merged (squash) — {pr.url}"
        session = rig.session()
        assert session.status is SessionStatus.CLEANUP
        assert [t.new for t in report.transitions] == ["mergeable", "merged", "cleanup"]
        assert rig.runtime.session("app-1").destroyed


@pytest.mark.anyio
async def test_auto_merge_refusal_tells_the_human_why(tmp_path: Path) -> None:
    for rig in make_rig(tmp_path, reactions={"approved-and-green": {"auto": True, "action": "auto-merge"}}):
        await rig.add_session()
        pr = rig.open_pr()
        rig.scm.set_checks(pr, [CICheck(name="ci", status=CheckStatus.PASSED)])
        rig.scm.fail_on("merge_pr", SCMError("Base branch was modified. Review and try the merge again."))
        await rig.poll()
        assert rig.session().status is SessionStatus.MERGEABLE
        [refused] = rig.notifier("action").events
        assert refused.message == (
            "app-1: auto-merge of PR #1 refused: Base branch was modified. Review and try the merge again. — " + pr.url
        )
        await rig.poll()  # same head commit: not retried
        assert rig.scm.calls["merge_pr"] == 1


@pytest.mark.anyio
async def test_auto_merge_needs_passing_ci(tmp_path: Path) -> None:
    for rig in make_rig(tmp_path, reactions={"approved-and-green": {"auto": True, "action": "auto-merge"}}):
        await rig.add_session()
        rig.open_pr()  # no CI at all: mergeable status, but auto-merge wants passing CI
        await rig.poll()
        assert rig.scm.calls["merge_pr"] == 0
        assert "refused: CI is none" in rig.notifier("action").messages[0]


@pytest.mark.anyio
async def test_cleanup_waits_for_a_busy_agent_until_the_grace_period_ends(rig: Rig) -> None:
    await rig.add_session()
    pr = rig.open_pr()
    await rig.poll()
    rig.scm.set_state(pr, PRState.MERGED)
    rig.set_activity("app-1", ActivityState.ACTIVE)
    report = await rig.poll()
    session = rig.session()
    assert session.status is SessionStatus.MERGED
    assert session.metadata["mergedPendingCleanupSince"] == T0.isoformat()
    assert report.cleanups == [{"session_id": "app-1", "result": "deferred", "detail": "the agent is busy"}]
    [done] = [e for e in rig.notifier("action").events if e.type is EventType.MERGE_COMPLETED]
    assert done.message == "app-1: mergeable → merged — PR #1: merged"

    rig.clock.advance(seconds=30)
    rig.set_activity("app-1", ActivityState.ACTIVE)
    await rig.poll()
    assert rig.session().status is SessionStatus.MERGED

    rig.clock.advance(seconds=31)  # the 60 s grace has passed: cleaned up although still busy
    rig.set_activity("app-1", ActivityState.ACTIVE)
    report = await rig.poll()
    assert rig.session().status is SessionStatus.CLEANUP
    assert report.cleanups[-1]["result"] == "cleaned"
    assert rig.runtime.session("app-1").destroyed


# =========================================================================== summary, other processes


@pytest.mark.anyio
async def test_all_complete_is_told_once_and_again_after_new_sessions(rig: Rig) -> None:
    await rig.add_session("app-1")
    await rig.add_session("app-2", branch="feat/issue-2")
    await rig.poll()
    rig.runtime.kill("app-1")
    rig.runtime.kill("app-2")
    await rig.poll()
    summaries = [e for e in rig.notifier("info").events if e.type is EventType.SUMMARY_ALL_COMPLETE]
    assert len(summaries) == 1
    assert summaries[0].message.startswith("app: all 2 session(s) are done (2 killed) — 0 PR(s) merged; total cost $")
    await rig.poll()
    restarted = LifecycleManager(rig.config, rig.manager.registry, rig.store, rig.manager, clock=rig.clock)
    await restarted.poll_once()
    assert len(rig.events(EventType.SUMMARY_ALL_COMPLETE)) == 1

    await rig.add_session("app-3", branch="feat/issue-3")
    await rig.poll()
    rig.runtime.kill("app-3")
    await rig.poll()
    events = rig.events(EventType.SUMMARY_ALL_COMPLETE)
    assert len(events) == 2
    assert events[1][0].message.startswith("app: all 1 session(s) are done (1 killed)")


@pytest.mark.anyio
async def test_a_session_ended_by_another_process_is_reported_once(rig: Rig) -> None:
    await rig.add_session("app-1")
    await rig.add_session("app-2", branch="feat/issue-2")
    await rig.poll()
    # `ao status` found app-1's runtime gone; the user killed app-2 by hand.
    rig.runtime.kill("app-1")
    await rig.manager.list_sessions()
    await rig.manager.kill("app-2")
    await rig.poll()
    urgent = rig.notifier("urgent").messages
    assert len(urgent) == 1
    assert urgent[0].startswith("app-1: the agent is gone — runtime session is gone (liveness probe)")
    assert rig.events(EventType.SESSION_KILLED)  # both recorded
    assert {e.session_id for e, _ in rig.events(EventType.SESSION_KILLED)} == {"app-1", "app-2"}
    await rig.poll()
    assert len(rig.notifier("urgent").messages) == 1


# =========================================================================== isolation and the loop


@pytest.mark.anyio
@pytest.mark.timeout(30)
async def test_a_hanging_notifier_delays_the_poll_by_at_most_its_timeout(tmp_path: Path) -> None:
    extra = {
        "notifiers": {"hang": {"plugin": "fake", "hangSeconds": 60}, "boom": {"plugin": "fake", "failWith": "503"}},
        "notificationRouting": {"urgent": ["hang", "boom", "urgent"]},
    }
    for rig in make_rig(tmp_path, **extra):
        rig.lifecycle.dispatcher.timeout_s = 0.5
        await rig.add_session()
        rig.runtime.kill("app-1")
        started = time.monotonic()
        report = await rig.poll()
        assert time.monotonic() - started < 0.5 + 0.8
        assert len(rig.notifier("urgent").events) == 1
        [(_, results)] = rig.events(EventType.REACTION_TRIGGERED)
        by_name = {r.notifier: r for r in results}
        assert by_name["hang"].error == "timed out after 0.5s"
        assert by_name["boom"].error is not None
        assert "503" in by_name["boom"].error
        assert by_name["urgent"].ok
        # One notifier got it: the reaction counts as handled (the transition notification stays quiet).
        assert [(r.key, r.result) for r in report.reactions if r.key == "agent-exited"] == [
            ("agent-exited", "notified")
        ]


@pytest.mark.anyio
async def test_a_failing_scm_never_breaks_the_poll(rig: Rig) -> None:
    await rig.add_session()
    pr = rig.open_pr()
    await rig.poll()
    rig.scm.fail_on("get_pr_snapshots", RuntimeError("GraphQL exploded"))
    rig.scm.fail_on("get_pr_state", SCMError("502 Bad Gateway"))
    report = await rig.poll()
    assert any("GraphQL exploded" in e for e in report.errors)
    assert any("502 Bad Gateway" in e for e in report.errors)
    assert rig.session().status is SessionStatus.MERGEABLE  # unknown PR state: the status stays
    assert "PR #1: state unknown this poll" in (rig.session().status_evidence or "")
    assert pr.number == 1


@pytest.mark.anyio
async def test_a_rate_limited_scm_is_left_alone_until_its_reset(rig: Rig) -> None:
    await rig.add_session()
    await rig.add_session("app-2", branch="feat/issue-2", issue_id="2")  # no pull request: detect_pr is due
    rig.open_pr()
    await rig.poll()
    status = rig.session().status
    reset = rig.clock.now + timedelta(minutes=5)
    rig.scm.fail_on("get_pr_snapshots", RateLimitedError("api.github.com", reset, "GraphQL"))
    rig.scm.reset_calls()
    report = await rig.poll()
    assert any("rate limit exhausted" in e and "resets at" in e for e in report.errors), report.errors
    assert rig.scm.calls["get_pr_snapshots"] == 1
    assert rig.scm.calls["get_pr_state"] == 0, "no per-PR fallback against an exhausted budget"
    assert rig.session().status is status, "nothing is decided from missing data"

    rig.scm.reset_calls()
    rig.clock.advance(minutes=4, seconds=59)
    report = await rig.poll()
    assert rig.scm.total_calls() == 0, "paused until the reset: not one call"
    assert rig.session().status is status
    assert rig.session("app-2").status is SessionStatus.WORKING

    rig.scm.fail_on("get_pr_snapshots", None)
    rig.clock.advance(seconds=2)
    report = await rig.poll()
    assert rig.scm.calls["get_pr_snapshots"] == 1, "calls resume after the reset"
    assert not report.errors, report.errors


@pytest.mark.anyio
async def test_poll_once_is_skipped_while_a_poll_runs(rig: Rig) -> None:
    await rig.add_session()
    rig.agent.fail_on("get_activity_state", None)
    gate = anyio.Event()
    original = rig.agent.get_activity_state

    async def slow(session: Session, ready_threshold_ms: int) -> ActivityDetection | None:
        await gate.wait()
        return await original(session, ready_threshold_ms)

    rig.agent.get_activity_state = slow  # type: ignore[method-assign]  # hold the first poll open
    async with anyio.create_task_group() as tg:
        tg.start_soon(rig.lifecycle.poll_once)
        await anyio.sleep(0.05)
        second = await rig.lifecycle.poll_once()
        assert second.skipped
        gate.set()
    assert rig.lifecycle.polls == 1


@pytest.fixture
def fast_rig(tmp_path: Path) -> Iterator[Rig]:
    yield from make_rig(tmp_path, pollIntervalMs=1000)


@pytest.mark.anyio
@pytest.mark.timeout(30)
async def test_run_keeps_polling_after_a_failed_poll_and_stops_gracefully(fast_rig: Rig) -> None:
    rig = fast_rig
    await rig.add_session()
    calls = 0
    original = rig.lifecycle._poll

    async def flaky(only: set[str] | None, *, forced: bool) -> PollReport:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("the store blinked")
        return await original(only, forced=forced)

    rig.lifecycle._poll = flaky  # type: ignore[method-assign]  # inject one failing poll
    stop = anyio.Event()
    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(rig.lifecycle.run, stop)
            await wait_until(lambda: rig.lifecycle.polls >= 1, within=15)
            stop.set()
    assert calls == 2
    assert rig.lifecycle.last_error is None
    assert rig.lifecycle.last_report is not None


@pytest.mark.anyio
@pytest.mark.timeout(30)
async def test_stop_gives_a_hanging_poll_a_bounded_grace(fast_rig: Rig) -> None:
    rig = fast_rig
    rig.lifecycle.shutdown_grace_s = 0.3
    rig.lifecycle.probe_timeout_s = 60
    await rig.add_session()
    entered = anyio.Event()

    async def hang(session: Session, ready_threshold_ms: int) -> ActivityDetection | None:
        entered.set()
        await anyio.sleep(60)
        return None

    rig.agent.get_activity_state = hang  # type: ignore[method-assign]  # a probe that never answers
    stop = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(rig.lifecycle.run, stop)
        await entered.wait()
        started = time.monotonic()
        stop.set()
    assert time.monotonic() - started < 0.3 + 0.7
    assert rig.lifecycle.polls == 0


@pytest.mark.anyio
async def test_request_check_runs_the_named_session_at_once(fast_rig: Rig) -> None:
    rig = fast_rig
    await rig.add_session()
    pr = rig.open_pr()
    await rig.poll()
    rig.scm.add_pending_comment(pr, "Please rename.", path="x.py", line=1)
    stop = anyio.Event()
    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(rig.lifecycle.run, stop)
            await wait_until(lambda: rig.lifecycle.polls >= 2, within=15)
            rig.lifecycle.request_check(["app-1"])
            await wait_until(lambda: bool(rig.sent()), within=15)
            stop.set()
    assert 'x.py:1 (@reviewer): "Please rename."' in rig.sent()[0]
    session = rig.session()
    assert session.status is SessionStatus.PR_OPEN  # an unresolved thread blocks "mergeable"
    assert "not mergeable: 1 unresolved review thread(s)" in (session.status_evidence or "")


# =========================================================================== review-check


@pytest.mark.anyio
async def test_review_check_dry_run_then_send(rig: Rig) -> None:
    await rig.add_session()
    await rig.add_session("app-2", branch="feat/issue-2")
    pr = rig.open_pr()
    rig.open_pr("feat/issue-2")
    await rig.poll()
    rig.scm.add_pending_comment(pr, "Split this function.", author="carol", path="lib.py", line=10)
    rig.scm.set_review_decision(pr, ReviewDecision.CHANGES_REQUESTED)

    dry = {r.session_id: r for r in await rig.lifecycle.review_check("app", dry_run=True)}
    assert dry["app-1"].result == "dry run"
    assert dry["app-1"].message is not None
    assert 'lib.py:10 (@carol): "Split this function."' in dry["app-1"].message
    assert dry["app-2"].result == "nothing to address"
    assert rig.sent() == []

    sent = {r.session_id: r for r in await rig.lifecycle.review_check("app")}
    assert sent["app-1"].result == "sent"
    assert len(rig.sent()) == 1
    again = {r.session_id: r for r in await rig.lifecycle.review_check("app")}
    assert again["app-1"].result == "already sent"
    # The daemon does not send the same feedback again either.
    rig.clock.advance(minutes=5)
    await rig.poll()
    assert len(rig.sent()) == 1
