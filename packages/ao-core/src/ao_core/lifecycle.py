"""The lifecycle manager: the closed loop that watches every session and reacts.

One poll (:meth:`LifecycleManager.poll_once`):

1. lists the sessions that are not over (plus those another process just ended, once, and merged ones
   waiting for clean-up);
2. probes each runtime's liveness (batched per runtime) and each agent's activity and process
   concurrently, every probe under a timeout, at most ``probe_concurrency`` at a time;
3. detects pull requests of sessions that have none, then refreshes every pull request with one
   ``get_pr_snapshots`` call per SCM plugin (per-PR calls for an SCM without snapshots); reads failing
   checks and review threads only when they matter (CI failing, review feedback due); an SCM that answers
   ``RateLimitedError`` gets no further calls until its reset time (statuses stay as they were);
4. decides each session's status with the pure :func:`decide` and, on a transition, records it with its
   evidence, emits the event (type by status, priority by :func:`~ao_core.notify.infer_priority`), runs
   the reaction and notifies humans unless the reaction did the job;
5. runs content reactions (a new failing CI run, new review comments, new conflicts) even without a
   transition, never twice for the same content; escalates to a human by the reaction's rules;
6. cleans up sessions whose pull request merged, and tells once when every session of a project is done.

:meth:`LifecycleManager.run` repeats this every ``pollIntervalMs`` until stopped; :meth:`check` polls one
session at once (webhooks). Everything that must survive a restart (reaction attempts and fingerprints,
escalations, detecting counters, clean-up timers) lives in the store.
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from ao_core._lifecycle_decide import (
    DETECTING_MAX_ATTEMPTS,
    DETECTING_MAX_DURATION,
    ActivitySource,
    Decision,
    Observation,
    decide,
    reading_is_valid,
)
from ao_core._lifecycle_messages import (
    ReviewData,
    ci_fingerprint,
    ci_message,
    closing,
    conflict_fingerprint,
    conflict_message,
    failing_checks,
    fingerprint,
    review_fingerprint,
    review_message,
)
from ao_core._lifecycle_reactions import ReactionEngine, ReactionOutcome, ReactionRequest
from ao_core.config import OrchestratorConfig, ProjectConfig, parse_duration_ms
from ao_core.errors import AoError, RateLimitedError
from ao_core.interfaces import (
    SCM,
    Agent,
    Runtime,
    SupportsCILogs,
    SupportsOutputMany,
    SupportsPRSnapshots,
    SupportsRecordActivity,
    SupportsReviewThreads,
)
from ao_core.models import (
    TERMINAL_STATUSES,
    ActivityDetection,
    ActivityState,
    CICheck,
    CIStatus,
    EventType,
    NotifyResult,
    OrchestratorEvent,
    PRInfo,
    PRSnapshot,
    PRState,
    ReactionAction,
    ReviewComment,
    ReviewDecision,
    ReviewSummary,
    RuntimeHandle,
    Session,
    SessionStatus,
    utc_now,
)
from ao_core.notify import Dispatcher, infer_priority

if TYPE_CHECKING:
    from ao_core.registry import Registry
    from ao_core.sessions import SessionManager
    from ao_core.store import Store

__all__ = [
    "DETECTING_MAX_ATTEMPTS",
    "DETECTING_MAX_DURATION",
    "Decision",
    "EventRecord",
    "LifecycleManager",
    "Observation",
    "PollReport",
    "ReactionRecord",
    "ReviewCheckResult",
    "TransitionRecord",
    "decide",
]

log = logging.getLogger("ao.lifecycle")

T = TypeVar("T")

STATUS_EVENTS: dict[SessionStatus, EventType] = {
    SessionStatus.WORKING: EventType.SESSION_WORKING,
    SessionStatus.PR_OPEN: EventType.PR_CREATED,
    SessionStatus.CI_FAILED: EventType.CI_FAILING,
    SessionStatus.REVIEW_PENDING: EventType.REVIEW_PENDING,
    SessionStatus.CHANGES_REQUESTED: EventType.REVIEW_CHANGES_REQUESTED,
    SessionStatus.APPROVED: EventType.REVIEW_APPROVED,
    SessionStatus.MERGEABLE: EventType.MERGE_READY,
    SessionStatus.MERGED: EventType.MERGE_COMPLETED,
    SessionStatus.NEEDS_INPUT: EventType.SESSION_NEEDS_INPUT,
    SessionStatus.STUCK: EventType.SESSION_STUCK,
    SessionStatus.ERRORED: EventType.SESSION_ERRORED,
    SessionStatus.KILLED: EventType.SESSION_KILLED,
}
"""The event a transition into a status emits (upstream's mapping; ``idle`` after a closed PR → ``pr.closed``)."""

EVENT_REACTIONS: dict[EventType, str] = {
    EventType.PR_CLOSED: "pr-closed",
    EventType.CI_FAILING: "ci-failed",
    EventType.REVIEW_CHANGES_REQUESTED: "changes-requested",
    EventType.AUTOMATED_REVIEW_FOUND: "bugbot-comments",
    EventType.MERGE_CONFLICTS: "merge-conflicts",
    EventType.MERGE_READY: "approved-and-green",
    EventType.SESSION_STUCK: "agent-stuck",
    EventType.SESSION_NEEDS_INPUT: "agent-needs-input",
    EventType.SESSION_KILLED: "agent-exited",
    EventType.SUMMARY_ALL_COMPLETE: "all-complete",
}
"""The reaction an event triggers."""

_STATUS_BOUND: dict[str, SessionStatus] = {
    "agent-stuck": SessionStatus.STUCK,
    "agent-needs-input": SessionStatus.NEEDS_INPUT,
    "agent-exited": SessionStatus.KILLED,
    "pr-closed": SessionStatus.IDLE,
}
"""Reactions that fire once per entry into a status (and are cleared when the session leaves it)."""

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
_NO_MESSAGES = frozenset({SessionStatus.KILLED, SessionStatus.NEEDS_INPUT, SessionStatus.STUCK} | TERMINAL_STATUSES)
"""Statuses in which content reactions (CI, reviews, conflicts, idle nudges) wait."""
_BUSY = frozenset({ActivityState.ACTIVE, ActivityState.WAITING_INPUT, ActivityState.BLOCKED})
_MANUAL_KILL_PREFIXES = ("manually killed", "stopped")
_DEFAULT_STUCK = timedelta(minutes=10)
_MAX_STORED_COMMENTS = 50


# =========================================================================== reports


@dataclass
class TransitionRecord:
    """A status change made by a poll."""

    session_id: str
    old: str | None
    new: str
    evidence: str


@dataclass
class EventRecord:
    """An event a poll emitted, and where it was delivered."""

    id: str
    type: str
    priority: str
    session_id: str
    message: str
    delivered: bool
    results: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ReactionRecord:
    """A reaction a poll ran (or found already done)."""

    session_id: str
    key: str
    action: str | None
    result: str
    detail: str = ""
    attempts: int = 0


@dataclass
class PollReport:
    """What one poll did: ``ao lifecycle run-once --json`` prints it.

    Attributes:
        started_at: When the poll began (UTC).
        duration_ms: Wall time of the poll.
        sessions_checked: Sessions probed and decided.
        transitions: Status changes.
        events: Events emitted (with delivery results).
        reactions: Reactions run.
        cleanups: Sessions cleaned up (or deferred) after their pull request merged.
        scm_calls: SCM plugin calls made by the poll, per SCM plugin name.
        scm_requests: Requests the SCM plugin itself reports having made during the poll (plugins that
            count them expose ``request_count``), per SCM plugin name.
        errors: What went wrong (the poll carried on).
        skipped: The poll did not run because the previous one was still running.
    """

    started_at: datetime
    duration_ms: float = 0.0
    sessions_checked: int = 0
    transitions: list[TransitionRecord] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)
    reactions: list[ReactionRecord] = field(default_factory=list)
    cleanups: list[dict[str, str]] = field(default_factory=list)
    scm_calls: dict[str, int] = field(default_factory=dict)
    scm_requests: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    skipped: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        data["duration_ms"] = round(self.duration_ms, 1)
        return data

    def summary(self) -> str:
        """One line for logs and the terminal."""
        calls = ", ".join(f"{name}: {n}" for name, n in sorted(self.scm_calls.items())) or "none"
        return (
            f"poll: {self.sessions_checked} session(s) in {self.duration_ms:.0f} ms; "
            f"{len(self.transitions)} transition(s), {len(self.events)} event(s), "
            f"{len(self.reactions)} reaction(s); SCM calls: {calls}"
            + (f"; {len(self.errors)} error(s)" if self.errors else "")
        )


