"""The pure status decision of the lifecycle manager: an observation in, a status and its evidence out.

Nothing here does I/O or reads a clock: everything the decision needs, ``now`` included, is in the
:class:`Observation`. The precedence (first rule that applies wins):

1. the runtime session is gone → ``killed``
2. the agent waits for input (a permission prompt, a question) → ``needs_input``
3. the pull request was merged → ``merged``; closed without merging → ``idle``
4. the agent process exited while its runtime lives → ``killed`` (see below); a process probe that says
   it still runs contradicts that → ``detecting``
5. the pull request is open: CI failing → ``ci_failed``; changes requested → ``changes_requested``;
   approved (or no review required), CI green, no conflicts, no unresolved threads → ``mergeable``;
   approved → ``approved``; review pending → ``review_pending``; otherwise → ``pr_open``
6. positive idle evidence older than the stuck threshold (or no sign of the agent long after spawning) →
   ``stuck``
7. a probe failed and nothing else is known → ``detecting``; after 3 such polls or 5 minutes → ``stuck``
8. ``spawning``, ``stuck``, ``needs_input`` or ``detecting`` with valid activity → ``working``
9. otherwise the status stays.

Why an exited agent is ``killed`` rather than ``detecting``: the agent process is the session's worker;
once it is gone nothing in the session reacts to CI failures or reviews any more, and typing a message
into the runtime would reach a bare shell. Calling it ``killed`` is the truth the human needs (the
``agent-exited`` reaction tells them, with the restore command). A reading taken while the agent is still
starting is not trusted (a ``spawning`` session gets a grace period), and a process probe that says the
agent still runs makes it ``detecting``, which is bounded: it becomes ``stuck`` after three polls or five
minutes, so no session stays undecided for ever.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from ao_core.models import (
    ActivityDetection,
    ActivityState,
    CheckStatus,
    CIStatus,
    PRInfo,
    PRSnapshot,
    PRState,
    ReviewDecision,
    SessionStatus,
)

__all__ = [
    "DETECTING_MAX_ATTEMPTS",
    "DETECTING_MAX_DURATION",
    "SPAWN_GRACE",
    "STALE_ACTIVITY",
    "ActivitySource",
    "Decision",
    "Observation",
    "activity_is_valid",
    "decide",
    "reading_is_valid",
]

ActivitySource = Literal["native", "terminal"]
"""Where an activity reading came from: the agent's own records, or its terminal screen."""

DETECTING_MAX_ATTEMPTS = 3
"""Polls in a row with failed probes after which a session is declared stuck."""
DETECTING_MAX_DURATION = timedelta(minutes=5)
"""How long a session may stay ``detecting`` before it is declared stuck."""
STALE_ACTIVITY = timedelta(minutes=5)
"""An ``active``/``ready`` reading older than this is no evidence of life."""
SPAWN_GRACE = timedelta(seconds=60)
"""How long after spawning an ``exited`` reading is not trusted (the agent may not have started yet)."""

_PR_STATUSES = frozenset(
    {
        SessionStatus.PR_OPEN,
        SessionStatus.CI_FAILED,
        SessionStatus.REVIEW_PENDING,
        SessionStatus.CHANGES_REQUESTED,
        SessionStatus.APPROVED,
        SessionStatus.MERGEABLE,
    }
)
_WAKE_STATUSES = frozenset(
    {SessionStatus.SPAWNING, SessionStatus.STUCK, SessionStatus.NEEDS_INPUT, SessionStatus.DETECTING}
)
_SOURCE_LABEL = {"native": "agent", "terminal": "terminal"}


@dataclass(frozen=True)
class Observation:
    """Everything known about one session at one poll; the only input of :func:`decide`.

    Attributes:
        session_id: The session.
        status: Its current status.
        now: The time of the poll.
        created_at: When the session was spawned.
        runtime_alive: Whether the runtime session exists; ``None`` when the probe failed.
        activity: The agent's activity reading, ``None`` when there was none.
        activity_source: Where ``activity`` came from.
        activity_probe_failed: The activity probe raised or timed out.
        process_running: Whether the agent process runs; ``None`` when unknown.
        pr: The session's pull request, if it has one.
        snapshot: Fresh data about it from this poll (``None``: none could be read).
        pr_state: Its state (from the snapshot, or from a separate state query).
        failing_checks: Names of failing CI checks with their conclusion, when known.
        unresolved_threads: Unresolved human review threads (``None``: not known).
        unresolved_bot_threads: Unresolved bot review threads (``None``: not known).
        idle_since: Since when the agent has positively been idle (``None``: it is not, or unknown).
        stuck_threshold: Idle longer than this is ``stuck``.
        detecting_attempts: Polls in a row that ended in ``detecting`` so far.
        detecting_since: When the current run of ``detecting`` began.
    """

    session_id: str
    status: SessionStatus
    now: datetime
    created_at: datetime
    runtime_alive: bool | None = True
    activity: ActivityDetection | None = None
    activity_source: ActivitySource | None = None
    activity_probe_failed: bool = False
    process_running: bool | None = None
    pr: PRInfo | None = None
    snapshot: PRSnapshot | None = None
    pr_state: PRState | None = None
    failing_checks: tuple[str, ...] = ()
    unresolved_threads: int | None = None
    unresolved_bot_threads: int | None = None
    idle_since: datetime | None = None
    stuck_threshold: timedelta = timedelta(minutes=10)
    detecting_attempts: int = 0
    detecting_since: datetime | None = None


