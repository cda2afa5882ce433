from __future__ import annotations

import os
import shlex
from pathlib import Path

import anyio
import pytest
from ao_core.errors import RuntimeFailedError
from ao_core.models import RuntimeCreateConfig, RuntimeHandle
from ao_runtime_tmux import TmuxRuntime, TmuxRuntimeConfig
from tmux_helpers import python_command, tmux, wait_for_file, wait_for_output, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.anyio, pytest.mark.timeout(60)]


async def start(runtime: TmuxRuntime, workspace: Path, name: str, command: str = "exec sleep 60") -> RuntimeHandle:
    return await runtime.create(
        RuntimeCreateConfig(session_id=name, workspace_path=str(workspace), launch_command=command)
    )


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


async def test_is_alive_follows_the_session(runtime: TmuxRuntime, socket_name: str, workspace: Path) -> None:
    handle = await start(runtime, workspace, "alive")
    assert await runtime.is_alive(handle)

    tmux(socket_name, "kill-server")

    assert not await runtime.is_alive(handle)


async def test_is_alive_matches_the_exact_name(runtime: TmuxRuntime, workspace: Path) -> None:
    await start(runtime, workspace, "prefix-longer")

    assert not await runtime.is_alive(RuntimeHandle(id="prefix", runtime_name="tmux", data={}))


async def test_session_ends_when_the_agent_exits(runtime: TmuxRuntime, workspace: Path) -> None:
    handle = await start(runtime, workspace, "short", "exit 0")

    async def gone() -> bool:
        return not await runtime.is_alive(handle)

    await wait_until(gone, "the session to end with its command")


async def test_destroy_is_idempotent_and_removes_the_session(
    runtime: TmuxRuntime, socket_name: str, workspace: Path
) -> None:
    handle = await start(runtime, workspace, "doomed")
    other = await start(runtime, workspace, "bystander")

    await runtime.destroy(handle)
    await runtime.destroy(handle)

    assert not await runtime.is_alive(handle)
    assert await runtime.is_alive(other)
    tmux(socket_name, "kill-server")
    await runtime.destroy(other)  # no server at all: still fine


async def test_destroy_ends_processes_that_ignore_the_hangup(runtime: TmuxRuntime, workspace: Path) -> None:
    pid_file = workspace / "pid"
    handle = await start(
        runtime,
        workspace,
        "stubborn",
        f"trap '' HUP; sleep 300 & echo $! > {shlex.quote(str(pid_file))}.tmp; "
        f"mv {shlex.quote(str(pid_file))}.tmp {shlex.quote(str(pid_file))}; wait",
    )
    await wait_for_file(pid_file)
    pid = int(pid_file.read_text())
    assert pid_alive(pid)

    await runtime.destroy(handle)

    async def ended() -> bool:
        return not pid_alive(pid)

    await wait_until(ended, f"process {pid} to end", within=5)


async def test_get_output_of_a_dead_session_is_empty(runtime: TmuxRuntime, socket_name: str, workspace: Path) -> None:
    handle = await start(runtime, workspace, "talker", "echo something; exec sleep 60")
    await wait_for_output(runtime, handle, "something")

    tmux(socket_name, "kill-session", "-t", "=talker")
    assert await runtime.get_output(handle) == ""
    tmux(socket_name, "kill-server", check=False)
    assert await runtime.get_output(handle) == ""


async def test_get_output_returns_the_last_lines_with_history(runtime: TmuxRuntime, workspace: Path) -> None:
    handle = await start(
        runtime, workspace, "counter", "i=1; while [ $i -le 300 ]; do echo line $i; i=$((i+1)); done; exec sleep 60"
    )
    await wait_for_output(runtime, handle, "line 300")

    assert (await runtime.get_output(handle, 3)).split("\n") == ["line 298", "line 299", "line 300"]
    lines = (await runtime.get_output(handle, 120)).split("\n")
    assert len(lines) == 120
    assert lines[0] == "line 181"
    assert lines[-1] == "line 300"
    assert await runtime.get_output(handle, 0) == ""


