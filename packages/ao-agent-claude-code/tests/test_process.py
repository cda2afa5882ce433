"""is_process_running: a program called ``claude`` in a real tmux pane, or below a process runtime's pid."""

from __future__ import annotations

import shlex
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from ao_agent_claude_code._agent import ClaudeCodeAgent
from ao_core.models import RuntimeCreateConfig, RuntimeHandle
from ao_core.testing import require_executable, wait_until
from ao_runtime_tmux import TmuxRuntime, TmuxRuntimeConfig

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


@pytest.fixture
def fake_claude(tmp_path: Path) -> Path:
    """A program named ``claude`` that just waits (a link to sleep: the kernel names the process ``claude``)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    link = bin_dir / "claude"
    link.symlink_to(require_executable("sleep"))
    return link


@pytest.fixture
def runtime() -> Iterator[TmuxRuntime]:
    require_executable("tmux")
    socket = f"ao-test-{uuid.uuid4().hex[:12]}"
    yield TmuxRuntime(TmuxRuntimeConfig(socket_name=socket))
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False, timeout=10)


async def test_tmux_pane_running_claude(runtime: TmuxRuntime, fake_claude: Path, tmp_path: Path) -> None:
    agent = ClaudeCodeAgent()
    handle = await runtime.create(
        RuntimeCreateConfig(
            session_id="app-1", workspace_path=str(tmp_path), launch_command=f"{shlex.quote(str(fake_claude))} 60"
        )
    )
    try:
        await wait_until(lambda: agent.is_process_running(handle), within=10, message="claude in the pane")
    finally:
        await runtime.destroy(handle)
    assert not await agent.is_process_running(handle)


async def test_tmux_pane_without_claude(runtime: TmuxRuntime, tmp_path: Path) -> None:
    handle = await runtime.create(
        RuntimeCreateConfig(session_id="app-2", workspace_path=str(tmp_path), launch_command="sleep 60")
    )
    try:
        await wait_until(lambda: runtime.is_alive(handle), within=10)
        assert not await ClaudeCodeAgent().is_process_running(handle)
    finally:
        await runtime.destroy(handle)


async def test_process_runtime_pid(fake_claude: Path) -> None:
    # Popen and run at a process boundary of the test itself; both return at once.
    shell = subprocess.Popen(["sh", "-c", f"{shlex.quote(str(fake_claude))} 60; true"])  # noqa: ASYNC220
    handle = RuntimeHandle(id="app-3", runtime_name="process", data={"pid": shell.pid})
    agent = ClaudeCodeAgent()
    try:
        await wait_until(lambda: agent.is_process_running(handle), within=10, message="claude below the pid")
    finally:
        subprocess.run(["pkill", "-P", str(shell.pid)], check=False, timeout=10)  # noqa: ASYNC221  # see above
        shell.wait(timeout=10)
    assert not await agent.is_process_running(handle)


async def test_runtimes_it_cannot_see_into_are_assumed_running() -> None:
    handle = RuntimeHandle(id="app-4", runtime_name="docker", data={"container_id": "abc"})
    assert await ClaudeCodeAgent().is_process_running(handle)