@dataclass(frozen=True)
class Decision:
    """A session's new status with the evidence for it.

    Attributes:
        status: The decided status (may equal the current one).
        evidence: Why, for humans (``ao status -v``, the transitions table).
        rule: Which precedence rule decided (``runtime_dead``, ``ci_failing``, ...).
        details: The same evidence as structured data.
        detecting_attempts: The count to remember for the next poll (0 unless a probe failed).
        detecting_since: When the current run of failed probes began (``None`` unless one failed).
    """

    status: SessionStatus
    evidence: str
    rule: str
    details: dict[str, Any] = field(default_factory=dict)
    detecting_attempts: int = 0
    detecting_since: datetime | None = None


def reading_is_valid(activity: ActivityDetection | None, source: ActivitySource | None, now: datetime) -> bool:
    """Whether an activity reading is evidence about the agent.

    ``waiting_input`` and ``exited`` always are; ``idle``/``blocked`` need a timestamp (or come from the
    screen, which is current); ``active``/``ready`` must not be older than :data:`STALE_ACTIVITY`.
    """
    if activity is None:
        return False
    state = activity.state
    if state in (ActivityState.WAITING_INPUT, ActivityState.EXITED):
        return True
    if state in (ActivityState.IDLE, ActivityState.BLOCKED):
        return activity.timestamp is not None or source == "terminal"
    if activity.timestamp is None:
        return True
    return now - activity.timestamp <= STALE_ACTIVITY


def activity_is_valid(obs: Observation) -> bool:
    """Whether the observation's activity reading is evidence about the agent (see :func:`reading_is_valid`)."""
    return reading_is_valid(obs.activity, obs.activity_source, obs.now)


def _age(now: datetime, then: datetime | None) -> str:
    if then is None:
        return ""
    return _duration(now - then)


