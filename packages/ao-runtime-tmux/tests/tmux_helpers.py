"""Helpers shared by the tests: a tmux client for inspection, waiting on conditions, the echo agent."""

from __future__ import annotations

import base64
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from ao_core.models import RuntimeCreateConfig, RuntimeHandle
from ao_runtime_tmux import TmuxRuntime

ECHO_AGENT = Path(__file__).with_name("echo_agent.py")


def tmux(socket_name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a tmux command on the test's server (for setup and inspection, not under test)."""
    env = {key: value for key, value in os.environ.items() if key not in ("TMUX", "TMUX_PANE")}
    return subprocess.run(
        ["tmux", "-L", socket_name, *args], capture_output=True, text=True, check=check, env=env, timeout=10
    )


def socket_path(socket_name: str) -> Path:
    """Where tmux puts the socket of ``-L socket_name``."""
    return Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}" / socket_name


async def wait_until(condition: Callable[[], Awaitable[bool]], what: str, within: float = 10.0) -> None:
    """Poll ``condition`` every 10 ms until it holds; fail with ``what`` after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await anyio.sleep(0.01)


async def wait_for_output(runtime: TmuxRuntime, handle: RuntimeHandle, text: str, within: float = 10.0) -> str:
    """Wait until ``text`` shows in the session's output; return that output."""
    seen = ""

    async def shows() -> bool:
        nonlocal seen
        seen = await runtime.get_output(handle, 200)
        return text in seen

    try:
        await wait_until(shows, f"{text!r} in the output", within)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; output was:\n{seen}") from None
    return seen


async def wait_for_file(path: Path, within: float = 10.0) -> None:
    """Wait until ``path`` exists."""

    async def exists() -> bool:
        return path.exists()

    await wait_until(exists, f"{path} to exist", within)


def python_command(code: str, *args: str) -> str:
    """A shell command running ``code`` with this interpreter."""
    return shlex.join([sys.executable, "-c", code, *args])


DUMP_ENV = (
    "import json, os, sys; tmp = sys.argv[1] + '.tmp'; "
    "json.dump({'env': dict(os.environ), 'cwd': os.getcwd()}, open(tmp, 'w')); os.replace(tmp, sys.argv[1])"
)
"""Python code that writes its environment and working directory as JSON to ``argv[1]`` (atomically)."""


@dataclass
class EchoSession:
    """A session running ``echo_agent.py`` and the files it records to."""

    handle: RuntimeHandle
    record: Path

    def events(self) -> list[dict[str, Any]]:
        """Every event the agent recorded, in order."""
        path = self.record.with_name(self.record.name + ".jsonl")
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    def submissions(self) -> list[bytes]:
        """The bytes of each submitted message, in order."""
        return [base64.b64decode(event["data"]) for event in self.events() if event["event"] == "submit"]

    def count(self, event: str) -> int:
        """How many events of one kind were recorded."""
        return sum(1 for item in self.events() if item["event"] == event)

    def raw(self) -> bytes:
        """Every byte the agent read from its terminal."""
        path = self.record.with_name(self.record.name + ".raw")
        return path.read_bytes() if path.exists() else b""


async def start_echo_agent(
    runtime: TmuxRuntime,
    workspace: Path,
    session_id: str = "echo",
    *,
    swallow_enters: int = 0,
    style: str = "line",
    late_echo: float = 0.0,
    menu: bool = False,
) -> EchoSession:
    """Create a session running the echo agent and wait until it is at its prompt.

    ``style``: ``line`` (a prompt line, the cursor after the input), ``tui`` (a full-screen input box, the
    cursor hidden), ``tui-spinner`` (the same with a row that keeps changing). ``late_echo``: see the echo
    agent's ``--late-echo``; ``menu``: its ``--menu``.
    """
    record = workspace / f"{session_id}-record"
    argv = [sys.executable, str(ECHO_AGENT), str(record), "--swallow-enters", str(swallow_enters)]
    extra = {"line": [], "tui": ["--tui"], "tui-spinner": ["--tui", "--spinner"]}[style]
    if late_echo:
        extra = [*extra, "--late-echo", str(late_echo)]
    if menu:
        extra = [*extra, "--menu"]
    command = shlex.join([*argv, *extra])
    handle = await runtime.create(
        RuntimeCreateConfig(session_id=session_id, workspace_path=str(workspace), launch_command=command)
    )
    await wait_for_output(runtime, handle, "echo agent ready")
    return EchoSession(handle, record)
