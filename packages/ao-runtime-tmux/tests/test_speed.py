"""Timings of the hot paths, printed for the record; the assertions check behaviour, never time."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest
from ao_core.models import RuntimeCreateConfig
from ao_runtime_tmux import TmuxRuntime
from tmux_helpers import start_echo_agent, wait_for_output

pytestmark = [pytest.mark.integration, pytest.mark.anyio, pytest.mark.timeout(120)]


def report(capsys: pytest.CaptureFixture[str], text: str) -> None:
    with capsys.disabled():
        print(f"\n[ao-runtime-tmux timing] {text}")


async def test_create_to_first_output(
    runtime: TmuxRuntime, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    creates: list[float] = []
    firsts: list[float] = []
    for index in range(8):
        started = time.perf_counter()
        handle = await runtime.create(
            RuntimeCreateConfig(
                session_id=f"speed-{index}",
                workspace_path=str(workspace),
                launch_command=f"echo ready-{index}; exec sleep 60",
            )
        )
        created = time.perf_counter()
        await wait_for_output(runtime, handle, f"ready-{index}")
        creates.append((created - started) * 1000)
        firsts.append((time.perf_counter() - started) * 1000)

    report(
        capsys,
        f"create: first (starts the server) {creates[0]:.1f} ms, then median {statistics.median(creates[1:]):.1f} ms; "
        f"create -> first output: first {firsts[0]:.1f} ms, then median {statistics.median(firsts[1:]):.1f} ms",
    )
    assert len(await runtime.alive_sessions(runtime.config.socket_name)) == 8


async def test_send_and_probe_timings(
    runtime: TmuxRuntime, socket_name: str, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    agent = await start_echo_agent(runtime, workspace)
    short: list[float] = []
    pasted: list[float] = []
    for index in range(5):
        started = time.perf_counter()
        await runtime.send_message(agent.handle, f"short message {index}")
        short.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        await runtime.send_message(agent.handle, f"multi-line {index}\n" + "x" * 3000)
        pasted.append((time.perf_counter() - started) * 1000)
    assert len(agent.submissions()) == 10

    handles = [agent.handle]
    for index in range(49):
        handles.append(
            await runtime.create(
                RuntimeCreateConfig(
                    session_id=f"probe-{index}", workspace_path=str(workspace), launch_command="exec sleep 60"
                )
            )
        )
    started = time.perf_counter()
    for handle in handles:
        assert await runtime.is_alive(handle)
    one_by_one = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    alive = await runtime.is_alive_many(handles)
    batch = (time.perf_counter() - started) * 1000
    assert len(alive) == 50
    assert all(alive.values())

    report(
        capsys,
        f"send_message confirmed: short median {statistics.median(short):.0f} ms, 3 KB paste median "
        f"{statistics.median(pasted):.0f} ms; 50 sessions: is_alive x50 {one_by_one:.0f} ms, "
        f"is_alive_many {batch:.1f} ms",
    )
