"""A notifier that records what it was asked to deliver, and can be told to fail or hang."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import anyio
import anyio.lowlevel

from ao_core.errors import NotifyError
from ao_core.models import NotifyAction, NotifyContext, OrchestratorEvent
from ao_core.testing._calls import CallRecorder

__all__ = ["RecordingNotifier"]


class RecordingNotifier(CallRecorder):
    """Records every event, action list and post; for notification routing tests.

    :meth:`fail_with` makes every delivery raise a :class:`~ao_core.errors.NotifyError`;
    :meth:`hang_for` makes every delivery sleep first (so the kernel's per-call timeout can be tested).
    A delivery that fails or is cancelled is not recorded.

    Implements :class:`~ao_core.interfaces.SupportsActions` and :class:`~ao_core.interfaces.SupportsPost`.
    """

    def __init__(self, name: str = "recording") -> None:
        super().__init__()
        self._name = name
        self.events: list[OrchestratorEvent] = []
        """Every event delivered, by ``notify`` or ``notify_with_actions``, in order."""
        self.actions: list[tuple[OrchestratorEvent, list[NotifyAction]]] = []
        """Every ``notify_with_actions`` delivery."""
        self.posts: list[tuple[str, NotifyContext | None]] = []
        """Every ``post`` delivery."""
        self._error: NotifyError | None = None
        self._hang_seconds: float | None = None
        self._post_ids = itertools.count(1)

    @property
    def name(self) -> str:
        """The plugin name (``recording`` unless given)."""
        return self._name

    async def notify(self, event: OrchestratorEvent) -> None:
        """Record the event (after hanging or failing, when told to)."""
        await self._deliver("notify")
        self.events.append(event.model_copy(deep=True))

    async def notify_with_actions(self, event: OrchestratorEvent, actions: Sequence[NotifyAction]) -> None:
        """Record the event and its actions."""
        await self._deliver("notify_with_actions")
        self.events.append(event.model_copy(deep=True))
        self.actions.append((event.model_copy(deep=True), [action.model_copy() for action in actions]))

    async def post(self, message: str, context: NotifyContext | None = None) -> str | None:
        """Record the message; return an id ``post-<n>``."""
        await self._deliver("post")
        self.posts.append((message, None if context is None else context.model_copy()))
        return f"post-{next(self._post_ids)}"

    # ------------------------------------------------------------------ test controls

    def fail_with(self, error: NotifyError | str | None) -> None:
        """Make every delivery raise ``error`` (a reason string becomes a ``NotifyError``; ``None`` heals)."""
        self._error = NotifyError(self._name, error) if isinstance(error, str) else error

    def hang_for(self, seconds: float | None) -> None:
        """Make every delivery sleep ``seconds`` before it happens (``None``: deliver at once)."""
        self._hang_seconds = seconds

    @property
    def messages(self) -> list[str]:
        """The message of every delivered event, in order."""
        return [event.message for event in self.events]

    def clear(self) -> None:
        """Forget every delivery."""
        self.events.clear()
        self.actions.clear()
        self.posts.clear()

    async def _deliver(self, method: str) -> None:
        self._record(method)
        if self._hang_seconds is not None:
            await anyio.sleep(self._hang_seconds)
        else:
            await anyio.lowlevel.checkpoint()
        if self._error is not None:
            raise self._error.with_traceback(None)
