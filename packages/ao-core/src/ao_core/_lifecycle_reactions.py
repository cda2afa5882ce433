"""Reactions: what ao does by itself, with retries and escalation counted in the store.

A :class:`ReactionRequest` asks to run the reaction ``key`` for some content (its fingerprint). The engine
looks up the effective config (``config.reaction_for(project, key)``) and the persisted bookkeeping, and

- does nothing when that content was already handled (same fingerprint), except escalating when an
  ``escalateAfter`` duration has passed since the reaction first fired;
- escalates to a human instead of acting once ``retries`` or an ``escalateAfter`` count is exceeded
  (a ``reaction.escalated`` event at the reaction's priority, default urgent; recorded once);
- otherwise acts: ``send-to-agent`` (the content message, else the configured ``message``, else a
  built-in one), ``notify`` (a ``reaction.triggered`` event), ``auto-merge`` (merges through the SCM when
  approved or unreviewed, CI passing, no conflicts, not a draft; re-checked right before merging).

Every run counts one attempt. A successful run stores its fingerprint, a failed one stores none, so the
same content is tried again on the next poll (and counts towards escalation).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import anyio

from ao_core._lifecycle_messages import instruction
from ao_core.config import DEFAULT_REACTIONS, ReactionConfig, parse_duration_ms
from ao_core.errors import AoError, SessionError
from ao_core.interfaces import SCM
from ao_core.models import (
    CIStatus,
    EventPriority,
    EventType,
    MergeMethod,
    NotifyResult,
    OrchestratorEvent,
    PRInfo,
    PRSnapshot,
    ReactionAction,
    ReviewDecision,
    Session,
)

if TYPE_CHECKING:
    from ao_core.sessions import SessionManager
    from ao_core.store import ReactionState, Store

__all__ = ["ReactionEngine", "ReactionOutcome", "ReactionRequest"]

log = logging.getLogger("ao.lifecycle")

T = TypeVar("T")


class ScmCaller(Protocol):
    """Runs one SCM call under the lifecycle manager's timeout and counts it."""

    async def __call__(self, scm: SCM, method: str, call: Awaitable[T]) -> T:
        """Await ``call`` (a call of ``scm.<method>``)."""
        ...


Emit = Callable[[OrchestratorEvent, bool], Awaitable[list[NotifyResult]]]
"""Records an event and, when the flag is true, delivers it to the routed notifiers."""


@dataclass
class ReactionRequest:
    """One reaction to run for one session.

    Attributes:
        session: The session.
        key: The reaction key (``ci-failed``...).
        fingerprint: The content acted on; ``None`` runs without deduplication.
        summary: One line for humans, starting with the session id (notifications, escalations).
        agent_message: What ``send-to-agent`` sends (``None``: the configured or built-in message).
        pr: The session's pull request, if any.
        snapshot: Its fresh snapshot, if any.
        scm: The project's SCM, if any.
        sent_event: The event recorded after a successful send (``ci.fix_sent``...).
        data: Extra event data (``prUrl``, ``ciStatus``...).
    """

    session: Session
    key: str
    fingerprint: str | None
    summary: str
    agent_message: str | None = None
    pr: PRInfo | None = None
    snapshot: PRSnapshot | None = None
    scm: SCM | None = None
    sent_event: EventType | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class ReactionOutcome:
    """What running a reaction did.

    Attributes:
        key: The reaction key.
        action: The configured action (``None`` when the reaction is not configured).
        result: ``sent``, ``notified``, ``merged``, ``refused``, ``escalated``, ``already`` (this content was
            handled before), ``failed``, ``disabled`` (``auto: false``) or ``unconfigured``.
        handled: Whether the reaction did its job or a human was told: only then is the plain transition
            notification left out.
        detail: Why, for humans.
        attempts: The attempt count after this run.
        merged: Whether an auto-merge merged the pull request.
    """

    key: str
    action: ReactionAction | None
    result: str
    handled: bool
    detail: str = ""
    attempts: int = 0
    merged: bool = False