@dataclass
class ReviewCheckResult:
    """What ``ao review-check`` found (and did) for one session."""

    session_id: str
    pr_url: str
    comments: int
    changes_requested: bool
    message: str | None
    result: str


@dataclass
class _Check:
    """What one poll learns about one session."""

    session: Session
    project: ProjectConfig
    forced: bool = False
    runtime_alive: bool | None = None
    activity: ActivityDetection | None = None
    activity_source: ActivitySource | None = None
    activity_failed: bool = False
    process_running: bool | None = None
    scm: SCM | None = None
    pr: PRInfo | None = None
    pr_detected: bool = False
    snapshot: PRSnapshot | None = None
    pr_state: PRState | None = None
    failing: list[CICheck] | None = None
    reviews: ReviewData | None = None
    idle_since: datetime | None = None


_SCREEN_LINES = 30
"""Lines of terminal output an agent without a native activity signal is judged by."""


@dataclass
class _ScreenRead:
    """A session whose activity must be read from its terminal screen."""

    check: _Check
    agent: Agent
    runtime: Runtime

    @property
    def handle(self) -> RuntimeHandle:
        handle = self.check.session.runtime_handle
        assert handle is not None
        return handle


# =========================================================================== the manager


class LifecycleManager:
    """Watches every session and closes the loop (see the module docstring).

    Args:
        config: The configuration.
        registry: Where plugins come from (notifiers).
        store: The state database.
        manager: The session manager (runtime, agent and SCM plugins; kill for clean-ups).
        clock: The current time (tests pass their own).
        dispatcher: Delivers notifications (default: one with ``notify_timeout_s``).
        probe_concurrency: At most this many probes or SCM calls run at once.
        probe_timeout_s: Each runtime or agent probe may take this long.
        scm_timeout_s: Each SCM call may take this long.
        notify_timeout_s: Each notifier call may take this long.
        send_ready_wait_s: How long a reaction's message waits for the agent to finish its turn before
            it is queued anyway.
        detect_pr_interval_s: How often a session without a pull request is checked for one.
        review_check_interval_s: How often review threads of a pull request with changes requested are
            re-read when nothing else changed.
        review_backlog_interval_s: How often review threads of other open pull requests are read (bots
            comment without changing the review decision).
        review_backlog_per_poll: At most this many of those periodic reads per poll (0: rely on webhooks).
        poll_timeout_s: A whole poll is abandoned after this long.
        shutdown_grace_s: On stop, a running poll gets this long to finish.
    """

    def __init__(
        self,
        config: OrchestratorConfig,
        registry: Registry,
        store: Store,
        manager: SessionManager,
        *,
        clock: Callable[[], datetime] = utc_now,
        dispatcher: Dispatcher | None = None,
        probe_concurrency: int = 32,
        probe_timeout_s: float = 15.0,
        scm_timeout_s: float = 60.0,
        notify_timeout_s: float = 10.0,
        send_ready_wait_s: float = 2.0,
        detect_pr_interval_s: float = 60.0,
        review_check_interval_s: float = 120.0,
        review_backlog_interval_s: float = 300.0,
        review_backlog_per_poll: int = 2,
        poll_timeout_s: float = 300.0,
        shutdown_grace_s: float = 10.0,
    ) -> None:
        self.config = config
        self.registry = registry
        self.store = store
        self.manager = manager
        self.dispatcher = dispatcher or Dispatcher(config, registry, store, timeout_s=notify_timeout_s)
        self._clock = clock
        self.probe_concurrency = probe_concurrency
        self.probe_timeout_s = probe_timeout_s
        self.scm_timeout_s = scm_timeout_s
        self.detect_pr_interval_s = detect_pr_interval_s
        self.review_check_interval_s = review_check_interval_s
        self.review_backlog_interval_s = review_backlog_interval_s
        self.review_backlog_per_poll = review_backlog_per_poll
        self.poll_timeout_s = poll_timeout_s
        self.shutdown_grace_s = shutdown_grace_s
        self.polls = 0
        """Polls completed since this manager was created."""
        self.last_report: PollReport | None = None
        """The report of the last completed poll."""
        self.last_error: str | None = None
        """The error of the last poll that failed as a whole, if any."""
        self._current: PollReport | None = None
        self._lock: anyio.Lock | None = None
        self._limiter: anyio.CapacityLimiter | None = None
        self._pending: set[str] = set()
        self._wake: anyio.Event | None = None
        self._detected_at: dict[str, float] = {}
        self._ci_cache: dict[tuple[str, str], list[CICheck]] = {}
        self._log_tails: dict[str, tuple[str, dict[str, str]]] = {}
        self._info_at: dict[str, float] = {}
        self._complete_marks: dict[str, bool] = {}
        self._scm_paused: dict[int, tuple[datetime, RateLimitedError]] = {}
        self.reactions = ReactionEngine(
            store,
            manager,
            emit=self._emit,
            scm_call=self._scm_call_current,
            clock=clock,
            send_ready_wait_s=send_ready_wait_s,
        )

    # ------------------------------------------------------------------ public API

    async def poll_once(self) -> PollReport:
        """Poll every session once; skipped (``report.skipped``) when a poll is already running."""
        lock = self._get_lock()
        if lock.locked():
            return PollReport(started_at=self._clock(), skipped=True)
        async with lock:
            return await self._poll(None, forced=False)

    async def _poll_waiting(self) -> PollReport:
        async with self._get_lock():
            return await self._poll(None, forced=False)

    async def check(self, session_id: str) -> PollReport:
        """Poll one session now (after a running poll finishes), re-reading its reviews and pull request."""
        return await self.check_many([session_id])

    async def check_many(self, session_ids: Iterable[str]) -> PollReport:
        """Poll some sessions now (after a running poll finishes), re-reading their reviews and pull requests."""
        ids = set(session_ids)
        async with self._get_lock():
            return await self._poll(ids, forced=True)

    def request_check(self, session_ids: Iterable[str]) -> None:
        """Ask :meth:`run` to check these sessions as soon as it can (returns at once; for webhooks)."""
        self._pending.update(session_ids)
        if self._wake is not None:
            self._wake.set()

    async def run(self, stop: anyio.Event) -> None:
        """Poll every ``pollIntervalMs`` until ``stop`` is set; checks requested meanwhile run at once.

        A failing poll never ends the loop: the error is logged and kept in :attr:`last_error`. When
        ``stop`` is set during a poll, the poll gets ``shutdown_grace_s`` to finish and is then cancelled.
        """
        interval = self.config.poll_interval_ms / 1000
        self._wake = anyio.Event()
        if self._pending:
            self._wake.set()
        async with self.dispatcher.background(), anyio.create_task_group() as tg:
            tg.start_soon(self._check_worker, stop)
            while not stop.is_set():
                await self._bounded(self._poll_waiting, stop)
                with anyio.move_on_after(interval):
                    await stop.wait()
            tg.cancel_scope.cancel()

    async def review_check(
        self, project_id: str | None = None, *, dry_run: bool = False, force: bool = False
    ) -> list[ReviewCheckResult]:
        """Send each session with unresolved review comments or changes requested its review feedback now.

        Args:
            project_id: Only this project's sessions.
            dry_run: Only build the messages, send nothing.
            force: Send even when the same feedback was sent before.

        Returns:
            One result per session with an open pull request.
        """
        results: list[ReviewCheckResult] = []
        async with self._get_lock():
            report = PollReport(started_at=self._clock())
            self._current = report
            try:
                for session in self.store.list_sessions(project_id, include_terminal=False):
                    if session.is_terminal or session.pr is None or session.project_id not in self.config.projects:
                        continue
                    results.append(await self._review_check_one(session, report, dry_run=dry_run, force=force))
            finally:
                self._current = None
        return results

    # ------------------------------------------------------------------ loop internals

    def _get_lock(self) -> anyio.Lock:
        if self._lock is None:
            self._lock = anyio.Lock()
        return self._lock

    def _get_limiter(self) -> anyio.CapacityLimiter:
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.probe_concurrency)
        return self._limiter

    async def _bounded(self, poll: Callable[[], Awaitable[PollReport]], stop: anyio.Event) -> None:
        """Run one poll; never raise; on ``stop`` give it ``shutdown_grace_s`` before cancelling it."""
        report: PollReport | None = None
        try:
            async with anyio.create_task_group() as tg:

                async def watchdog() -> None:
                    await stop.wait()
                    await anyio.sleep(self.shutdown_grace_s)
                    log.warning(
                        "stopping: the running poll did not finish within %ss; cancelled", self.shutdown_grace_s
                    )
                    tg.cancel_scope.cancel()

                tg.start_soon(watchdog)
                with anyio.fail_after(self.poll_timeout_s):
                    report = await poll()
                tg.cancel_scope.cancel()
            if report is not None and not report.skipped:
                busy = report.transitions or report.events or report.reactions or report.errors
                log.log(logging.INFO if busy else logging.DEBUG, report.summary())
                for error in report.errors:
                    log.warning("poll: %s", error)
        except Exception as exc:  # the loop must outlive any poll
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("poll failed; the next one runs as scheduled")

    async def _check_worker(self, stop: anyio.Event) -> None:
        assert self._wake is not None
        while not stop.is_set():
            await self._wake.wait()
            self._wake = anyio.Event()
            ids, self._pending = self._pending, set()
            if ids:
                await self._bounded(functools.partial(self.check_many, ids), stop)

    # ------------------------------------------------------------------ one poll

    async def _poll(self, only: set[str] | None, *, forced: bool) -> PollReport:
        started = time.monotonic()
        now = self._clock()
        report = PollReport(started_at=now)
        self._current = report
        try:
            scms = self._scm_instances(report)
            before = {name: count for name, scm in scms.items() if (count := _request_count(scm)) is not None}
            checks: list[_Check] = []
            fresh_terminal: list[Session] = []
            merged: list[Session] = []
            for session in self.store.list_sessions():
                project = self.config.projects.get(session.project_id)
                if project is None or (only is not None and session.id not in only):
                    continue
                if session.is_terminal:
                    seen = session.metadata.get("lifecycleStatus")
                    if seen is not None and seen != session.status.value:
                        fresh_terminal.append(session)
                    elif session.status is SessionStatus.MERGED and self.config.lifecycle.auto_cleanup_on_merge:
                        merged.append(session)
                    continue
                if session.runtime_handle is None:
                    continue  # still being spawned by another process
                checks.append(_Check(session=session, project=project, forced=forced, pr=session.pr))
            report.sessions_checked = len(checks)
            if checks:
                await self._gather(checks, report, now)
                async with anyio.create_task_group() as tg:
                    for check in checks:
                        tg.start_soon(self._apply_guarded, check, report, now)
            for session in fresh_terminal:
                await self._guard(session.id, report, self._after_terminal(session, report, now))
            if merged:
                await self._cleanup_merged(merged, report, now)
            if only is None:
                await self._guard("all-complete", report, self._all_complete(report, now))
            for name, count in before.items():
                after = _request_count(scms[name])
                if after is not None:
                    report.scm_requests[name] = after - count
        finally:
            self._current = None
            report.duration_ms = (time.monotonic() - started) * 1000
        self.polls += 1
        self.last_report = report
        self.last_error = None
        return report

    async def _guard(self, what: str, report: PollReport, work: Awaitable[None]) -> None:
        try:
            await work
        except Exception as exc:  # one session's trouble never stops the others
            log.exception("lifecycle: %s failed", what)
            report.errors.append(f"{what}: {_describe(exc)}")

    async def _apply_guarded(self, check: _Check, report: PollReport, now: datetime) -> None:
        async with self._get_limiter():
            await self._guard(check.session.id, report, self._apply(check, report, now))

    def _scm_instances(self, report: PollReport) -> dict[str, SCM]:
        found: dict[str, SCM] = {}
        for project_id, project in self.config.projects.items():
            if project.scm is None:
                continue
            try:
                scm = self.manager.scm_for(project_id)
            except AoError as exc:
                report.errors.append(f"projects.{project_id}.scm: {exc}")
                continue
            if scm is not None:
                found.setdefault(scm.name, scm)
        return found

    # ------------------------------------------------------------------ gathering facts

    async def _gather(self, checks: list[_Check], report: PollReport, now: datetime) -> None:
        for check in checks:
            if check.project.scm is not None:
                try:
                    check.scm = self.manager.scm_for(check.session.project_id)
                except AoError:
                    check.scm = None  # reported once by _scm_instances
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._probe_liveness, checks, report)
            tg.start_soon(self._detect_prs, checks, report)
        live = [c for c in checks if c.runtime_alive is not False]
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._probe_agents, live)
            tg.start_soon(self._refresh_prs, live, report)
        await self._pr_details(live, report, now)

    async def _probe_liveness(self, checks: list[_Check], report: PollReport) -> None:
        try:
            with anyio.fail_after(self.probe_timeout_s + 5):
                alive = await self.manager.probe_liveness([c.session for c in checks])
        except Exception as exc:  # unknown liveness is a decision input, not a failure of the poll
            report.errors.append(f"liveness probe: {_describe(exc)}")
            alive = {}
        for check in checks:
            check.runtime_alive = alive.get(check.session.id)

    async def _probe_agents(self, checks: list[_Check]) -> None:
        """Probe each session's agent: its native activity signal first, then its terminal screen, then its process.

        The screens of sessions without a native signal are read with one ``get_output_many`` per runtime
        when the runtime offers it (``SupportsOutputMany``), else one ``get_output`` per session.
        """
        screens: list[_ScreenRead] = []
        async with anyio.create_task_group() as tg:
            for check in checks:
                tg.start_soon(self._probe_native, check, screens)
        groups: dict[int, list[_ScreenRead]] = {}
        for read in screens:
            groups.setdefault(id(read.runtime), []).append(read)
        async with anyio.create_task_group() as tg:
            for group in groups.values():
                tg.start_soon(self._read_screens, group)
        async with anyio.create_task_group() as tg:
            for read in screens:
                tg.start_soon(self._probe_process, read.check, read.agent)

    async def _probe_native(self, check: _Check, screens: list[_ScreenRead]) -> None:
        session = check.session
        handle = session.runtime_handle
        assert handle is not None
        try:
            agent = self.manager.agent_for(
                session.project_id, session.agent or self.manager.agent_name_for(session.project_id)
            )
            runtime = self.manager.runtime_for(session.project_id, handle.runtime_name)
        except AoError as exc:
            log.warning("session %s: cannot load its agent or runtime: %s", session.id, exc)
            check.activity_failed = True
            return
        async with self._get_limiter():
            try:
                with anyio.fail_after(self.probe_timeout_s):
                    if isinstance(agent, SupportsRecordActivity):
                        await agent.record_activity(session, await runtime.get_output(handle, 10))
                    detection = await agent.get_activity_state(session, self.config.ready_threshold_ms)
            except Exception as exc:  # a failed probe is evidence for decide(), not an error of the poll
                log.info("session %s: activity probe failed: %s", session.id, _describe(exc))
                check.activity_failed = True
            else:
                if detection is not None:
                    check.activity, check.activity_source = detection, "native"
                else:
                    screens.append(_ScreenRead(check, agent, runtime))
                    return  # the process probe follows the screen read
        await self._probe_process(check, agent)

    async def _read_screens(self, reads: list[_ScreenRead]) -> None:
        """Read and interpret the screens of ``reads`` (all of one runtime), in one call when it can."""
        runtime = reads[0].runtime
        if isinstance(runtime, SupportsOutputMany):
            handles = [read.handle for read in reads]
            try:
                with anyio.fail_after(self.probe_timeout_s):
                    outputs = await runtime.get_output_many(handles, _SCREEN_LINES)
            except Exception as exc:  # read them one by one: one session's trouble must not fail the others
                log.warning(
                    "runtime %s: batched screen read failed (reading one by one): %s", runtime.name, _describe(exc)
                )
            else:
                for read in reads:
                    self._interpret_screen(read, outputs.get(read.check.session.id, ""))
                return
        async with anyio.create_task_group() as tg:
            for read in reads:
                tg.start_soon(self._read_screen, read)

    async def _read_screen(self, read: _ScreenRead) -> None:
        async with self._get_limiter():
            try:
                with anyio.fail_after(self.probe_timeout_s):
                    output = await read.runtime.get_output(read.handle, _SCREEN_LINES)
            except Exception as exc:  # a failed probe is evidence for decide(), not an error of the poll
                log.info("session %s: activity probe failed: %s", read.check.session.id, _describe(exc))
                read.check.activity_failed = True
                return
        self._interpret_screen(read, output)

    def _interpret_screen(self, read: _ScreenRead, output: str) -> None:
        check = read.check
        if not output.strip():
            return
        try:
            state = read.agent.detect_activity(output)
        except Exception as exc:  # a failed probe is evidence for decide(), not an error of the poll
            log.info("session %s: activity probe failed: %s", check.session.id, _describe(exc))
            check.activity_failed = True
            return
        check.activity = ActivityDetection(state=state, evidence="terminal screen")
        check.activity_source = "terminal"

    async def _probe_process(self, check: _Check, agent: Agent) -> None:
        handle = check.session.runtime_handle
        assert handle is not None
        async with self._get_limiter():
            try:
                with anyio.fail_after(self.probe_timeout_s):
                    check.process_running = await agent.is_process_running(handle)
            except Exception as exc:  # unknown process state
                log.info("session %s: process probe failed: %s", check.session.id, _describe(exc))

    async def _detect_prs(self, checks: list[_Check], report: PollReport) -> None:
        now_mono = time.monotonic()
        due: list[_Check] = []
        for check in checks:
            session = check.session
            if check.scm is None or not session.branch or session.metadata.get("prAutoDetect") is False:
                continue  # prAutoDetect is false once another session claimed this one's pull request
            snapshot = session.metadata.get("prSnapshot") or {}
            closed = session.pr is not None and snapshot.get("state") == PRState.CLOSED.value
            if session.pr is not None and not closed:
                continue
            last = self._detected_at.get(session.id)
            if check.forced or last is None or now_mono - last >= self.detect_pr_interval_s:
                due.append(check)

        async def detect(check: _Check) -> None:
            assert check.scm is not None
            async with self._get_limiter():
                try:
                    found = await self._scm_call(
                        report, check.scm, "detect_pr", check.scm.detect_pr(check.session, check.project)
                    )
                except Exception as exc:  # tried again at the next interval
                    report.errors.append(f"{check.session.id}: detect_pr: {_describe(exc)}")
                    return
            self._detected_at[check.session.id] = time.monotonic()
            if found is not None and (check.pr is None or found.key != check.pr.key):
                check.pr, check.pr_detected = found, True

        async with anyio.create_task_group() as tg:
            for check in due:
                tg.start_soon(detect, check)

    async def _refresh_prs(self, checks: list[_Check], report: PollReport) -> None:
        groups: dict[int, tuple[SCM, list[_Check]]] = {}
        for check in checks:
            if check.pr is not None and check.scm is not None:
                groups.setdefault(id(check.scm), (check.scm, []))[1].append(check)
        async with anyio.create_task_group() as tg:
            for scm, group in groups.values():
                tg.start_soon(self._refresh_group, scm, group, report)

    async def _refresh_group(self, scm: SCM, group: list[_Check], report: PollReport) -> None:
        if isinstance(scm, SupportsPRSnapshots):
            prs: dict[str, PRInfo] = {}
            for check in group:
                assert check.pr is not None
                prs.setdefault(check.pr.key, check.pr)
            try:
                snapshots = await self._scm_call(
                    report, scm, "get_pr_snapshots", scm.get_pr_snapshots(list(prs.values()))
                )
            except RateLimitedError as exc:  # per-PR calls would be refused too: statuses stay
                report.errors.append(f"{scm.name}: get_pr_snapshots: {_describe(exc)}")
                return
            except Exception as exc:  # every PR then falls back to a state query
                report.errors.append(f"{scm.name}: get_pr_snapshots: {_describe(exc)}")
                snapshots = {}
            for check in group:
                assert check.pr is not None
                check.snapshot = snapshots.get(check.pr.key)
            missing = [c for c in group if c.snapshot is None]
            async with anyio.create_task_group() as tg:
                for check in missing:
                    tg.start_soon(self._pr_state_only, scm, check, report)
        else:
            async with anyio.create_task_group() as tg:
                for check in group:
                    tg.start_soon(self._snapshot_per_pr, scm, check, report)
        for check in group:
            if check.snapshot is not None:
                check.pr_state = check.snapshot.state

    async def _pr_state_only(self, scm: SCM, check: _Check, report: PollReport) -> None:
        assert check.pr is not None
        async with self._get_limiter():
            try:
                check.pr_state = await self._scm_call(report, scm, "get_pr_state", scm.get_pr_state(check.pr))
            except Exception as exc:  # unknown state: decide() keeps the status
                report.errors.append(f"{check.session.id}: get_pr_state: {_describe(exc)}")

    async def _snapshot_per_pr(self, scm: SCM, check: _Check, report: PollReport) -> None:
        """Build a snapshot from per-PR calls, for an SCM without ``get_pr_snapshots``."""
        pr = check.pr
        assert pr is not None
        async with self._get_limiter():
            try:
                state = await self._scm_call(report, scm, "get_pr_state", scm.get_pr_state(pr))
                if state is not PRState.OPEN:
                    check.snapshot = PRSnapshot(
                        state=state, ci_status=CIStatus.NONE, review_decision=ReviewDecision.NONE, mergeable=False
                    )
                    return
                ci = await self._scm_call(report, scm, "get_ci_summary", scm.get_ci_summary(pr))
                review = await self._scm_call(report, scm, "get_review_decision", scm.get_review_decision(pr))
                readiness = await self._scm_call(report, scm, "get_mergeability", scm.get_mergeability(pr))
            except Exception as exc:  # unknown: decide() keeps the status
                report.errors.append(f"{check.session.id}: pull request state: {_describe(exc)}")
                return
        check.snapshot = PRSnapshot(
            state=state,
            ci_status=ci,
            review_decision=review,
            mergeable=readiness.mergeable,
            title=pr.title,
            is_draft=pr.is_draft,
            has_conflicts=not readiness.no_conflicts,
            blockers=list(readiness.blockers),
        )

    async def _pr_details(self, checks: list[_Check], report: PollReport, now: datetime) -> None:
        """Failing checks of failing PRs, and review threads where they are due (within the per-poll cap)."""
        open_checks = [c for c in checks if c.pr is not None and c.snapshot is not None and c.pr_state is PRState.OPEN]
        review_due: list[_Check] = []
        backlog: list[tuple[float, _Check]] = []
        for check in open_checks:
            assert check.snapshot is not None
            meta = check.session.metadata.get("reviewThreads") or {}
            age = _age_s(now, meta.get("checkedAt"))
            decision = check.snapshot.review_decision
            changed = bool(meta) and meta.get("key") != _review_key(check.snapshot)
            first_look = not meta and decision in (ReviewDecision.CHANGES_REQUESTED, ReviewDecision.APPROVED)
            if check.forced or changed or first_look:
                # A new head or a new review decision can resolve or add threads, and "mergeable" depends on
                # them: read them in this poll, or an approval would wait out the interval before merging.
                # PRs never read without a decision join the backlog (a few per poll), so a first poll over
                # many PRs does not cost one request per PR.
                review_due.append(check)
            elif check.snapshot.review_decision is ReviewDecision.CHANGES_REQUESTED:
                if age is None or age >= self.review_check_interval_s:
                    review_due.append(check)
            elif age is None or age >= self.review_backlog_interval_s:
                backlog.append((age if age is not None else float("inf"), check))
        backlog.sort(key=lambda item: item[0], reverse=True)
        review_due += [check for _, check in backlog[: max(0, self.review_backlog_per_poll)]]

        async with anyio.create_task_group() as tg:
            for check in open_checks:
                assert check.snapshot is not None
                if check.snapshot.ci_status is CIStatus.FAILING:
                    tg.start_soon(self._failing_checks, check, report)
            for check in review_due:
                tg.start_soon(self._read_reviews, check, report)

    async def _failing_checks(self, check: _Check, report: PollReport) -> None:
        snapshot, pr, scm = check.snapshot, check.pr, check.scm
        assert snapshot is not None
        assert pr is not None
        assert scm is not None
        if snapshot.ci_checks is not None:
            check.failing = failing_checks(snapshot.ci_checks)
        else:
            cache_key = (pr.key, snapshot.head_sha or "")
            if snapshot.head_sha and cache_key in self._ci_cache:
                check.failing = self._ci_cache[cache_key]
            else:
                async with self._get_limiter():
                    try:
                        checks = await self._scm_call(report, scm, "get_ci_checks", scm.get_ci_checks(pr))
                    except Exception as exc:  # the message then says the checks could not be listed
                        report.errors.append(f"{check.session.id}: get_ci_checks: {_describe(exc)}")
                        return
                check.failing = failing_checks(checks)
                if snapshot.head_sha:
                    self._ci_cache = {k: v for k, v in self._ci_cache.items() if k[0] != pr.key}
                    self._ci_cache[cache_key] = check.failing
        if check.failing:
            check.failing = await self._with_log_tails(scm, pr, snapshot.head_sha, check, report)

    async def _with_log_tails(
        self, scm: SCM, pr: PRInfo, head_sha: str | None, check: _Check, report: PollReport
    ) -> list[CICheck]:
        """The check's failing checks with the tails of their logs, read once per failure (same runs)."""
        failing = check.failing or []
        if not isinstance(scm, SupportsCILogs):
            return failing
        identity = ci_fingerprint(head_sha, failing)
        cached = self._log_tails.get(pr.key)
        if cached is not None and cached[0] == identity:
            tails = cached[1]
        else:
            async with self._get_limiter():
                try:
                    call = scm.get_ci_log_tails(pr, failing)
                    tails = await self._scm_call(report, scm, "get_ci_log_tails", call)
                except Exception as exc:  # the message goes without logs
                    report.errors.append(f"{check.session.id}: get_ci_log_tails: {_describe(exc)}")
                    return failing
            self._log_tails[pr.key] = (identity, tails)
        return [c.model_copy(update={"log_tail": tails[c.name]}) if c.name in tails else c for c in failing]

    async def _read_reviews(self, check: _Check, report: PollReport) -> None:
        pr, scm = check.pr, check.scm
        assert pr is not None
        assert scm is not None
        async with self._get_limiter():
            try:
                check.reviews = await self._fetch_reviews(scm, pr, report)
            except Exception as exc:  # no review data this poll
                report.errors.append(f"{check.session.id}: review threads: {_describe(exc)}")

    async def _fetch_reviews(self, scm: SCM, pr: PRInfo, report: PollReport) -> ReviewData:
        if isinstance(scm, SupportsReviewThreads):
            threads = await self._scm_call(report, scm, "get_review_threads", scm.get_review_threads(pr))
            open_threads = [t for t in threads.threads if not t.is_resolved]
            return ReviewData(
                human=[t for t in open_threads if not t.is_bot],
                bots=[t for t in open_threads if t.is_bot],
                reviews=list(threads.reviews),
            )
        human = await self._scm_call(report, scm, "get_pending_comments", scm.get_pending_comments(pr))
        automated = await self._scm_call(report, scm, "get_automated_comments", scm.get_automated_comments(pr))
        reviews = await self._scm_call(report, scm, "get_reviews", scm.get_reviews(pr))
        bots = [
            ReviewComment(
                id=c.id,
                author=c.bot_name,
                body=c.body,
                path=c.path,
                line=c.line,
                url=c.url,
                is_bot=True,
                created_at=c.created_at,
            )
            for c in automated
        ]
        summaries = [
            ReviewSummary(author=r.author, state=r.state.value, body=r.body, submitted_at=r.submitted_at)
            for r in reviews
            if r.body
        ]
        return ReviewData(human=[c for c in human if not c.is_resolved], bots=bots, reviews=summaries)

    # ------------------------------------------------------------------ deciding and acting

    def _stuck_threshold(self, project_id: str) -> timedelta:
        reaction = self.config.reaction_for(project_id, "agent-stuck")
        if reaction is not None and reaction.threshold:
            return timedelta(milliseconds=parse_duration_ms(reaction.threshold))
        return _DEFAULT_STUCK

    def _observe(self, check: _Check, now: datetime) -> Observation:
        session = check.session
        meta = session.metadata
        activity = check.activity
        if activity is not None and activity.state in (ActivityState.IDLE, ActivityState.BLOCKED):
            if activity.timestamp is not None:
                check.idle_since = activity.timestamp
            else:
                check.idle_since = _parse_time(meta.get("idleSince")) or now
        unresolved: int | None = None
        bots: int | None = None
        if check.reviews is not None:
            unresolved, bots = len(check.reviews.human), len(check.reviews.bots)
        elif check.pr is not None and not check.pr_detected:
            stored = meta.get("reviewThreads") or {}
            unresolved, bots = stored.get("unresolved"), stored.get("bots")
        failing = tuple(f"{c.name}: {c.conclusion or c.status.value}" for c in check.failing or ())
        return Observation(
            session_id=session.id,
            status=session.status,
            now=now,
            created_at=session.created_at,
            runtime_alive=check.runtime_alive,
            activity=activity,
            activity_source=check.activity_source,
            activity_probe_failed=check.activity_failed,
            process_running=check.process_running,
            pr=check.pr,
            snapshot=check.snapshot,
            pr_state=check.pr_state,
            failing_checks=failing,
            unresolved_threads=unresolved,
            unresolved_bot_threads=bots,
            idle_since=check.idle_since,
            stuck_threshold=self._stuck_threshold(session.project_id),
            detecting_attempts=int(meta.get("detectingAttempts") or 0),
            detecting_since=_parse_time(meta.get("detectingSince")),
        )

    async def _apply(self, check: _Check, report: PollReport, now: datetime) -> None:
        current = self.store.get_session(check.session.id)
        if current is None or current.status is not check.session.status:
            # Deleted, killed or restored by another process while this poll probed it: the probes are
            # stale; the next poll decides.
            return
        session = check.session = current
        obs = self._observe(check, now)
        decision = decide(obs)
        old, new = session.status, decision.status
        transition = new is not old

        updates: dict[str, Any] = {}
        meta: dict[str, Any] = {}
        if check.pr_detected:
            updates["pr"] = check.pr
        if check.snapshot is not None:
            dumped = check.snapshot.model_dump(mode="json")
            if session.metadata.get("prSnapshot") != dumped:
                meta["prSnapshot"] = dumped
        if check.reviews is not None and check.snapshot is not None:
            meta["reviewThreads"] = _review_meta(check.reviews, check.snapshot, now)
        activity_state = self._activity_to_store(check, new)
        if activity_state is not None and activity_state is not session.activity:
            updates["activity"] = activity_state
        last_activity = _last_activity(check, now)
        if last_activity is not None and (session.last_activity_at is None or last_activity > session.last_activity_at):
            updates["last_activity_at"] = last_activity
        _set_if_changed(meta, session.metadata, "detectingAttempts", decision.detecting_attempts or None)
        _set_if_changed(
            meta,
            session.metadata,
            "detectingSince",
            decision.detecting_since.isoformat() if decision.detecting_since else None,
        )
        idle_since = check.idle_since.isoformat() if check.idle_since is not None else None
        _set_if_changed(meta, session.metadata, "idleSince", idle_since)
        if transition or decision.evidence != session.status_evidence:
            updates["status"] = new
            updates["status_evidence"] = decision.evidence
        if transition or self._info_due(session.id):
            info = await self._session_info(check)
            if info is not None:
                updates["agent_info"] = info
        if updates:
            session = self.store.update_session(session.id, **updates)
            check.session = session
        for key, value in meta.items():
            self.store.set_metadata(session.id, key, value)

        event: OrchestratorEvent | None = None
        if transition:
            self.store.record_transition(session.id, old, new, decision.evidence, at=now)
            self.store.set_metadata(session.id, "statusDetails", decision.details)
            report.transitions.append(TransitionRecord(session.id, old.value, new.value, decision.evidence))
            log.info("%s: %s → %s (%s)", session.id, old.value, new.value, decision.evidence)
            event = self._transition_event(session, old, decision, check, now)
            if event is not None:
                await self._emit(event, False)
        if session.metadata.get("lifecycleStatus") != new.value:
            self.store.set_metadata(session.id, "lifecycleStatus", new.value)

        outcomes = await self._react(check, decision, old, transition, report, now)
        if event is not None:
            event_key = EVENT_REACTIONS.get(event.type)
            if not any(o.handled for o in outcomes if o.key == event_key):
                await self._deliver(event)
        if any(o.merged for o in outcomes):
            new = self._mark_auto_merged(check, new, report, now)
        if new is SessionStatus.MERGED:
            await self._cleanup(check.session, check.activity, report, now)

    def _activity_to_store(self, check: _Check, new: SessionStatus) -> ActivityState | None:
        if new is SessionStatus.KILLED:
            return ActivityState.EXITED
        if check.activity is not None and check.activity.state is not ActivityState.EXITED:
            return check.activity.state
        return None

    def _info_due(self, session_id: str) -> bool:
        last = self._info_at.get(session_id)
        return last is None or time.monotonic() - last >= 60.0

    async def _session_info(self, check: _Check) -> Any:
        session = check.session
        self._info_at[session.id] = time.monotonic()
        try:
            agent = self.manager.agent_for(
                session.project_id, session.agent or self.manager.agent_name_for(session.project_id)
            )
            with anyio.fail_after(self.probe_timeout_s):
                return await agent.get_session_info(session)
        except Exception as exc:  # cost and summary are nice to have
            log.info("session %s: get_session_info failed: %s", session.id, _describe(exc))
            return None

    def _transition_event(
        self, session: Session, old: SessionStatus, decision: Decision, check: _Check, now: datetime
    ) -> OrchestratorEvent | None:
        new = decision.status
        if new is SessionStatus.IDLE and decision.rule == "pr_closed":
            kind: EventType | None = EventType.PR_CLOSED
        elif new is SessionStatus.PR_OPEN and old in _PR_STATUSES:
            kind = EventType.PR_UPDATED
        else:
            kind = STATUS_EVENTS.get(new)
        if kind is None:
            return None
        return OrchestratorEvent(
            type=kind,
            priority=infer_priority(kind),
            session_id=session.id,
            project_id=session.project_id,
            timestamp=now,
            message=f"{session.id}: {old.value} → {new.value} — {decision.evidence}",
            data={"oldStatus": old.value, "newStatus": new.value, "evidence": decision.evidence, **_pr_data(check)},
        )

    async def _react(
        self, check: _Check, decision: Decision, old: SessionStatus, transition: bool, report: PollReport, now: datetime
    ) -> list[ReactionOutcome]:
        session = check.session
        states = {state.reaction_key: state for state in self.store.list_reactions(session.id)}
        new = decision.status
        pr, snap = check.pr, check.snapshot
        pr_open = pr is not None and check.pr_state is PRState.OPEN
        pr_gone = pr is None or check.pr_state in (PRState.MERGED, PRState.CLOSED)
        requests: list[ReactionRequest] = []
        clears: set[str] = set()
        data = {"evidence": decision.evidence, **_pr_data(check)}

        def request(key: str, fp: str | None, summary: str, **extra: Any) -> None:
            requests.append(
                ReactionRequest(
                    session=session,
                    key=key,
                    fingerprint=fp,
                    summary=summary,
                    pr=pr,
                    snapshot=snap,
                    scm=check.scm,
                    data=data,
                    **extra,
                )
            )

        # Reactions bound to entering a status.
        for key, status in _STATUS_BOUND.items():
            if transition and old is status and new is not status:
                clears.add(key)
        if transition:
            kind = EventType.PR_CLOSED if decision.rule == "pr_closed" else STATUS_EVENTS.get(new)
            bound = EVENT_REACTIONS.get(kind) if kind is not None else None
            if bound is not None and bound in _STATUS_BOUND:
                request(bound, f"{new.value}@{now.isoformat()}", self._status_summary(bound, session, decision, pr))

        # Content reactions: they fire whenever their content is new.
        if new is SessionStatus.CI_FAILED and pr is not None and snap is not None:
            failing = check.failing or []
            names = ", ".join(c.name for c in failing) or "checks not listed"
            request(
                "ci-failed",
                ci_fingerprint(snap.head_sha, failing),
                f"{session.id}: CI failing on PR #{pr.number} ({names}): {pr.url}",
                agent_message=ci_message(pr, snap.head_sha, failing, self._closing(session, "ci-failed")),
                sent_event=EventType.CI_FIX_SENT,
            )
        elif pr_gone or (snap is not None and snap.ci_status is CIStatus.PASSING):
            clears.add("ci-failed")

        reviews = check.reviews
        if pr_open and pr is not None and reviews is not None:
            changes = snap is not None and snap.review_decision is ReviewDecision.CHANGES_REQUESTED
            if reviews.human or changes:
                request(
                    "changes-requested",
                    review_fingerprint(reviews.human, reviews.reviews),
                    f"{session.id}: changes requested on PR #{pr.number} — {len(reviews.human)} unresolved "
                    f"comment(s): {pr.url}",
                    agent_message=review_message(
                        pr,
                        reviews.human,
                        reviews.reviews,
                        self._closing(session, "changes-requested"),
                    ),
                    sent_event=EventType.REVIEW_COMMENTS_SENT,
                )
            else:
                clears.add("changes-requested")
            if reviews.bots:
                request(
                    "bugbot-comments",
                    review_fingerprint(reviews.bots),
                    f"{session.id}: {len(reviews.bots)} automated review comment(s) on PR #{pr.number}: {pr.url}",
                    agent_message=review_message(
                        pr,
                        reviews.bots,
                        [],
                        self._closing(session, "bugbot-comments"),
                        automated=True,
                    ),
                    sent_event=EventType.AUTOMATED_REVIEW_FIX_SENT,
                )
            else:
                clears.add("bugbot-comments")
        elif pr_gone:
            clears.update({"changes-requested", "bugbot-comments"})
        elif snap is not None and snap.review_decision is ReviewDecision.CHANGES_REQUESTED:
            # No fresh review data, but the host still says "changes requested": let an escalateAfter timer
            # run out (bot comments wait for the next read: nothing says they are still there).
            state = states.get("changes-requested")
            if state is not None and state.last_fingerprint is not None and not state.escalated:
                number = pr.number if pr is not None else "?"
                request(
                    "changes-requested",
                    state.last_fingerprint,
                    f"{session.id}: review feedback on PR #{number} is still unresolved",
                )

        if pr_open and pr is not None and snap is not None and snap.has_conflicts:
            request(
                "merge-conflicts",
                conflict_fingerprint(snap.head_sha, pr.base_branch),
                f"{session.id}: PR #{pr.number} has merge conflicts with {pr.base_branch}: {pr.url}",
                agent_message=conflict_message(pr, snap.is_behind, self._closing(session, "merge-conflicts")),
            )
        elif pr_gone or (snap is not None and not snap.has_conflicts):
            clears.add("merge-conflicts")

        if new is SessionStatus.MERGEABLE and pr is not None and snap is not None:
            how = "approved" if snap.review_decision is ReviewDecision.APPROVED else "needs no review"
            request(
                "approved-and-green",
                fingerprint("green", [pr.key, snap.head_sha or ""]),
                f"{session.id}: PR #{pr.number} is {how} and green — ready to merge: {pr.url}",
            )
        elif pr_gone and pr is not None:
            clears.add("approved-and-green")

        activity = check.activity
        idle = (
            activity is not None
            and activity.state is ActivityState.IDLE
            and reading_is_valid(activity, check.activity_source, now)
        )
        if pr is None and idle and check.idle_since is not None and session.issue_id is not None:
            request(
                "agent-idle",
                f"idle@{check.idle_since.isoformat()}",
                f"{session.id}: the agent stopped without opening a pull request — {decision.evidence}",
            )
        elif pr is not None or (activity is not None and activity.state is ActivityState.ACTIVE):
            clears.add("agent-idle")

        if new in _NO_MESSAGES:
            # A dead agent cannot act, and text typed at a question would answer it: only the
            # reactions of entering the status run now; the others fire once the agent is back.
            requests = [r for r in requests if r.key in _STATUS_BOUND]
        for key in clears:
            if key in states:
                self.store.clear_reaction(session.id, key)
                states.pop(key)
        outcomes: list[ReactionOutcome] = []
        for req in requests:
            try:
                outcome = await self.reactions.run(req, states.get(req.key))
            except Exception as exc:  # one reaction's trouble never stops the others
                log.exception("session %s: reaction %s failed", session.id, req.key)
                outcome = ReactionOutcome(req.key, None, "failed", handled=False, detail=_describe(exc))
            outcomes.append(outcome)
            if outcome.result != "already" and outcome.result != "unconfigured":
                report.reactions.append(
                    ReactionRecord(
                        session.id,
                        req.key,
                        outcome.action.value if outcome.action else None,
                        outcome.result,
                        outcome.detail,
                        outcome.attempts,
                    )
                )
            if req.key in ("merge-conflicts", "bugbot-comments") and not outcome.handled:
                await self._announce(req, now)
        return outcomes

    async def _announce(self, req: ReactionRequest, now: datetime) -> None:
        """Tell humans about conflicts or bot comments the reaction did not handle, once per content."""
        session = self.store.get_session(req.session.id) or req.session
        announced = dict(session.metadata.get("announced") or {})
        if req.fingerprint is None or announced.get(req.key) == req.fingerprint:
            return
        kind = EventType.MERGE_CONFLICTS if req.key == "merge-conflicts" else EventType.AUTOMATED_REVIEW_FOUND
        event = OrchestratorEvent(
            type=kind,
            priority=infer_priority(kind),
            session_id=req.session.id,
            project_id=req.session.project_id,
            timestamp=now,
            message=req.summary,
            data=req.data,
        )
        await self._emit(event, True)
        announced[req.key] = req.fingerprint
        self.store.set_metadata(req.session.id, "announced", announced)

    def _closing(self, session: Session, key: str) -> str:
        cfg = self.reactions.config_for(session, key)
        return closing(key, cfg.message if cfg is not None else None)

    @staticmethod
    def _status_summary(key: str, session: Session, decision: Decision, pr: PRInfo | None) -> str:
        sid = session.id
        if key == "agent-stuck":
            return f"{sid}: stuck — {decision.evidence}"
        if key == "agent-needs-input":
            return f"{sid}: needs your input — {decision.evidence}"
        if key == "agent-exited":
            return f"{sid}: the agent is gone — {decision.evidence}. Restore it with: ao session restore {sid}"
        if key == "pr-closed" and pr is not None:
            return f"{sid}: PR #{pr.number} was closed without merging: {pr.url}"
        return f"{sid}: {decision.evidence}"

    def _mark_auto_merged(self, check: _Check, old: SessionStatus, report: PollReport, now: datetime) -> SessionStatus:
        session = check.session
        number = f"#{check.pr.number}" if check.pr is not None else ""
        evidence = f"PR {number}: auto-merged (squash)"
        check.session = self.store.update_session(session.id, status=SessionStatus.MERGED, status_evidence=evidence)
        self.store.record_transition(session.id, old, SessionStatus.MERGED, evidence, at=now)
        self.store.set_metadata(session.id, "lifecycleStatus", SessionStatus.MERGED.value)
        report.transitions.append(TransitionRecord(session.id, old.value, SessionStatus.MERGED.value, evidence))
        return SessionStatus.MERGED

    # ------------------------------------------------------------------ after the end of a session

    async def _after_terminal(self, session: Session, report: PollReport, now: datetime) -> None:
        """A session another process ended (``ao status`` found its runtime gone, a merge from the dashboard)."""
        self.store.set_metadata(session.id, "lifecycleStatus", session.status.value)
        kind = {
            SessionStatus.KILLED: EventType.SESSION_KILLED,
            SessionStatus.ERRORED: EventType.SESSION_ERRORED,
            SessionStatus.MERGED: EventType.MERGE_COMPLETED,
        }.get(session.status)
        if kind is None:
            return
        evidence = session.status_evidence or session.status.value
        event = OrchestratorEvent(
            type=kind,
            priority=infer_priority(kind),
            session_id=session.id,
            project_id=session.project_id,
            timestamp=now,
            message=f"{session.id}: {session.status.value} — {evidence}",
            data={"newStatus": session.status.value, "evidence": evidence},
        )
        await self._emit(event, False)
        if evidence.startswith(_MANUAL_KILL_PREFIXES):
            return  # the human did it: nothing to tell them
        handled = False
        if session.status is SessionStatus.KILLED:
            req = ReactionRequest(
                session=session,
                key="agent-exited",
                fingerprint=f"killed@{now.isoformat()}",
                summary=f"{session.id}: the agent is gone — {evidence}. Restore: ao session restore {session.id}",
                data={"evidence": evidence},
            )
            outcome = await self.reactions.run(req, self.store.get_reaction(session.id, "agent-exited"))
            report.reactions.append(
                ReactionRecord(
                    session.id,
                    req.key,
                    outcome.action.value if outcome.action else None,
                    outcome.result,
                    outcome.detail,
                    outcome.attempts,
                )
            )
            handled = outcome.handled
        if not handled:
            await self._deliver(event)
        if session.status is SessionStatus.MERGED and self.config.lifecycle.auto_cleanup_on_merge:
            await self._cleanup_merged([session], report, now)

    async def _cleanup_merged(self, sessions: list[Session], report: PollReport, now: datetime) -> None:
        checks = [
            _Check(session=s, project=self.config.projects[s.project_id])
            for s in sessions
            if s.project_id in self.config.projects
        ]
        await self._probe_agents([check for check in checks if check.session.runtime_handle is not None])
        for check in checks:
            await self._guard(check.session.id, report, self._cleanup(check.session, check.activity, report, now))

    async def _cleanup(
        self, session: Session, activity: ActivityDetection | None, report: PollReport, now: datetime
    ) -> None:
        """Kill a merged session once its agent is not busy or the grace period has passed."""
        if not self.config.lifecycle.auto_cleanup_on_merge:
            return
        current = self.store.get_session(session.id)
        if current is None or current.status is not SessionStatus.MERGED:
            return
        since = _parse_time(current.metadata.get("mergedPendingCleanupSince"))
        if since is None:
            since = now
            self.store.set_metadata(session.id, "mergedPendingCleanupSince", now.isoformat())
        grace = timedelta(milliseconds=self.config.lifecycle.merge_cleanup_idle_grace_ms)
        busy = activity is not None and activity.state in _BUSY
        if busy and now - since < grace:
            report.cleanups.append({"session_id": session.id, "result": "deferred", "detail": "the agent is busy"})
            return
        try:
            with anyio.fail_after(300):
                await self.manager.kill(session.id, reason="pr merged")
        except Exception as exc:  # kept merged; tried again next poll
            report.errors.append(f"{session.id}: clean-up after merge: {_describe(exc)}")
            report.cleanups.append({"session_id": session.id, "result": "failed", "detail": _describe(exc)})
            return
        self.store.set_metadata(session.id, "lifecycleStatus", SessionStatus.CLEANUP.value)
        self.store.set_metadata(session.id, "mergedPendingCleanupSince", None)
        report.transitions.append(
            TransitionRecord(session.id, SessionStatus.MERGED.value, SessionStatus.CLEANUP.value, "pr merged")
        )
        report.cleanups.append({"session_id": session.id, "result": "cleaned", "detail": "pr merged"})

    async def _all_complete(self, report: PollReport, now: datetime) -> None:
        """Tell once when every session of a project is over (again after new sessions end)."""
        by_project: dict[str, list[Session]] = {}
        for session in self.store.list_sessions():
            if session.project_id in self.config.projects:
                by_project.setdefault(session.project_id, []).append(session)
        for project_id, sessions in by_project.items():
            if any(not s.is_terminal for s in sessions):
                continue
            unmarked = [s for s in sessions if not self._completed(s.id)]
            if not unmarked:
                continue
            cfg = self.config.reaction_for(project_id, "all-complete")
            if cfg is not None and (cfg.auto or cfg.action is ReactionAction.NOTIFY):
                merged = sum(
                    1
                    for s in unmarked
                    if s.status in (SessionStatus.MERGED, SessionStatus.CLEANUP)
                    or (s.metadata.get("prSnapshot") or {}).get("state") == PRState.MERGED.value
                )
                cost = sum(s.agent_info.cost.estimated_cost_usd for s in unmarked if s.agent_info and s.agent_info.cost)
                counts: dict[str, int] = {}
                for s in unmarked:
                    counts[s.status.value] = counts.get(s.status.value, 0) + 1
                by_status = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
                latest = max(unmarked, key=lambda s: (s.created_at, s.id))
                event = OrchestratorEvent(
                    type=EventType.SUMMARY_ALL_COMPLETE,
                    priority=cfg.priority or infer_priority(EventType.SUMMARY_ALL_COMPLETE),
                    session_id=latest.id,
                    project_id=project_id,
                    timestamp=now,
                    message=(
                        f"{project_id}: all {len(unmarked)} session(s) are done ({by_status}) — "
                        f"{merged} PR(s) merged; total cost ${cost:.2f}"
                    ),
                    data={
                        "sessions": [
                            {"id": s.id, "status": s.status.value, "prUrl": s.pr.url if s.pr else None}
                            for s in unmarked
                        ],
                        "prsMerged": merged,
                        "totalCostUsd": round(cost, 4),
                    },
                )
                await self._emit(event, True)
                report.reactions.append(ReactionRecord(latest.id, "all-complete", cfg.action.value, "notified"))
            for s in unmarked:
                self.store.record_reaction_attempt(s.id, "all-complete", fingerprint="summary", at=now)
                self._complete_marks[s.id] = True

    def _completed(self, session_id: str) -> bool:
        known = self._complete_marks.get(session_id)
        if known is None:
            known = self.store.get_reaction(session_id, "all-complete") is not None
            self._complete_marks[session_id] = known
        return known

    # ------------------------------------------------------------------ review-check

    async def _review_check_one(
        self, session: Session, report: PollReport, *, dry_run: bool, force: bool
    ) -> ReviewCheckResult:
        pr = session.pr
        assert pr is not None
        scm = self.manager.scm_for(session.project_id)
        if scm is None:
            return ReviewCheckResult(session.id, pr.url, 0, False, None, "no SCM configured")
        reviews = await self._fetch_reviews(scm, pr, report)
        decision = await self._scm_call(report, scm, "get_review_decision", scm.get_review_decision(pr))
        changes = decision is ReviewDecision.CHANGES_REQUESTED
        if not reviews.human and not changes:
            return ReviewCheckResult(session.id, pr.url, 0, False, None, "nothing to address")
        message = review_message(pr, reviews.human, reviews.reviews, self._closing(session, "changes-requested"))
        fp = review_fingerprint(reviews.human, reviews.reviews)
        if dry_run:
            return ReviewCheckResult(session.id, pr.url, len(reviews.human), changes, message, "dry run")
        state = self.store.get_reaction(session.id, "changes-requested")
        if state is not None and state.last_fingerprint == fp and not force:
            return ReviewCheckResult(session.id, pr.url, len(reviews.human), changes, message, "already sent")
        await self.reactions.deliver_to_agent(session, message)
        self.store.record_reaction_attempt(session.id, "changes-requested", fingerprint=fp, at=self._clock())
        return ReviewCheckResult(session.id, pr.url, len(reviews.human), changes, message, "sent")

    # ------------------------------------------------------------------ events and SCM calls

    async def _emit(self, event: OrchestratorEvent, deliver: bool) -> list[NotifyResult]:
        self.store.record_event(event)
        record = EventRecord(event.id, event.type.value, event.priority.value, event.session_id, event.message, deliver)
        if self._current is not None:
            self._current.events.append(record)
        if not deliver:
            return []
        results = await self.dispatcher.deliver(event)
        record.results = [r.model_dump(mode="json") for r in results]
        return results

    async def _deliver(self, event: OrchestratorEvent) -> None:
        """Deliver an event recorded earlier in this poll (the transition notification)."""
        results = await self.dispatcher.deliver(event)
        if self._current is not None:
            for record in self._current.events:
                if record.id == event.id:
                    record.delivered = True
                    record.results = [r.model_dump(mode="json") for r in results]

    async def _scm_call(self, report: PollReport, scm: SCM, method: str, call: Awaitable[T]) -> T:
        """Await ``call`` under the SCM timeout, unless the SCM's rate limit is exhausted.

        A ``RateLimitedError`` pauses every call to that SCM plugin until the reset time (a minute when
        the host names none): an exhausted budget is not spent further, and the calls refused meanwhile
        raise ``RateLimitedError`` at once, without a request.
        """
        paused = self._scm_paused.get(id(scm))
        if paused is not None:
            until, cause = paused
            if self._clock() < until:
                if inspect.iscoroutine(call):
                    call.close()
                raise RateLimitedError(cause.host, cause.reset_at, f"{method} not sent until the reset")
            del self._scm_paused[id(scm)]
        report.scm_calls[scm.name] = report.scm_calls.get(scm.name, 0) + 1
        try:
            with anyio.fail_after(self.scm_timeout_s):
                return await call
        except RateLimitedError as exc:
            until = exc.reset_at or self._clock() + _RATE_LIMIT_PAUSE
            self._scm_paused[id(scm)] = (until, exc)
            log.warning("%s: rate limited; no calls to it until %s", scm.name, until.isoformat(timespec="seconds"))
            raise

    async def _scm_call_current(self, scm: SCM, method: str, call: Awaitable[T]) -> T:
        report = self._current or PollReport(started_at=self._clock())
        return await self._scm_call(report, scm, method, call)