def _duration(span: timedelta) -> str:
    seconds = max(0, int(span.total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"


def _activity_text(obs: Observation) -> str:
    activity = obs.activity
    if activity is None:
        return "activity probe failed" if obs.activity_probe_failed else "no activity reading"
    label = _SOURCE_LABEL.get(obs.activity_source or "native", "agent")
    age = _age(obs.now, activity.timestamp)
    text = f"{label}: {activity.state.value}" + (f" {age} ago" if age else "")
    if activity.evidence:
        text += f" ({activity.evidence})"
    return text


def _runtime_text(obs: Observation) -> str:
    if obs.runtime_alive is None:
        return "runtime probe failed"
    return "runtime alive" if obs.runtime_alive else "runtime session is gone"


def _pr_text(obs: Observation, headline: str) -> str:
    assert obs.pr is not None
    snap = obs.snapshot
    review = snap.review_decision.value if snap is not None else "unknown"
    parts = [f"PR #{obs.pr.number}: {headline}"]
    if snap is not None and "review" not in headline:
        parts.append(f"review: {review}")
    if obs.unresolved_threads:
        parts.append(f"{obs.unresolved_threads} unresolved review thread(s)")
    return "; ".join(parts)


def _failing_text(obs: Observation) -> str:
    if obs.failing_checks:
        return f"CI failing ({', '.join(obs.failing_checks)})"
    snap = obs.snapshot
    if snap is not None and snap.ci_checks:
        failed = [
            f"{c.name}: {c.conclusion or c.status.value}" for c in snap.ci_checks if c.status is CheckStatus.FAILED
        ]
        if failed:
            return f"CI failing ({', '.join(failed)})"
    return "CI failing"


def _details(obs: Observation, rule: str) -> dict[str, Any]:
    details: dict[str, Any] = {"rule": rule, "runtime_alive": obs.runtime_alive}
    if obs.activity is not None:
        details["activity"] = {
            "state": obs.activity.state.value,
            "source": obs.activity_source,
            "at": obs.activity.timestamp.isoformat() if obs.activity.timestamp else None,
            "evidence": obs.activity.evidence,
        }
    elif obs.activity_probe_failed:
        details["activity"] = {"probe_failed": True}
    if obs.process_running is not None:
        details["process_running"] = obs.process_running
    if obs.pr is not None:
        pr: dict[str, Any] = {"number": obs.pr.number, "url": obs.pr.url}
        if obs.pr_state is not None:
            pr["state"] = obs.pr_state.value
        if obs.snapshot is not None:
            pr.update(
                ci=obs.snapshot.ci_status.value,
                review=obs.snapshot.review_decision.value,
                mergeable=obs.snapshot.mergeable,
                conflicts=obs.snapshot.has_conflicts,
                draft=obs.snapshot.is_draft,
                head_sha=obs.snapshot.head_sha,
            )
        if obs.failing_checks:
            pr["failing_checks"] = list(obs.failing_checks)
        if obs.unresolved_threads is not None:
            pr["unresolved_threads"] = obs.unresolved_threads
        details["pr"] = pr
    if obs.idle_since is not None:
        details["idle_since"] = obs.idle_since.isoformat()
    return details


def _make(obs: Observation, status: SessionStatus, rule: str, evidence: str, **extra: Any) -> Decision:
    return Decision(status=status, evidence=evidence, rule=rule, details=_details(obs, rule), **extra)


def _pr_decision(obs: Observation) -> Decision | None:
    """Rule 5: the status of an open pull request, or ``None`` when there is no open pull request."""
    if obs.pr is None or obs.pr_state is not PRState.OPEN:
        return None
    snap = obs.snapshot
    if snap is None:
        # Open, but no details this poll: keep a PR status rather than guessing a new one.
        status = obs.status if obs.status in _PR_STATUSES else SessionStatus.PR_OPEN
        return _make(obs, status, "pr_no_data", f"PR #{obs.pr.number}: open; no fresh details this poll")
    ci = snap.ci_status
    review = snap.review_decision
    if ci is CIStatus.FAILING:
        return _make(obs, SessionStatus.CI_FAILED, "ci_failing", _pr_text(obs, _failing_text(obs)))
    if review is ReviewDecision.CHANGES_REQUESTED:
        evidence = _pr_text(obs, "changes requested in review")
        return _make(obs, SessionStatus.CHANGES_REQUESTED, "changes_requested", evidence)
    green = ci in (CIStatus.PASSING, CIStatus.NONE)
    review_ok = review in (ReviewDecision.APPROVED, ReviewDecision.NONE)
    threads_open = bool(obs.unresolved_threads)
    if snap.mergeable and green and review_ok and not snap.has_conflicts and not snap.is_draft and not threads_open:
        ci_text = "CI passing" if ci is CIStatus.PASSING else "no CI checks"
        review_text = "approved" if review is ReviewDecision.APPROVED else "no review required"
        return _make(
            obs, SessionStatus.MERGEABLE, "mergeable", f"PR #{obs.pr.number}: {review_text}, {ci_text}, no conflicts"
        )
    blockers = list(snap.blockers)
    if threads_open:
        blockers.append(f"{obs.unresolved_threads} unresolved review thread(s)")
    blocker_text = f" (not mergeable: {'; '.join(blockers)})" if blockers else ""
    if review is ReviewDecision.APPROVED:
        return _make(
            obs,
            SessionStatus.APPROVED,
            "approved",
            f"PR #{obs.pr.number}: approved; CI {ci.value}{blocker_text}",
        )
    if review is ReviewDecision.PENDING:
        return _make(
            obs, SessionStatus.REVIEW_PENDING, "review_pending", f"PR #{obs.pr.number}: review pending; CI {ci.value}"
        )
    return _make(obs, SessionStatus.PR_OPEN, "pr_open", f"PR #{obs.pr.number}: open; CI {ci.value}{blocker_text}")


def _probe_failed(obs: Observation) -> bool:
    return obs.runtime_alive is None or obs.activity_probe_failed


def _detecting(obs: Observation, reason: str) -> Decision:
    """Rule 7 (and contradicting probes): ``detecting``, escalated to ``stuck`` when it lasts."""
    if obs.status in (SessionStatus.STUCK, SessionStatus.NEEDS_INPUT):
        return _make(obs, obs.status, "probe_failed_keep", f"{reason}; keeping {obs.status.value}")
    attempts = obs.detecting_attempts + 1
    since = obs.detecting_since or obs.now
    if attempts >= DETECTING_MAX_ATTEMPTS or obs.now - since >= DETECTING_MAX_DURATION:
        return _make(
            obs,
            SessionStatus.STUCK,
            "detecting_escalated",
            f"{reason}; undecided for {attempts} polls since {_age(obs.now, since) or '0s'} ago",
        )
    return _make(
        obs,
        SessionStatus.DETECTING,
        "detecting",
        f"{reason} (attempt {attempts} of {DETECTING_MAX_ATTEMPTS})",
        detecting_attempts=attempts,
        detecting_since=since,
    )


def decide(obs: Observation) -> Decision:
    """Decide a session's status from one observation (pure: no I/O, no clock).

    Args:
        obs: What the poll saw.

    Returns:
        The status, the evidence for it, and the detecting counters to remember.
    """
    activity = obs.activity
    state = activity.state if activity is not None else None

    # 1. The runtime session is gone: authoritative, whatever the other probes say.
    if obs.runtime_alive is False:
        evidence = "runtime session is gone"
        if obs.pr is not None and obs.pr_state is not None:
            evidence += f"; PR #{obs.pr.number} {obs.pr_state.value}"
        return _make(obs, SessionStatus.KILLED, "runtime_dead", evidence)

    # 2. A question or permission prompt is waiting for a human.
    if state is ActivityState.WAITING_INPUT:
        return _make(obs, SessionStatus.NEEDS_INPUT, "waiting_input", f"{_runtime_text(obs)}; {_activity_text(obs)}")

    # 3. The pull request's fate is ground truth about the task.
    if obs.pr is not None and obs.pr_state is PRState.MERGED:
        return _make(obs, SessionStatus.MERGED, "pr_merged", f"PR #{obs.pr.number}: merged")
    if obs.pr is not None and obs.pr_state is PRState.CLOSED:
        return _make(obs, SessionStatus.IDLE, "pr_closed", f"PR #{obs.pr.number}: closed without merging")

    # 4. The agent process exited while its runtime lives.
    if state is ActivityState.EXITED:
        starting = obs.status is SessionStatus.SPAWNING and obs.now - obs.created_at < SPAWN_GRACE
        if obs.process_running is True:
            return _detecting(obs, f"{_activity_text(obs)}, but the agent process is still running")
        if not starting:
            evidence = f"agent exited; {_runtime_text(obs)}; {_activity_text(obs)}"
            if obs.pr is not None and obs.pr_state is not None:
                evidence += f"; PR #{obs.pr.number} {obs.pr_state.value}"
            return _make(obs, SessionStatus.KILLED, "agent_exited", evidence)
        return _make(
            obs, obs.status, "starting", f"agent not started yet ({_age(obs.now, obs.created_at)} since spawn)"
        )

    # 5. An open pull request decides.
    pr_decision = _pr_decision(obs)
    if pr_decision is not None:
        return pr_decision

    # 6. Idle for too long (or never showed a sign of life after spawning).
    if obs.idle_since is not None and obs.now - obs.idle_since > obs.stuck_threshold:
        blocked = " (blocked)" if state is ActivityState.BLOCKED else ""
        return _make(
            obs,
            SessionStatus.STUCK,
            "idle_too_long",
            f"idle for {_age(obs.now, obs.idle_since)}{blocked}, over the {_duration(obs.stuck_threshold)} threshold; "
            f"{_activity_text(obs)}",
        )
    valid = activity_is_valid(obs)
    if (
        obs.status is SessionStatus.SPAWNING
        and not valid
        and not _probe_failed(obs)
        and obs.now - obs.created_at > obs.stuck_threshold
    ):
        return _make(
            obs,
            SessionStatus.STUCK,
            "spawn_silent",
            f"no sign of the agent {_age(obs.now, obs.created_at)} after spawning; {_runtime_text(obs)}",
        )

    # 7. Probes failed and nothing above decided.
    if _probe_failed(obs) and not valid:
        return _detecting(obs, f"{_runtime_text(obs)}; {_activity_text(obs)}")

    # 8. Signs of life wake a session that was starting, stuck, waiting or undecided.
    if obs.status in _WAKE_STATUSES and valid and state in (ActivityState.ACTIVE, ActivityState.READY):
        return _make(obs, SessionStatus.WORKING, "active", f"{_runtime_text(obs)}; {_activity_text(obs)}")
    if obs.status is SessionStatus.DETECTING and valid:
        return _make(obs, SessionStatus.WORKING, "active", f"{_runtime_text(obs)}; {_activity_text(obs)}")

    # 9. Nothing new: the status stays (the evidence is refreshed). A PR status without a pull request
    # (it was unlinked from the session) falls back to working.
    status = obs.status
    if status in _PR_STATUSES and obs.pr is None:
        status = SessionStatus.WORKING
    evidence = f"{_runtime_text(obs)}; {_activity_text(obs)}"
    if obs.pr is not None and obs.pr_state is None:
        evidence = f"PR #{obs.pr.number}: state unknown this poll; {evidence}"
    return _make(obs, status, "unchanged", evidence)