class ReactionEngine:
    """Runs reactions for the lifecycle manager (see the module docstring).

    Args:
        store: Where attempts, fingerprints and escalations are kept.
        manager: Sessions (plugins for delivering messages to agents).
        emit: Records (and delivers) events.
        scm_call: Runs an SCM call with a timeout and counts it.
        clock: The current time.
        send_ready_wait_s: How long a message waits for the agent to finish its turn before it is queued.
        send_timeout_s: How long delivering a message to the runtime may take.
    """

    def __init__(
        self,
        store: Store,
        manager: SessionManager,
        *,
        emit: Emit,
        scm_call: ScmCaller,
        clock: Callable[[], datetime],
        send_ready_wait_s: float = 2.0,
        send_timeout_s: float = 30.0,
    ) -> None:
        self.store = store
        self.manager = manager
        self.config = manager.config
        self._emit = emit
        self._scm_call = scm_call
        self._clock = clock
        self.send_ready_wait_s = send_ready_wait_s
        self.send_timeout_s = send_timeout_s

    def config_for(self, session: Session, key: str) -> ReactionConfig | None:
        """The effective reaction config for a session's project."""
        return self.config.reaction_for(session.project_id, key)

    async def run(self, req: ReactionRequest, state: ReactionState | None) -> ReactionOutcome:
        """Run one reaction request (see the module docstring for the rules).

        Args:
            req: What to run.
            state: The reaction's persisted bookkeeping (``store.get_reaction``), ``None`` if none.

        Returns:
            What happened.
        """
        cfg = self.config_for(req.session, req.key)
        if cfg is None:
            return ReactionOutcome(req.key, None, "unconfigured", handled=False, detail="no such reaction configured")
        action = cfg.action
        if not cfg.auto and action is not ReactionAction.NOTIFY:
            return ReactionOutcome(req.key, action, "disabled", handled=False, detail="auto: false")
        now = self._clock()
        sid, key = req.session.id, req.key
        if state is not None and state.escalated:
            attempts = state.attempts
            if req.fingerprint is not None and state.last_fingerprint != req.fingerprint:
                attempts = self.store.record_reaction_attempt(sid, key, fingerprint=req.fingerprint, at=now).attempts
            return ReactionOutcome(key, action, "already", handled=True, detail="escalated earlier", attempts=attempts)
        if req.fingerprint is not None and state is not None and state.last_fingerprint == req.fingerprint:
            if _timer_due(cfg, state, now):
                return await self._escalate(req, cfg, state.attempts, now, state)
            return ReactionOutcome(key, action, "already", handled=True, attempts=state.attempts)
        attempts = (state.attempts if state is not None else 0) + 1
        if _count_due(cfg, attempts) or (state is not None and _timer_due(cfg, state, now)):
            self.store.record_reaction_attempt(sid, key, fingerprint=req.fingerprint, at=now)
            return await self._escalate(req, cfg, attempts, now, state)
        try:
            if action is ReactionAction.SEND_TO_AGENT:
                return await self._send(req, cfg, attempts, now)
            if action is ReactionAction.NOTIFY:
                return await self._notify(req, cfg, attempts, now)
            return await self._auto_merge(req, cfg, attempts, now)
        except AoError as exc:
            self.store.record_reaction_attempt(sid, key, fingerprint=None, at=now)
            return ReactionOutcome(key, action, "failed", handled=False, detail=str(exc), attempts=attempts)

    # ------------------------------------------------------------------ escalation

    async def _escalate(
        self, req: ReactionRequest, cfg: ReactionConfig, attempts: int, now: datetime, state: ReactionState | None
    ) -> ReactionOutcome:
        self.store.mark_reaction_escalated(req.session.id, req.key, at=now)
        since = ""
        if state is not None:
            minutes = int((now - state.first_triggered_at).total_seconds() // 60)
            since = f" over {minutes} min" if minutes else ""
        event = OrchestratorEvent(
            type=EventType.REACTION_ESCALATED,
            priority=cfg.priority or EventPriority.URGENT,
            session_id=req.session.id,
            project_id=req.session.project_id,
            timestamp=now,
            message=f"{req.summary} — reaction '{req.key}' escalated to you after {attempts} attempt(s){since}",
            data={**req.data, "reactionKey": req.key, "attempts": attempts},
        )
        await self._emit(event, True)
        return ReactionOutcome(
            req.key, cfg.action, "escalated", handled=True, detail=f"after {attempts} attempt(s)", attempts=attempts
        )

    # ------------------------------------------------------------------ actions

    async def _send(self, req: ReactionRequest, cfg: ReactionConfig, attempts: int, now: datetime) -> ReactionOutcome:
        text = req.agent_message or instruction(req.key, cfg.message)
        sid, key = req.session.id, req.key
        try:
            await self.deliver_to_agent(req.session, text)
        except Exception as exc:  # any plugin failure: counted, retried next poll, never raised into the poll
            detail = str(exc) if isinstance(exc, AoError) else f"{type(exc).__name__}: {exc}"
            log.warning("session %s: reaction %s could not reach the agent: %s", sid, key, detail)
            self.store.record_reaction_attempt(sid, key, fingerprint=None, at=now)
            return ReactionOutcome(key, cfg.action, "failed", handled=False, detail=detail, attempts=attempts)
        self.store.record_reaction_attempt(sid, key, fingerprint=req.fingerprint, at=now)
        if req.sent_event is not None:
            event = OrchestratorEvent(
                type=req.sent_event,
                priority=EventPriority.INFO,
                session_id=sid,
                project_id=req.session.project_id,
                timestamp=now,
                message=f"sent to the agent: {req.summary}",
                data={**req.data, "reactionKey": key, "attempts": attempts},
            )
            await self._emit(event, False)
        return ReactionOutcome(
            key, cfg.action, "sent", handled=True, detail=f"{len(text)} characters", attempts=attempts
        )

    async def deliver_to_agent(self, session: Session, text: str) -> None:
        """Type a message into the session's agent: wait briefly for it to finish its turn, else queue it.

        Agents such as Claude Code and Codex queue what is typed while they work, so a busy agent still
        gets the message; waiting a moment first makes it arrive as a fresh turn when the agent is about
        to finish anyway. A session without a runtime is an error (it is never restored from here).

        Raises:
            SessionError: The session has no runtime, or delivery failed or timed out.
        """
        handle = session.runtime_handle
        if handle is None:
            raise SessionError(f"session '{session.id}' has no runtime session to send to")
        runtime = self.manager.runtime_for(session.project_id, handle.runtime_name)
        agent = self.manager.agent_for(
            session.project_id, session.agent or self.manager.agent_name_for(session.project_id)
        )
        if self.send_ready_wait_s > 0:
            await self.manager.wait_until_ready(session, runtime, agent, handle, timeout_s=self.send_ready_wait_s)
        try:
            with anyio.fail_after(self.send_timeout_s):
                await runtime.send_message(handle, text)
        except TimeoutError:
            raise SessionError(
                f"session '{session.id}': sending to the agent did not finish within {self.send_timeout_s:g}s"
            ) from None

    async def _notify(self, req: ReactionRequest, cfg: ReactionConfig, attempts: int, now: datetime) -> ReactionOutcome:
        text = req.summary
        default = DEFAULT_REACTIONS.get(req.key)
        custom = cfg.message.strip() if cfg.message else ""
        if custom and (default is None or custom != (default.message or "").strip()):
            text = f"{req.session.id}: {custom}" + (f" ({req.pr.url})" if req.pr is not None else "")
        event = OrchestratorEvent(
            type=EventType.REACTION_TRIGGERED,
            priority=cfg.priority or EventPriority.INFO,
            session_id=req.session.id,
            project_id=req.session.project_id,
            timestamp=now,
            message=text,
            data={**req.data, "reactionKey": req.key, "attempts": attempts},
        )
        results = await self._emit(event, True)
        delivered = not results or any(r.ok for r in results)
        self.store.record_reaction_attempt(
            req.session.id, req.key, fingerprint=req.fingerprint if delivered else None, at=now
        )
        if not delivered:
            errors = "; ".join(f"{r.notifier}: {r.error}" for r in results)
            return ReactionOutcome(req.key, cfg.action, "failed", handled=False, detail=errors, attempts=attempts)
        return ReactionOutcome(
            req.key,
            cfg.action,
            "notified",
            handled=True,
            detail=", ".join(r.notifier for r in results),
            attempts=attempts,
        )

    async def _auto_merge(
        self, req: ReactionRequest, cfg: ReactionConfig, attempts: int, now: datetime
    ) -> ReactionOutcome:
        pr, snap, scm = req.pr, req.snapshot, req.scm
        sid = req.session.id
        reasons: list[str] = []
        if pr is None or snap is None or scm is None:
            reasons.append("no fresh pull request data")
        else:
            if snap.review_decision not in (ReviewDecision.APPROVED, ReviewDecision.NONE):
                reasons.append(f"review is {snap.review_decision.value}")
            if snap.ci_status is not CIStatus.PASSING:
                reasons.append(f"CI is {snap.ci_status.value}")
            if snap.has_conflicts:
                reasons.append("the branch has merge conflicts")
            if snap.is_draft or pr.is_draft:
                reasons.append("the pull request is a draft")
            if not reasons:
                try:
                    readiness = await self._scm_call(scm, "get_mergeability", scm.get_mergeability(pr))
                    if not readiness.mergeable:
                        reasons.extend(readiness.blockers or ["the host says it cannot be merged"])
                except Exception as exc:  # a refusal to report, whatever the plugin raised
                    reasons.append(f"cannot check mergeability: {_describe(exc)}")
            if not reasons:
                try:
                    await self._scm_call(scm, "merge_pr", scm.merge_pr(pr, MergeMethod.SQUASH))
                except Exception as exc:  # the host's refusal, told to the human below
                    reasons.append(_describe(exc))
        self.store.record_reaction_attempt(sid, req.key, fingerprint=req.fingerprint, at=now)
        number = f"#{pr.number}" if pr is not None else ""
        url = f" — {pr.url}" if pr is not None else ""
        if reasons:
            event = OrchestratorEvent(
                type=EventType.REACTION_TRIGGERED,
                priority=cfg.priority or EventPriority.ACTION,
                session_id=sid,
                project_id=req.session.project_id,
                timestamp=now,
                message=f"{sid}: auto-merge of PR {number} refused: {'; '.join(reasons)}{url}",
                data={**req.data, "reactionKey": req.key, "reasons": reasons},
            )
            results = await self._emit(event, True)
            told = not results or any(r.ok for r in results)
            return ReactionOutcome(
                req.key, cfg.action, "refused", handled=told, detail="; ".join(reasons), attempts=attempts
            )
        event = OrchestratorEvent(
            type=EventType.MERGE_COMPLETED,
            priority=EventPriority.ACTION,
            session_id=sid,
            project_id=req.session.project_id,
            timestamp=now,
            message=f"{sid}: PR {number} was auto-merged (squash){url}",
            data={**req.data, "reactionKey": req.key, "mergeMethod": MergeMethod.SQUASH.value},
        )
        await self._emit(event, True)
        return ReactionOutcome(req.key, cfg.action, "merged", handled=True, attempts=attempts, merged=True)


def _escalate_after(cfg: ReactionConfig) -> tuple[int | None, timedelta | None]:
    value = cfg.escalate_after
    if isinstance(value, str):
        return None, timedelta(milliseconds=parse_duration_ms(value))
    return value, None


def _count_due(cfg: ReactionConfig, attempts: int) -> bool:
    """Whether this attempt exceeds ``retries`` or a numeric ``escalateAfter``."""
    count, _ = _escalate_after(cfg)
    return (cfg.retries is not None and attempts > cfg.retries) or (count is not None and attempts > count)


def _timer_due(cfg: ReactionConfig, state: ReactionState, now: datetime) -> bool:
    """Whether a duration ``escalateAfter`` has passed since the reaction first fired."""
    _, span = _escalate_after(cfg)
    return span is not None and state.attempts > 0 and now - state.first_triggered_at > span


def _describe(exc: BaseException) -> str:
    if isinstance(exc, AoError):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"