# =========================================================================== helpers


_RATE_LIMIT_PAUSE = timedelta(minutes=1)
"""How long an SCM is left alone after a rate-limit answer that names no reset time."""


def _request_count(scm: SCM) -> int | None:
    """The SCM plugin's own request counter, when it keeps one (``request_count``, or a fake's ``total_calls``)."""
    count = getattr(scm, "request_count", None)
    if isinstance(count, int):
        return count
    total = getattr(scm, "total_calls", None)
    if callable(total):
        value = total()
        return value if isinstance(value, int) else None
    return None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, AoError):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _age_s(now: datetime, value: Any) -> float | None:
    then = _parse_time(value)
    return None if then is None else (now - then).total_seconds()


def _review_key(snapshot: PRSnapshot) -> str:
    return f"{snapshot.state.value}|{snapshot.head_sha or ''}|{snapshot.review_decision.value}"


def _review_meta(reviews: ReviewData, snapshot: PRSnapshot, now: datetime) -> dict[str, Any]:
    """What the dashboard and the next poll need of the review threads (bodies clipped)."""
    comments = [
        {
            "id": c.id,
            "path": c.path,
            "line": c.line,
            "author": c.author,
            "body": c.body[:500],
            "url": c.url,
            "bot": c.is_bot,
        }
        for c in [*reviews.human, *reviews.bots][:_MAX_STORED_COMMENTS]
    ]
    return {
        "checkedAt": now.isoformat(),
        "key": _review_key(snapshot),
        "unresolved": len(reviews.human),
        "bots": len(reviews.bots),
        "comments": comments,
    }


def _pr_data(check: _Check) -> dict[str, Any]:
    if check.pr is None:
        return {}
    data: dict[str, Any] = {"prUrl": check.pr.url, "prNumber": check.pr.number}
    if check.snapshot is not None:
        data["ciStatus"] = check.snapshot.ci_status.value
        data["reviewDecision"] = check.snapshot.review_decision.value
    return data


def _last_activity(check: _Check, now: datetime) -> datetime | None:
    activity = check.activity
    if activity is None or activity.state is ActivityState.EXITED:
        return None
    if activity.timestamp is not None:
        return activity.timestamp
    if check.activity_source == "terminal" and activity.state is ActivityState.ACTIVE:
        return now
    return None


def _set_if_changed(target: dict[str, Any], current: dict[str, Any], key: str, value: Any) -> None:
    if current.get(key) != value:
        target[key] = value
