"""The terminal contract suite."""

from __future__ import annotations

import pytest
from ao_core.interfaces import SupportsIsSessionOpen, Terminal
from ao_core.models import RuntimeHandle, Session

__all__ = ["TerminalContract"]


@pytest.mark.anyio
class TerminalContract:
    """What every terminal plugin must do. Subclass it in a ``Test*`` class and provide the fixtures.

    Fixtures the subclass provides:

    - ``terminal`` (required): the :class:`~ao_core.interfaces.Terminal` under test.
    - ``terminal_session`` (optional): a :class:`~ao_core.models.Session` whose runtime handle points at a
      live session the terminal can open (e.g. a tmux session the fixture started); default a session
      with a handle of runtime ``fake``.

    Checked: ``open_session`` and ``open_all`` (also with no sessions) do not raise for a session with a
    handle; with ``SupportsIsSessionOpen``, the session reads as open after it was opened.
    """

    @pytest.fixture
    def terminal_session(self) -> Session:
        """A session with a runtime handle."""
        return Session(
            id="aoc-term-1",
            project_id="contract",
            runtime_handle=RuntimeHandle(id="aoc-term-1", runtime_name="fake"),
        )

    async def test_name_is_set(self, terminal: Terminal) -> None:
        assert isinstance(terminal.name, str)
        assert terminal.name

    async def test_open_session(self, terminal: Terminal, terminal_session: Session) -> None:
        await terminal.open_session(terminal_session)

    async def test_open_all(self, terminal: Terminal, terminal_session: Session) -> None:
        await terminal.open_all([])
        await terminal.open_all([terminal_session])

    async def test_session_reads_as_open_when_supported(self, terminal: Terminal, terminal_session: Session) -> None:
        if not isinstance(terminal, SupportsIsSessionOpen):
            pytest.skip(f"terminal {terminal.name!r} does not implement SupportsIsSessionOpen")
        await terminal.open_session(terminal_session)
        assert await terminal.is_session_open(terminal_session) is True
