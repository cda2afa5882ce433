"""A terminal that records which sessions a human opened."""

from __future__ import annotations

from collections.abc import Sequence

import anyio.lowlevel

from ao_core.errors import SessionError
from ao_core.models import Session
from ao_core.testing._calls import CallRecorder

__all__ = ["FakeTerminal"]


class FakeTerminal(CallRecorder):
    """Records opened sessions in ``opened`` (session ids, in order, repeats included).

    Opening a session without a runtime handle raises :class:`~ao_core.errors.SessionError`: there is
    nothing to attach to. Implements :class:`~ao_core.interfaces.SupportsIsSessionOpen`.
    """

    def __init__(self, name: str = "fake") -> None:
        super().__init__()
        self._name = name
        self.opened: list[str] = []

    @property
    def name(self) -> str:
        """The plugin name (``fake`` unless given)."""
        return self._name

    async def open_session(self, session: Session) -> None:
        """Record the session as opened.

        Raises:
            SessionError: when the session has no runtime handle.
        """
        await anyio.lowlevel.checkpoint()
        self._record("open_session")
        self._open(session)

    async def open_all(self, sessions: Sequence[Session]) -> None:
        """Record each session as opened (none is opened when one has no runtime handle).

        Raises:
            SessionError: when a session has no runtime handle.
        """
        await anyio.lowlevel.checkpoint()
        self._record("open_all")
        for session in sessions:
            _check(session)
        for session in sessions:
            self._open(session)

    async def is_session_open(self, session: Session) -> bool:
        """Whether the session was opened."""
        await anyio.lowlevel.checkpoint()
        self._record("is_session_open")
        return session.id in self.opened

    def close(self, session_id: str) -> None:
        """Simulate the human closing the session's window."""
        self.opened = [sid for sid in self.opened if sid != session_id]

    def _open(self, session: Session) -> None:
        _check(session)
        self.opened.append(session.id)


def _check(session: Session) -> None:
    if session.runtime_handle is None:
        raise SessionError(f"session '{session.id}' has no runtime handle; there is nothing to open")
