"""The pure status decision: one table row per precedence rule, each checking the status and the evidence."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ao_core.lifecycle import DETECTING_MAX_ATTEMPTS, Observation, decide
from ao_core.models import (
    ActivityDetection,
    ActivityState,
    CheckStatus,
    CICheck,
    CIStatus,
    PRInfo,
    PRSnapshot,
    PRState,
    ReviewDecision,
    SessionStatus,
)

NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
PR = PRInfo(number=12, url="https://scm.test/acme/app/pull/12", owner="acme", repo="app", branch="feat/x")


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def act(state: ActivityState, seconds_ago: float | None = 4, evidence: str | None = None) -> ActivityDetection:
    return ActivityDetection(
        state=state, timestamp=None if seconds_ago is None else ago(seconds_ago), evidence=evidence
    )


def snap(
    ci: CIStatus = CIStatus.PASSING,
    review: ReviewDecision = ReviewDecision.NONE,
    *,
    state: PRState = PRState.OPEN,
    mergeable: bool | None = None,
    conflicts: bool = False,
    draft: bool = False,
    checks: list[CICheck] | None = None,
    blockers: list[str] | None = None,
) -> PRSnapshot:
    green = ci in (CIStatus.PASSING, CIStatus.NONE)
    ok = review in (ReviewDecision.APPROVED, ReviewDecision.NONE)
    return PRSnapshot(
        state=state,
        ci_status=ci,
        review_decision=review,
        mergeable=(green and ok and not conflicts and not draft) if mergeable is None else mergeable,
        has_conflicts=conflicts,
        is_draft=draft,
        head_sha="abc123",
        ci_checks=checks,
        blockers=blockers or [],
    )


def obs(**fields: Any) -> Observation:
    base: dict[str, Any] = {
        "session_id": "app-1",
        "status": SessionStatus.WORKING,
        "now": NOW,
        "created_at": ago(3600),
        "runtime_alive": True,
        "activity": act(ActivityState.ACTIVE),
        "activity_source": "native",
        "process_running": True,
    }
    base.update(fields)
    if "snapshot" in fields and "pr_state" not in fields and fields["snapshot"] is not None:
        base["pr_state"] = fields["snapshot"].state
    if "snapshot" in fields and "pr" not in fields:
        base["pr"] = PR
    return Observation(**base)


LINT_FAILED = [
    CICheck(name="lint", status=CheckStatus.FAILED, conclusion="failure", url="https://ci.test/1"),
    CICheck(name="tests", status=CheckStatus.PASSED, conclusion="success"),
]

# (id, observation, expected status, a part of the evidence)
TABLE: list[tuple[str, Observation, SessionStatus, str]] = [
    # 1. runtime dead → killed, whatever else is true
    ("runtime_dead", obs(runtime_alive=False), SessionStatus.KILLED, "runtime session is gone"),
    (
        "runtime_dead_beats_input_and_merge",
        obs(
            runtime_alive=False,
            activity=act(ActivityState.WAITING_INPUT),
            snapshot=snap(state=PRState.MERGED),
        ),
        SessionStatus.KILLED,
        "runtime session is gone; PR #12 merged",
    ),
    # 2. waiting for input → needs_input
    (
        "waiting_input",
        obs(activity=act(ActivityState.WAITING_INPUT, 4, "permission prompt")),
        SessionStatus.NEEDS_INPUT,
        "runtime alive; agent: waiting_input 4s ago (permission prompt)",
    ),
    (
        "waiting_input_beats_merged_pr",
        obs(activity=act(ActivityState.WAITING_INPUT), snapshot=snap(state=PRState.MERGED)),
        SessionStatus.NEEDS_INPUT,
        "waiting_input",
    ),
    (
        "waiting_input_on_screen",
        obs(activity=act(ActivityState.WAITING_INPUT, None, "terminal screen"), activity_source="terminal"),
        SessionStatus.NEEDS_INPUT,
        "terminal: waiting_input (terminal screen)",
    ),
    # 3. PR merged → merged; closed → idle
    ("pr_merged", obs(snapshot=snap(state=PRState.MERGED)), SessionStatus.MERGED, "PR #12: merged"),
    (
        "pr_merged_without_snapshot",
        obs(pr=PR, snapshot=None, pr_state=PRState.MERGED),
        SessionStatus.MERGED,
        "PR #12: merged",
    ),
    ("pr_closed", obs(snapshot=snap(state=PRState.CLOSED)), SessionStatus.IDLE, "PR #12: closed without merging"),
    # 4. agent exited with a live runtime
    (
        "agent_exited",
        obs(activity=act(ActivityState.EXITED), process_running=False),
        SessionStatus.KILLED,
        "agent exited; runtime alive",
    ),
    (
        "agent_exited_process_unknown",
        obs(activity=act(ActivityState.EXITED), process_running=None, snapshot=snap(CIStatus.FAILING)),
        SessionStatus.KILLED,
        "agent exited; runtime alive; agent: exited 4s ago; PR #12 open",
    ),
    (
        "agent_exited_while_starting",
        obs(
            status=SessionStatus.SPAWNING,
            created_at=ago(10),
            activity=act(ActivityState.EXITED),
            process_running=False,
        ),
        SessionStatus.SPAWNING,
        "agent not started yet (10s since spawn)",
    ),
    (
        "agent_exited_but_process_runs",
        obs(activity=act(ActivityState.EXITED), process_running=True),
        SessionStatus.DETECTING,
        "but the agent process is still running (attempt 1 of 3)",
    ),
    # 5. open pull request
    (
        "ci_failing",
        obs(snapshot=snap(CIStatus.FAILING, checks=LINT_FAILED)),
        SessionStatus.CI_FAILED,
        "PR #12: CI failing (lint: failure); review: none",
    ),
    (
        "ci_failing_named_by_observation",
        obs(snapshot=snap(CIStatus.FAILING), failing_checks=("build: timed_out",)),
        SessionStatus.CI_FAILED,
        "CI failing (build: timed_out)",
    ),
    (
        "ci_failing_beats_changes_requested",
        obs(snapshot=snap(CIStatus.FAILING, ReviewDecision.CHANGES_REQUESTED)),
        SessionStatus.CI_FAILED,
        "review: changes_requested",
    ),
    (
        "changes_requested",
        obs(snapshot=snap(CIStatus.PASSING, ReviewDecision.CHANGES_REQUESTED), unresolved_threads=2),
        SessionStatus.CHANGES_REQUESTED,
        "PR #12: changes requested in review; 2 unresolved review thread(s)",
    ),
    (
        "mergeable_approved",
        obs(snapshot=snap(CIStatus.PASSING, ReviewDecision.APPROVED)),
        SessionStatus.MERGEABLE,
        "PR #12: approved, CI passing, no conflicts",
    ),
    (
        "mergeable_no_review_no_ci",
        obs(snapshot=snap(CIStatus.NONE, ReviewDecision.NONE)),
        SessionStatus.MERGEABLE,
        "PR #12: no review required, no CI checks, no conflicts",
    ),
    (
        "approved_with_conflicts",
        obs(snapshot=snap(CIStatus.PASSING, ReviewDecision.APPROVED, conflicts=True, blockers=["Merge conflicts"])),
        SessionStatus.APPROVED,
        "PR #12: approved; CI passing (not mergeable: Merge conflicts)",
    ),
    (
        "approved_with_unresolved_threads",
        obs(snapshot=snap(CIStatus.PASSING, ReviewDecision.APPROVED), unresolved_threads=1),
        SessionStatus.APPROVED,
        "not mergeable: 1 unresolved review thread(s)",
    ),
    (
        "approved_ci_pending",
        obs(snapshot=snap(CIStatus.PENDING, ReviewDecision.APPROVED)),
        SessionStatus.APPROVED,
        "approved; CI pending",
    ),
    (
        "review_pending",
        obs(snapshot=snap(CIStatus.PASSING, ReviewDecision.PENDING)),
        SessionStatus.REVIEW_PENDING,
        "PR #12: review pending; CI passing",
    ),
    (
        "pr_open",
        obs(snapshot=snap(CIStatus.PENDING, ReviewDecision.NONE)),
        SessionStatus.PR_OPEN,
        "PR #12: open; CI pending",
    ),
    (
        "pr_open_beats_idle",
        obs(
            snapshot=snap(CIStatus.PENDING),
            activity=act(ActivityState.IDLE, 3600),
            idle_since=ago(3600),
        ),
        SessionStatus.PR_OPEN,
        "PR #12: open",
    ),
    (
        "pr_open_without_fresh_data_keeps_status",
        obs(status=SessionStatus.REVIEW_PENDING, pr=PR, pr_state=PRState.OPEN, snapshot=None),
        SessionStatus.REVIEW_PENDING,
        "PR #12: open; no fresh details this poll",
    ),
    (
        "pr_state_unknown_keeps_status",
        obs(status=SessionStatus.CI_FAILED, pr=PR, pr_state=None, snapshot=None),
        SessionStatus.CI_FAILED,
        "PR #12: state unknown this poll",
    ),
    # 6. idle too long → stuck
    (
        "idle_too_long",
        obs(activity=act(ActivityState.IDLE, 660), idle_since=ago(660)),
        SessionStatus.STUCK,
        "idle for 11m, over the 10m threshold",
    ),
    (
        "blocked_too_long",
        obs(activity=act(ActivityState.BLOCKED, 900), idle_since=ago(900)),
        SessionStatus.STUCK,
        "idle for 15m (blocked)",
    ),
    (
        "idle_within_threshold",
        obs(activity=act(ActivityState.IDLE, 60), idle_since=ago(60)),
        SessionStatus.WORKING,
        "agent: idle 60s ago",
    ),
    (
        "spawn_silent",
        obs(status=SessionStatus.SPAWNING, created_at=ago(900), activity=None),
        SessionStatus.STUCK,
        "no sign of the agent 15m after spawning",
    ),
    # 7. probes failed → detecting → stuck
    (
        "runtime_probe_failed",
        obs(runtime_alive=None, activity=None, activity_probe_failed=True),
        SessionStatus.DETECTING,
        "runtime probe failed; activity probe failed (attempt 1 of 3)",
    ),
    (
        "probe_failed_third_time",
        obs(
            status=SessionStatus.DETECTING,
            runtime_alive=None,
            activity=None,
            detecting_attempts=DETECTING_MAX_ATTEMPTS - 1,
            detecting_since=ago(60),
        ),
        SessionStatus.STUCK,
        "undecided for 3 polls",
    ),
    (
        "probe_failed_for_five_minutes",
        obs(
            status=SessionStatus.DETECTING,
            activity=None,
            activity_probe_failed=True,
            detecting_attempts=1,
            detecting_since=ago(301),
        ),
        SessionStatus.STUCK,
        "undecided for 2 polls since 5m ago",
    ),
    (
        "probe_failed_keeps_needs_input",
        obs(status=SessionStatus.NEEDS_INPUT, runtime_alive=None, activity=None),
        SessionStatus.NEEDS_INPUT,
        "keeping needs_input",
    ),
    (
        "runtime_probe_failed_but_agent_active",
        obs(status=SessionStatus.DETECTING, runtime_alive=None),
        SessionStatus.WORKING,
        "runtime probe failed; agent: active 4s ago",
    ),
    # 8. signs of life → working
    ("spawning_active", obs(status=SessionStatus.SPAWNING), SessionStatus.WORKING, "runtime alive; agent: active"),
    (
        "stuck_ready",
        obs(status=SessionStatus.STUCK, activity=act(ActivityState.READY, 2)),
        SessionStatus.WORKING,
        "agent: ready 2s ago",
    ),
    (
        "needs_input_answered",
        obs(status=SessionStatus.NEEDS_INPUT, activity=act(ActivityState.ACTIVE, None), activity_source="terminal"),
        SessionStatus.WORKING,
        "terminal: active",
    ),
    (
        "detecting_idle_evidence",
        obs(status=SessionStatus.DETECTING, activity=act(ActivityState.IDLE, 30), idle_since=ago(30)),
        SessionStatus.WORKING,
        "agent: idle 30s ago",
    ),
    # 9. nothing new → unchanged
    (
        "stale_activity_does_not_wake",
        obs(status=SessionStatus.SPAWNING, created_at=ago(120), activity=act(ActivityState.ACTIVE, 600)),
        SessionStatus.SPAWNING,
        "agent: active 10m ago",
    ),
    ("working_stays", obs(), SessionStatus.WORKING, "runtime alive; agent: active 4s ago"),
    (
        "pr_status_without_pr",
        obs(status=SessionStatus.REVIEW_PENDING, pr=None),
        SessionStatus.WORKING,
        "runtime alive",
    ),
]


@pytest.mark.parametrize(
    ("observation", "status", "evidence"),
    [pytest.param(o, s, e, id=name) for name, o, s, e in TABLE],
)
def test_decide_table(observation: Observation, status: SessionStatus, evidence: str) -> None:
    decision = decide(observation)
    assert decision.status is status, decision.evidence
    assert evidence in decision.evidence


def test_every_status_a_poll_can_reach_has_a_row() -> None:
    reached = {row[2] for row in TABLE}
    decidable = set(SessionStatus) - {
        SessionStatus.CLEANUP,  # set by the clean-up after a merge (manager.kill), not by decide()
        SessionStatus.ERRORED,  # set by the session manager on a failed restore/spawn
        SessionStatus.DONE,
        SessionStatus.TERMINATED,
    }
    assert decidable <= reached


def test_decide_is_pure_and_deterministic() -> None:
    observation = obs(snapshot=snap(CIStatus.FAILING, checks=LINT_FAILED))
    assert decide(observation) == decide(observation)


def test_detecting_counters_are_returned_for_the_next_poll() -> None:
    first = decide(obs(runtime_alive=None, activity=None))
    assert (first.status, first.detecting_attempts, first.detecting_since) == (SessionStatus.DETECTING, 1, NOW)
    later = NOW + timedelta(seconds=30)
    second = decide(
        obs(
            status=SessionStatus.DETECTING,
            now=later,
            runtime_alive=None,
            activity=None,
            detecting_attempts=first.detecting_attempts,
            detecting_since=first.detecting_since,
        )
    )
    assert (second.status, second.detecting_attempts, second.detecting_since) == (SessionStatus.DETECTING, 2, NOW)
    recovered = decide(obs(status=SessionStatus.DETECTING, detecting_attempts=2, detecting_since=NOW))
    assert (recovered.status, recovered.detecting_attempts, recovered.detecting_since) == (
        SessionStatus.WORKING,
        0,
        None,
    )


def test_structured_evidence_names_the_rule_and_the_pr() -> None:
    decision = decide(obs(snapshot=snap(CIStatus.FAILING, checks=LINT_FAILED), failing_checks=("lint: failure",)))
    assert decision.rule == "ci_failing"
    assert decision.details["rule"] == "ci_failing"
    assert decision.details["pr"]["number"] == 12
    assert decision.details["pr"]["ci"] == "failing"
    assert decision.details["pr"]["failing_checks"] == ["lint: failure"]
    assert decision.details["activity"]["source"] == "native"


def test_custom_stuck_threshold() -> None:
    observation = obs(activity=act(ActivityState.IDLE, 200), idle_since=ago(200), stuck_threshold=timedelta(minutes=3))
    assert decide(observation).status is SessionStatus.STUCK
    assert decide(replace(observation, stuck_threshold=timedelta(minutes=4))).status is SessionStatus.WORKING