async def test_get_output_joins_wrapped_lines_and_strips_trailing_blanks(runtime: TmuxRuntime, workspace: Path) -> None:
    long_line = "x" * 450
    handle = await start(
        runtime, workspace, "wide", python_command(f"print('{long_line}   '); import time; time.sleep(60)")
    )
    await wait_for_output(runtime, handle, long_line)

    output = await runtime.get_output(handle)

    assert output.split("\n") == [long_line]


async def test_stale_pane_id_of_another_session_is_not_used(runtime: TmuxRuntime, workspace: Path) -> None:
    other = await start(runtime, workspace, "other", "echo other output; exec sleep 60")
    await wait_for_output(runtime, other, "other output")
    stale = RuntimeHandle(id="gone", runtime_name="tmux", data={**other.data})

    assert await runtime.get_output(stale) == ""
    with pytest.raises(RuntimeFailedError, match="gone"):
        await runtime.send_message(stale, "must not reach 'other'")
    assert "must not reach" not in await runtime.get_output(other)


async def test_is_alive_many_answers_for_every_handle(runtime: TmuxRuntime, socket_name: str, workspace: Path) -> None:
    handles = [await start(runtime, workspace, f"many-{i}") for i in range(5)]
    await runtime.destroy(handles[2])
    elsewhere = RuntimeHandle(id="many-0", runtime_name="tmux", data={"socket_name": f"{socket_name}-none"})

    alive = await runtime.is_alive_many([*handles, elsewhere])

    assert alive == {"many-0": False, "many-1": True, "many-2": False, "many-3": True, "many-4": True}
    assert await runtime.alive_sessions(socket_name) == {"many-0", "many-1", "many-3", "many-4"}
    assert await runtime.is_alive_many([]) == {}


async def test_is_alive_many_with_no_server(runtime: TmuxRuntime) -> None:
    handle = RuntimeHandle(id="nothing", runtime_name="tmux", data={})

    assert await runtime.is_alive_many([handle]) == {"nothing": False}


async def test_metrics_report_uptime_and_the_process_tree(runtime: TmuxRuntime, workspace: Path) -> None:
    marker = workspace / "burnt"
    code = (
        "import pathlib, sys, time\n"
        "while time.process_time() < 0.2: pass\n"
        "pathlib.Path(sys.argv[1]).touch()\n"
        "time.sleep(60)"
    )
    handle = await start(runtime, workspace, "busy", python_command(code, str(marker)))
    await wait_for_file(marker)

    metrics = await runtime.get_metrics(handle)
    await anyio.sleep(0.1)  # the thing measured is elapsed time
    later = await runtime.get_metrics(handle)

    assert later.uptime_ms > metrics.uptime_ms > 0
    if Path("/proc/self/stat").exists():
        assert metrics.memory_mb is not None
        assert metrics.memory_mb > 1
        assert metrics.cpu_percent is not None
        assert metrics.cpu_percent > 0  # 0.2 s of CPU since start
        assert later.cpu_percent is not None
        assert later.cpu_percent >= 0


async def test_metrics_of_a_dead_session_have_only_uptime(
    runtime: TmuxRuntime, socket_name: str, workspace: Path
) -> None:
    handle = await start(runtime, workspace, "dead")
    tmux(socket_name, "kill-server")

    metrics = await runtime.get_metrics(handle)

    assert metrics.uptime_ms >= 0
    assert metrics.memory_mb is None
    assert metrics.cpu_percent is None


async def test_attach_info_names_the_socket(runtime: TmuxRuntime, socket_name: str, workspace: Path) -> None:
    handle = await start(runtime, workspace, "attach")

    info = await runtime.get_attach_info(handle)

    assert (info.type, info.target) == ("tmux", "attach")
    assert info.command == f"tmux -L {socket_name} attach -t attach"


async def test_attach_info_without_a_socket() -> None:
    runtime = TmuxRuntime(TmuxRuntimeConfig())
    handle = RuntimeHandle(id="plain", runtime_name="tmux", data={"socket_name": None})

    info = await runtime.get_attach_info(handle)

    assert info.command == "tmux attach -t plain"


async def test_invalid_handle_id_is_refused(runtime: TmuxRuntime) -> None:
    handle = RuntimeHandle(id="bad;id", runtime_name="tmux", data={})

    for call in (runtime.is_alive, runtime.get_output, runtime.destroy):
        with pytest.raises(RuntimeFailedError, match="invalid tmux session name"):
            await call(handle)
