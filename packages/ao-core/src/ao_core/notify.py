"""Telling humans: priority inference, routing of events to notifiers, and isolated delivery.

An event reaches the notifiers configured for its priority (``notificationRouting``), else the default
notifiers (``defaults.notifiers``). Each notifier call runs concurrently with the others, under its own
timeout, and its outcome (ok, error text, duration) is recorded on the event in the store. A notifier that
raises or hangs never stops the others, and delays the caller by at most the timeout::

    dispatcher = Dispatcher(config, registry, store, timeout_s=10)
    store.record_event(event)
    results = await dispatcher.deliver(event)
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING

import anyio
import anyio.abc

from ao_core.config import OrchestratorConfig, PluginRef
from ao_core.errors import AoError
from ao_core.interfaces import Notifier, SupportsActions
from ao_core.models import EventPriority, EventType, NotifyAction, NotifyResult, OrchestratorEvent

if TYPE_CHECKING:
    from ao_core.registry import Registry
    from ao_core.store import Store

__all__ = ["DEFAULT_NOTIFY_TIMEOUT_S", "Dispatcher", "infer_priority", "route"]

log = logging.getLogger("ao.notify")

DEFAULT_NOTIFY_TIMEOUT_S = 10.0
"""Seconds one notifier call may take before it counts as failed."""

_MAX_ERROR_CHARS = 500


def infer_priority(event_type: EventType | str) -> EventPriority:
    """The priority of an event type, by the rules of the original tool.

    ``stuck``, ``needs_input`` or ``errored`` in the type → urgent; ``summary.*`` → info; ``approved``,
    ``ready``, ``merged`` or ``completed`` → action; ``fail``, ``changes_requested`` or ``conflicts`` →
    warning; anything else → info.

    Args:
        event_type: An event type (``ci.failing``) or its value.

    Returns:
        The inferred priority.
    """
    kind = str(EventType(event_type).value if isinstance(event_type, EventType) else event_type)
    if any(word in kind for word in ("stuck", "needs_input", "errored")):
        return EventPriority.URGENT
    if kind.startswith("summary."):
        return EventPriority.INFO
    if any(word in kind for word in ("approved", "ready", "merged", "completed")):
        return EventPriority.ACTION
    if any(word in kind for word in ("fail", "changes_requested", "conflicts")):
        return EventPriority.WARNING
    return EventPriority.INFO


def route(config: OrchestratorConfig, event: OrchestratorEvent) -> list[str]:
    """The names of the notifiers that should hear of an event.

    ``notificationRouting[<priority>]`` when the priority is routed (an empty list routes to nobody), else
    ``defaults.notifiers``. A name is a key of ``notifiers`` or a notifier plugin's name. Duplicates are
    removed, order kept.

    Args:
        config: The configuration.
        event: The event; its ``priority`` picks the route.

    Returns:
        Notifier names, in configured order.
    """
    priority = EventPriority(event.priority)
    names = config.notification_routing.get(priority)
    if names is None:
        names = config.defaults.notifiers
    return list(dict.fromkeys(names))


class Dispatcher:
    """Delivers events to the routed notifiers, each call isolated and bounded; records the outcomes.

    Notifier plugins are created on first use (``notifiers.<name>`` of the config, else the plugin named
    ``<name>``) and kept. A notifier that cannot be created counts as a failed delivery.

    Inside :meth:`background` (the daemon enters it for its lifetime) each call runs in a task of the
    background task group, so a notifier that ignores cancellation (a blocking call in a worker thread)
    still delays a delivery by at most the timeout; outside it, calls run in a task group of their own and
    are cancelled at the timeout.

    Args:
        config: The configuration (``notifiers``, ``notificationRouting``, ``defaults.notifiers``).
        registry: Where notifier plugins come from.
        store: Where delivery results are recorded (``Store.set_event_results``).
        timeout_s: Seconds each notifier call may take.
    """

    def __init__(
        self,
        config: OrchestratorConfig,
        registry: Registry,
        store: Store,
        *,
        timeout_s: float = DEFAULT_NOTIFY_TIMEOUT_S,
    ) -> None:
        self.config = config
        self.registry = registry
        self.store = store
        self.timeout_s = timeout_s
        self._notifiers: dict[str, Notifier] = {}
        self._background: anyio.abc.TaskGroup | None = None

    @contextlib.asynccontextmanager
    async def background(self) -> AsyncIterator[None]:
        """Run notifier calls in a task group that lives as long as this context (see the class docs)."""
        async with anyio.create_task_group() as tg:
            self._background = tg
            try:
                yield
            finally:
                self._background = None
                tg.cancel_scope.cancel()

    def notifier(self, name: str) -> Notifier:
        """The notifier instance for a routing name (created on first use).

        Raises:
            PluginError: The plugin is unknown or cannot be built.
            ConfigError: Its options do not validate.
        """
        found = self._notifiers.get(name)
        if found is None:
            ref = self.config.notifiers.get(name)
            key_path = f"notifiers.{name}" if ref is not None else "defaults.notifiers"
            found = self.registry.notifier(ref or PluginRef(plugin=name), key_path=key_path, config=self.config)
            self._notifiers[name] = found
        return found

    async def deliver(
        self,
        event: OrchestratorEvent,
        *,
        actions: Sequence[NotifyAction] = (),
        names: Sequence[str] | None = None,
        record: bool = True,
    ) -> list[NotifyResult]:
        """Deliver an event to its notifiers concurrently and record the results on the (recorded) event.

        Args:
            event: The event; it must already be recorded (``Store.record_event``) when ``record`` is true.
            actions: Buttons or links, for notifiers that support them (others get a plain ``notify``).
            names: The notifiers to use instead of the routed ones.
            record: Whether to store the results on the event.

        Returns:
            One result per notifier, in routing order.
        """
        targets = route(self.config, event) if names is None else list(dict.fromkeys(names))
        results: dict[str, NotifyResult] = {}
        if targets:
            async with anyio.create_task_group() as tg:
                for name in targets:
                    tg.start_soon(self._deliver_one, name, event, list(actions), results)
        ordered = [results[name] for name in targets]
        if record:
            try:
                self.store.set_event_results(event.id, ordered)
            except AoError as exc:
                log.error("cannot record delivery results of event %s: %s", event.id, exc)
        for result in ordered:
            if not result.ok:
                log.warning("notifier %s did not deliver %s: %s", result.notifier, event.type, result.error)
        return ordered

    async def _deliver_one(
        self, name: str, event: OrchestratorEvent, actions: list[NotifyAction], results: dict[str, NotifyResult]
    ) -> None:
        started = time.monotonic()

        def done(error: str | None) -> None:
            results[name] = NotifyResult(
                notifier=name,
                ok=error is None,
                error=None if error is None else error[:_MAX_ERROR_CHARS],
                duration_ms=int((time.monotonic() - started) * 1000),
            )

        try:
            notifier = self.notifier(name)
        except AoError as exc:
            done(f"cannot create notifier '{name}': {exc}")
            return
        outcome: list[str | None] = []
        finished = anyio.Event()
        scope = anyio.CancelScope()

        async def call() -> None:
            try:
                with scope:
                    try:
                        if actions and isinstance(notifier, SupportsActions):
                            await notifier.notify_with_actions(event, actions)
                        else:
                            await notifier.notify(event)
                        outcome.append(None)
                    except Exception as exc:  # a notifier's failure must never reach the caller
                        outcome.append(_describe(exc))
            finally:
                finished.set()

        if self._background is not None:
            self._background.start_soon(call)
            with anyio.move_on_after(self.timeout_s):
                await finished.wait()
            if not finished.is_set():
                scope.cancel()
        else:
            with anyio.move_on_after(self.timeout_s):
                await call()
        if outcome:
            done(outcome[0])
        else:
            done(f"timed out after {self.timeout_s:g}s")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, AoError):
        return str(exc)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
