"""The runtime contract suite."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar

import anyio
import pytest
from ao_core.errors import RuntimeFailedError
from ao_core.interfaces import Runtime, SupportsAttachInfo, SupportsMetrics
from ao_core.models import RuntimeCreateConfig, RuntimeHandle
from ao_core.testing import wait_until

from ao_testing.contracts._common import unique_id

__all__ = ["DEFAULT_LAUNCH_COMMAND", "DEFAULT_READY_TEXT", "RuntimeContract", "RuntimeSessions"]

DEFAULT_LAUNCH_COMMAND = (
    "printf 'ao-contract-%s\\n' ready; while IFS= read -r line; do printf 'got:%s\\n' \"$line\"; done"
)
"""A POSIX ``sh`` loop that prints ``ao-contract-ready``, then echoes every line it reads as ``got:<line>``."""

DEFAULT_READY_TEXT = "ao-contract-ready"
"""What the default launch command prints once it reads input (spelled so the command itself lacks it)."""

TRICKY_MESSAGE = 'it\'s "quoted" $(echo substituted) `echo backticks` back\\slash $HOME ; | & > < *'
"""Shell metacharacters that must arrive untouched."""


async def _wait_for_output(runtime: Runtime, handle: RuntimeHandle, text: str, within: float) -> None:
    last = ""

    async def shows_text() -> bool:
        nonlocal last
        last = await runtime.get_output(handle, 200)
        return text in last

    try:
        await wait_until(shows_text, within=within, interval=0.05)
    except AssertionError:
        raise AssertionError(
            f"{text!r} did not appear in the output of session {handle.id!r} within {within} s; last output:\n{last}"
        ) from None


class RuntimeSessions:
    """Sessions a test started; all destroyed at teardown, even when the test failed."""

    def __init__(
        self,
        runtime: Runtime,
        launch_command: str,
        ready_text: str | None,
        ready_timeout: float,
        workspace: Path,
        session_root: Path,
    ) -> None:
        self.runtime = runtime
        self.launch_command = launch_command
        self.ready_text = ready_text
        self.ready_timeout = ready_timeout
        self.workspace = workspace
        self.session_root = session_root
        self.handles: list[RuntimeHandle] = []

    async def start(self) -> RuntimeHandle:
        """Create a session running the launch command (``AO_CONTRACT=1`` in its environment); wait until ready."""
        session_id = unique_id()
        session_dir = self.session_root / session_id
        session_dir.mkdir(parents=True)
        handle = await self.runtime.create(
            RuntimeCreateConfig(
                session_id=session_id,
                workspace_path=str(self.workspace),
                launch_command=self.launch_command,
                environment={"AO_CONTRACT": "1"},
                session_dir=str(session_dir),
            )
        )
        self.handles.append(handle)
        if self.ready_text is not None:
            await _wait_for_output(self.runtime, handle, self.ready_text, self.ready_timeout)
        return handle

    async def destroy_all(self) -> None:
        """Destroy every session started (bounded; errors are left to the tests that check destroy)."""
        for handle in self.handles:
            # Cleanup must reach every session; whether destroy works is what the tests check.
            with anyio.move_on_after(30), contextlib.suppress(Exception):
                await self.runtime.destroy(handle)


@pytest.mark.anyio
class RuntimeContract:
    """What every runtime plugin must do. Subclass it in a ``Test*`` class and provide the fixtures.

    Fixtures the subclass provides:

    - ``runtime`` (required): the :class:`~ao_core.interfaces.Runtime` under test.
    - ``launch_command`` (optional): a shell command that reads lines from stdin and prints each one;
      default :data:`DEFAULT_LAUNCH_COMMAND` (works with any POSIX ``sh``).
    - ``ready_text`` (optional): what a new session shows once its program reads input; each test waits for
      it before sending. Default :data:`DEFAULT_READY_TEXT` (printed by the default launch command);
      ``None`` sends at once (for a runtime that runs nothing, like ``FakeRuntime``).
    - ``runtime_workspace`` (optional): the directory sessions start in; default a fresh ``tmp_path`` dir.

    Checked: create gives a live session whose handle is plain JSON and names the runtime; a message
    (also one full of shell metacharacters) reaches the session and shows in ``get_output``; ``lines``
    limits the output; sessions are isolated; a handle survives a JSON round trip; destroy ends the
    session, is idempotent, and sending afterwards raises ``RuntimeFailedError``; an unknown handle is
    not alive. ``get_metrics`` / ``get_attach_info`` are checked when the runtime supports them.

    Class attribute ``output_timeout`` bounds each wait for output (seconds).
    """

    output_timeout: ClassVar[float] = 10.0

    @pytest.fixture
    def launch_command(self) -> str:
        """The command each session runs (default: an echo loop in ``sh``)."""
        return DEFAULT_LAUNCH_COMMAND

    @pytest.fixture
    def ready_text(self) -> str | None:
        """What a session shows once it is ready for input (``None``: do not wait)."""
        return DEFAULT_READY_TEXT

    @pytest.fixture
    def runtime_workspace(self, tmp_path: Path) -> Path:
        """The directory sessions start in."""
        path = tmp_path / "runtime-workspace"
        path.mkdir()
        return path

    @pytest.fixture
    async def runtime_sessions(
        self, runtime: Runtime, launch_command: str, ready_text: str | None, runtime_workspace: Path, tmp_path: Path
    ) -> AsyncIterator[RuntimeSessions]:
        """Starts sessions for a test and destroys them afterwards."""
        sessions = RuntimeSessions(
            runtime,
            launch_command,
            ready_text,
            self.output_timeout,
            runtime_workspace,
            tmp_path / "runtime-sessions",
        )
        try:
            yield sessions
        finally:
            await sessions.destroy_all()

    async def _wait_for_output(self, runtime: Runtime, handle: RuntimeHandle, text: str) -> None:
        await _wait_for_output(runtime, handle, text, self.output_timeout)

    # ------------------------------------------------------------------ tests

    async def test_name_is_set(self, runtime: Runtime) -> None:
        assert isinstance(runtime.name, str)
        assert runtime.name

    async def test_create_gives_a_live_session_with_a_json_handle(
        self, runtime: Runtime, runtime_sessions: RuntimeSessions
    ) -> None:
        handle = await runtime_sessions.start()
        assert handle.id
        assert handle.runtime_name == runtime.name
        assert RuntimeHandle.model_validate_json(handle.model_dump_json()) == handle, "handle data is not plain JSON"
        assert await runtime.is_alive(handle) is True

    async def test_send_message_reaches_the_session(self, runtime: Runtime, runtime_sessions: RuntimeSessions) -> None:
        handle = await runtime_sessions.start()
        message = f"hello {unique_id('msg')}"
        await runtime.send_message(handle, message)
        await self._wait_for_output(runtime, handle, message)

    async def test_send_message_keeps_shell_metacharacters(
        self, runtime: Runtime, runtime_sessions: RuntimeSessions
    ) -> None:
        handle = await runtime_sessions.start()
        await runtime.send_message(handle, TRICKY_MESSAGE)
        await self._wait_for_output(runtime, handle, TRICKY_MESSAGE)

    async def test_get_output_returns_at_most_the_lines_asked_for(
        self, runtime: Runtime, runtime_sessions: RuntimeSessions
    ) -> None:
        handle = await runtime_sessions.start()
        for n in range(3):
            await runtime.send_message(handle, f"line-{n}")
        await self._wait_for_output(runtime, handle, "line-2")
        output = await runtime.get_output(handle, 2)
        assert isinstance(output, str)
        assert len(output.splitlines()) <= 2, f"asked for 2 lines, got:\n{output}"

    async def test_sessions_are_isolated(self, runtime: Runtime, runtime_sessions: RuntimeSessions) -> None:
        first = await runtime_sessions.start()
        second = await runtime_sessions.start()
        assert first.id != second.id
        message = f"only-for-first {unique_id('msg')}"
        await runtime.send_message(first, message)
        await self._wait_for_output(runtime, first, message)
        assert message not in await runtime.get_output(second, 200)

    async def test_handle_survives_a_json_round_trip(self, runtime: Runtime, runtime_sessions: RuntimeSessions) -> None:
        handle = await runtime_sessions.start()
        restored = RuntimeHandle.model_validate_json(handle.model_dump_json())
        assert await runtime.is_alive(restored) is True
        message = f"via restored handle {unique_id('msg')}"
        await runtime.send_message(restored, message)
        await self._wait_for_output(runtime, restored, message)
        await runtime.destroy(restored)
        assert await runtime.is_alive(handle) is False

    async def test_destroy_ends_the_session(self, runtime: Runtime, runtime_sessions: RuntimeSessions) -> None:
        handle = await runtime_sessions.start()
        await runtime.destroy(handle)
        assert await runtime.is_alive(handle) is False

    async def test_destroy_is_idempotent(self, runtime: Runtime, runtime_sessions: RuntimeSessions) -> None:
        handle = await runtime_sessions.start()
        await runtime.destroy(handle)
        await runtime.destroy(handle)
        assert await runtime.is_alive(handle) is False

    async def test_send_after_destroy_raises_runtime_failed(
        self, runtime: Runtime, runtime_sessions: RuntimeSessions
    ) -> None:
        handle = await runtime_sessions.start()
        await runtime.destroy(handle)
        with pytest.raises(RuntimeFailedError):
            await runtime.send_message(handle, "nobody is listening")

    async def test_unknown_handle_is_not_alive_and_destroy_is_harmless(self, runtime: Runtime) -> None:
        handle = RuntimeHandle(id=unique_id("aoc-missing"), runtime_name=runtime.name)
        assert await runtime.is_alive(handle) is False
        await runtime.destroy(handle)

    async def test_metrics_when_supported(self, runtime: Runtime, runtime_sessions: RuntimeSessions) -> None:
        if not isinstance(runtime, SupportsMetrics):
            pytest.skip(f"runtime {runtime.name!r} does not implement SupportsMetrics")
        handle = await runtime_sessions.start()
        metrics = await runtime.get_metrics(handle)
        assert metrics.uptime_ms >= 0

    async def test_attach_info_when_supported(self, runtime: Runtime, runtime_sessions: RuntimeSessions) -> None:
        if not isinstance(runtime, SupportsAttachInfo):
            pytest.skip(f"runtime {runtime.name!r} does not implement SupportsAttachInfo")
        handle = await runtime_sessions.start()
        info = await runtime.get_attach_info(handle)
        assert info.target
