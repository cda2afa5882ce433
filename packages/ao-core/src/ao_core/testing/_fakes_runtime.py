"""An in-memory runtime: sessions are records, messages are appended to a scripted screen."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import anyio.lowlevel

from ao_core.errors import RuntimeFailedError
from ao_core.models import AttachInfo, RuntimeCreateConfig, RuntimeHandle, RuntimeMetrics
from ao_core.testing._calls import CallRecorder

__all__ = ["FakeRuntime", "FakeRuntimeSession"]


@dataclass
class FakeRuntimeSession:
    """One session of a :class:`FakeRuntime`."""

    id: str
    config: RuntimeCreateConfig
    alive: bool = True
    destroyed: bool = False
    screen: str = ""
    """What the session shows before anything was sent (set with :meth:`FakeRuntime.set_screen`)."""
    sent: list[str] = field(default_factory=list)
    """Every message sent, in order."""
    started_at: float = field(default_factory=time.monotonic)

    def output(self) -> str:
        """The whole screen: the scripted text followed by each message on its own line."""
        parts = [self.screen] if self.screen else []
        parts.extend(self.sent)
        return "\n".join(parts)


def _handle_id(handle: RuntimeHandle | str) -> str:
    return handle if isinstance(handle, str) else handle.id


class FakeRuntime(CallRecorder):
    """A runtime whose sessions live in memory; nothing is executed.

    ``create`` records the launch command and environment, ``send_message`` appends the message to the
    session's screen, and ``get_output`` returns the scripted screen followed by what was sent. Use
    :meth:`kill` to simulate a session that died on its own, :meth:`set_screen` to script what the agent
    shows, and ``calls`` / ``fail_on`` (from :class:`CallRecorder`) to count calls and inject failures.

    Implements :class:`~ao_core.interfaces.SupportsMetrics` and
    :class:`~ao_core.interfaces.SupportsAttachInfo`.
    """

    def __init__(self, name: str = "fake", *, fail_create: bool = False) -> None:
        super().__init__()
        self._name = name
        self.fail_create = fail_create
        """When true, ``create`` raises ``RuntimeFailedError`` (and leaves nothing behind)."""
        self.sessions: dict[str, FakeRuntimeSession] = {}
        """Every session ever created, by handle id (destroyed ones stay, marked ``destroyed``)."""
        self.launched: list[RuntimeCreateConfig] = []
        """The config of every successful ``create``, in order."""
        self.messages: list[tuple[str, str]] = []
        """Every message sent, as ``(handle id, message)``, in order, across sessions."""

    # ------------------------------------------------------------------ Runtime

    @property
    def name(self) -> str:
        """The plugin name (``fake`` unless given)."""
        return self._name

    async def create(self, config: RuntimeCreateConfig) -> RuntimeHandle:
        """Record a new live session named after ``config.session_id``.

        Raises:
            RuntimeFailedError: when ``fail_create`` is set, or a live session with that id exists.
        """
        await self._enter("create")
        if self.fail_create:
            raise RuntimeFailedError(f"fake runtime refused to create session '{config.session_id}' (fail_create)")
        existing = self.sessions.get(config.session_id)
        if existing is not None and existing.alive:
            raise RuntimeFailedError(
                f"a session named '{config.session_id}' is already running; destroy it first or pick another id"
            )
        self.sessions[config.session_id] = FakeRuntimeSession(id=config.session_id, config=config.model_copy(deep=True))
        self.launched.append(config.model_copy(deep=True))
        return RuntimeHandle(id=config.session_id, runtime_name=self._name, data={"workspace": config.workspace_path})

    async def destroy(self, handle: RuntimeHandle) -> None:
        """Mark the session dead and destroyed; a session that is gone is not an error."""
        await self._enter("destroy")
        session = self.sessions.get(handle.id)
        if session is not None:
            session.alive = False
            session.destroyed = True

    async def send_message(self, handle: RuntimeHandle, message: str) -> None:
        """Append ``message`` to the session's screen.

        Raises:
            RuntimeFailedError: when the session does not exist or is dead.
        """
        await self._enter("send_message")
        session = self.sessions.get(handle.id)
        if session is None or not session.alive:
            raise RuntimeFailedError(f"cannot send to session '{handle.id}': it is not running")
        session.sent.append(message)
        self.messages.append((handle.id, message))

    async def get_output(self, handle: RuntimeHandle, lines: int = 50) -> str:
        """The last ``lines`` lines of the screen (``""`` for unknown or destroyed sessions)."""
        await self._enter("get_output")
        session = self.sessions.get(handle.id)
        if session is None or session.destroyed or lines <= 0:
            return ""
        return "\n".join(session.output().split("\n")[-lines:])

    async def is_alive(self, handle: RuntimeHandle) -> bool:
        """Whether the session exists and was neither destroyed nor killed."""
        await self._enter("is_alive")
        session = self.sessions.get(handle.id)
        return session is not None and session.alive

    # ------------------------------------------------------------------ optional capabilities

    async def get_metrics(self, handle: RuntimeHandle) -> RuntimeMetrics:
        """Uptime since ``create`` (memory and CPU are unknown).

        Raises:
            RuntimeFailedError: when the session does not exist.
        """
        await self._enter("get_metrics")
        session = self._session(handle.id)
        return RuntimeMetrics(uptime_ms=int((time.monotonic() - session.started_at) * 1000))

    async def get_attach_info(self, handle: RuntimeHandle) -> AttachInfo:
        """A ``process`` attach target naming the session (there is nothing to attach to).

        Raises:
            RuntimeFailedError: when the session does not exist.
        """
        await self._enter("get_attach_info")
        session = self._session(handle.id)
        return AttachInfo(type="process", target=session.id)

    # ------------------------------------------------------------------ test controls

    def kill(self, handle: RuntimeHandle | str) -> None:
        """Simulate a session that died on its own (``is_alive`` turns false; output stays readable)."""
        self._session(_handle_id(handle)).alive = False

    def set_screen(self, handle: RuntimeHandle | str, text: str) -> None:
        """Script what the session shows (messages sent later are appended below it)."""
        self._session(_handle_id(handle)).screen = text

    def clear_sent(self, handle: RuntimeHandle | str) -> None:
        """Forget what was sent to a session (its screen then shows only the scripted text)."""
        self._session(_handle_id(handle)).sent.clear()

    def sent_to(self, handle: RuntimeHandle | str) -> list[str]:
        """The messages sent to one session, in order."""
        return list(self._session(_handle_id(handle)).sent)

    def session(self, handle: RuntimeHandle | str) -> FakeRuntimeSession:
        """The record of one session.

        Raises:
            RuntimeFailedError: when no session has that id.
        """
        return self._session(_handle_id(handle))

    @property
    def alive_sessions(self) -> list[str]:
        """Ids of the sessions that are alive."""
        return [sid for sid, s in self.sessions.items() if s.alive]

    # ------------------------------------------------------------------ internals

    def _session(self, handle_id: str) -> FakeRuntimeSession:
        session = self.sessions.get(handle_id)
        if session is None:
            known = ", ".join(sorted(self.sessions)) or "none"
            raise RuntimeFailedError(f"fake runtime has no session '{handle_id}'; known: {known}")
        return session

    async def _enter(self, method: str) -> None:
        await anyio.lowlevel.checkpoint()
        self._record(method)
