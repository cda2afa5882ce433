"""Feature tests of the process runtime against real processes."""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import pytest
from ao_core.errors import RuntimeFailedError
from ao_core.models import RuntimeCreateConfig, RuntimeHandle
from ao_core.testing import require_executable, wait_until
from ao_runtime_process import ProcessRuntime, ProcessRuntimeConfig
from ao_runtime_process._proc import parse_stat

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

Start = Callable[..., Awaitable[RuntimeHandle]]


def _stat(pid: int) -> list[str] | None:
    """Fields 3.. of /proc/<pid>/stat (state first), read independently of the code under test."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw.rpartition(")")[2].split()


def _running(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def _start_time(pid: int) -> int:
    fields = _stat(pid)
    assert fields is not None
    return int(fields[19])


def _log(handle: RuntimeHandle) -> Path:
    return Path(handle.data["log"])


async def _wait_for_log(handle: RuntimeHandle, needle: bytes, within: float = 10) -> bytes:
    await wait_until(lambda: needle in _log(handle).read_bytes(), within=within, message=f"{needle!r} in the log")
    return _log(handle).read_bytes()


async def _wait_for_pid(handle: RuntimeHandle, name: str) -> int:
    """Wait until the session printed ``<name>=<pid>`` and return the pid."""
    pattern = re.compile(rf"{name}=(\d+)\n")
    await wait_until(lambda: pattern.search(_log(handle).read_text()) is not None, within=10)
    match = pattern.search(_log(handle).read_text())
    assert match is not None
    return int(match.group(1))


# ------------------------------------------------------------------------------------------- messages


async def test_messages_arrive_byte_for_byte(runtime: ProcessRuntime, start: Start, tmp_path: Path) -> None:
    handle = await start("exec cat")
    trap = tmp_path / "substituted"
    messages = [
        "plain",
        "it's \"quoted\" 'twice'",
        f"$(touch {trap}) and ${{HOME}} and $HOME",
        "`id` and \\`escaped\\`",
        "tab\there\tand\\backslashes\\\\n",
        "non-ASCII: ünïcødé — 日本語 — emoji 🚀",
        "trailing spaces   ",
        "multi\nline\nmessage",
        "",
    ]
    for message in messages:
        await runtime.send_message(handle, message)
    expected = "".join(m + "\n" for m in messages).encode()
    await wait_until(lambda: len(_log(handle).read_bytes()) >= len(expected), within=10)
    assert _log(handle).read_bytes() == expected
    assert not trap.exists()


async def test_one_megabyte_message_arrives_exactly(runtime: ProcessRuntime, start: Start) -> None:
    handle = await start("exec cat")
    block = "0123456789abcdef\t'\"$`\\ü\n"
    message = (block * (1024 * 1024 // len(block.encode()) + 1))[: 1024 * 1024]
    await runtime.send_message(handle, message)
    expected = (message + "\n").encode()
    await wait_until(lambda: _log(handle).stat().st_size >= len(expected), within=20)
    assert _log(handle).read_bytes() == expected


async def test_concurrent_senders_do_not_interleave(runtime: ProcessRuntime, start: Start) -> None:
    handle = await start("exec cat")
    size = 256 * 1024  # four times a pipe's buffer: each write is split, so only the lock keeps them whole
    messages = [letter * size for letter in "abcd"]
    async with anyio.create_task_group() as group:
        for message in messages:
            group.start_soon(runtime.send_message, handle, message)
    total = 4 * (size + 1)
    await wait_until(lambda: _log(handle).stat().st_size >= total, within=20)
    lines = _log(handle).read_text().splitlines()
    assert sorted(lines) == messages


async def test_send_to_a_session_whose_command_exited_fails(runtime: ProcessRuntime, start: Start) -> None:
    handle = await start("echo bye; exit 3")
    await wait_until(lambda: _not(runtime.is_alive(handle)), within=10, message="the session ends")
    assert not await runtime.is_alive(handle)
    with pytest.raises(RuntimeFailedError, match="not running"):
        await runtime.send_message(handle, "anyone?")
    assert "bye" in await runtime.get_output(handle)


async def test_send_fails_when_nothing_reads_stdin(runtime: ProcessRuntime, start: Start) -> None:
    # The session runs, but has closed its stdin: the FIFO has no reader (ENXIO on open).
    handle = await start("exec 0<&-; echo closed; exec sleep 1000")
    await _wait_for_log(handle, b"closed")
    assert await runtime.is_alive(handle)
    with pytest.raises(RuntimeFailedError, match="nothing reads"):
        await runtime.send_message(handle, "hello")


async def test_send_times_out_when_the_process_does_not_read(base_dir: Path, start: Start) -> None:
    slow = ProcessRuntime(ProcessRuntimeConfig(base_dir=str(base_dir), send_timeout_s=0.5))
    handle = await start("exec sleep 1000", runtime_=slow)
    with pytest.raises(RuntimeFailedError, match=r"took only \d+ of 1048577 bytes"):
        await slow.send_message(handle, "x" * (1024 * 1024))


# ------------------------------------------------------------------------------------------- create


async def test_session_runs_in_workspace_with_environment(
    runtime: ProcessRuntime, start: Start, workspace: Path
) -> None:
    handle = await start(
        'printf "%s|%s\\n" "$GREETING" "$(pwd -P)"; exec cat', environment={"GREETING": "hi $there `x`"}
    )
    await _wait_for_log(handle, b"|")
    assert await runtime.get_output(handle) == f"hi $there `x`|{workspace.resolve()}"


async def test_session_files_are_private(runtime: ProcessRuntime, start: Start, base_dir: Path) -> None:
    handle = await start("exec cat", session_id="private-1")
    directory = base_dir / "private-1"
    assert handle.data["session_dir"] == str(directory)
    assert directory.stat().st_mode & 0o777 == 0o700
    for name in ("fifo", "log"):
        assert Path(handle.data[name]).stat().st_mode & 0o777 == 0o600
    assert handle.id == "private-1"
    assert handle.runtime_name == "process"
    created = datetime.fromisoformat(handle.data["created_at"])
    assert abs((datetime.now(UTC) - created).total_seconds()) < 60


async def test_default_session_dir_is_under_the_state_dir(
    start: Start, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AO_STATE_DIR", str(tmp_path / "state"))
    handle = await start("exec cat", session_id="default-1", runtime_=ProcessRuntime())
    assert handle.data["session_dir"] == str(tmp_path / "state" / "runtime-process" / "default-1")


async def test_kernel_session_dir_is_used_and_kept_on_failure(
    runtime: ProcessRuntime, start: Start, tmp_path: Path
) -> None:
    kernel_dir = tmp_path / "kernel" / "app-1"
    kernel_dir.mkdir(parents=True)
    handle = await start("exec cat", session_dir=str(kernel_dir))
    assert Path(handle.data["fifo"]).parent == kernel_dir
    # A second session in the same directory would steal the first one's pipe: refused.
    with pytest.raises(RuntimeFailedError, match="in use by a running session"):
        await start("exec cat", session_dir=str(kernel_dir))
    assert await runtime.is_alive(handle)
    await runtime.send_message(handle, "still mine")
    await _wait_for_log(handle, b"still mine\n")


async def test_directory_of_a_destroyed_session_can_be_reused(runtime: ProcessRuntime, start: Start) -> None:
    first = await start("echo first; exec cat", session_id="again")
    await _wait_for_log(first, b"first")
    await runtime.destroy(first)
    second = await start("echo second; exec cat", session_id="again")
    await _wait_for_log(second, b"second")
    assert await runtime.get_output(second) == "first\nsecond"  # the log is appended to
    await runtime.send_message(second, "to the second")
    await _wait_for_log(second, b"to the second\n")


async def test_missing_workspace_fails_and_leaves_nothing(
    runtime: ProcessRuntime, base_dir: Path, tmp_path: Path
) -> None:
    config = RuntimeCreateConfig(session_id="ghost-1", workspace_path=str(tmp_path / "nope"), launch_command="true")
    with pytest.raises(RuntimeFailedError, match="does not exist"):
        await runtime.create(config)
    assert not (base_dir / "ghost-1").exists()
    assert not base_dir.exists() or list(base_dir.iterdir()) == []


async def test_shell_that_cannot_be_executed_fails_and_leaves_nothing(
    base_dir: Path, workspace: Path, tmp_path: Path
) -> None:
    fake_shell = tmp_path / "fake-shell"
    fake_shell.write_bytes(b"\x7fELF-not-really\x00\x01\x02")
    fake_shell.chmod(0o755)
    runtime = ProcessRuntime(ProcessRuntimeConfig(base_dir=str(base_dir), shell=str(fake_shell)))
    config = RuntimeCreateConfig(session_id="badshell-1", workspace_path=str(workspace), launch_command="true")
    with pytest.raises(RuntimeFailedError, match="cannot run the shell"):
        await runtime.create(config)
    assert not (base_dir / "badshell-1").exists()


async def test_missing_shell_fails_and_names_the_option(base_dir: Path, workspace: Path) -> None:
    runtime = ProcessRuntime(ProcessRuntimeConfig(base_dir=str(base_dir), shell="no-such-shell-ao"))
    config = RuntimeCreateConfig(session_id="noshell-1", workspace_path=str(workspace), launch_command="true")
    with pytest.raises(RuntimeFailedError, match=r"'no-such-shell-ao' .*'shell'"):
        await runtime.create(config)
    assert not (base_dir / "noshell-1").exists()


@pytest.mark.parametrize("session_id", ["../escape", "a/b", ".", "..", "", "-dash"])
async def test_session_id_that_is_not_a_safe_name_is_refused(
    runtime: ProcessRuntime, workspace: Path, base_dir: Path, session_id: str
) -> None:
    config = RuntimeCreateConfig(session_id=session_id, workspace_path=str(workspace), launch_command="true")
    with pytest.raises(RuntimeFailedError, match="cannot name a directory"):
        await runtime.create(config)
    assert not base_dir.exists()


async def test_bash_as_shell(base_dir: Path, start: Start) -> None:
    require_executable("bash")
    bash = ProcessRuntime(ProcessRuntimeConfig(base_dir=str(base_dir), shell="bash"))
    handle = await start('echo "bash=${BASH_VERSINFO[0]}"; exec cat', runtime_=bash)
    output = (await _wait_for_log(handle, b"bash=")).decode()
    assert re.search(r"bash=\d+", output)


async def test_long_launch_command_runs(runtime: ProcessRuntime, start: Start) -> None:
    # 200 KB: more than one argv string may hold on Linux (128 KiB), so it goes through a script file.
    payload = "y" * 200_000
    handle = await start(f"x='{payload}'; echo \"length=${{#x}}\"; exec cat")
    await _wait_for_log(handle, b"length=200000\n")
    await runtime.send_message(handle, "after a long launch")
    await _wait_for_log(handle, b"after a long launch\n")


# ------------------------------------------------------------------------------------------- output


async def test_get_output_returns_the_last_lines(runtime: ProcessRuntime, start: Start) -> None:
    handle = await start('i=0; while [ $i -lt 2000 ]; do echo "line $i"; i=$((i+1)); done; echo done; exec cat')
    await _wait_for_log(handle, b"done\n")
    assert await runtime.get_output(handle, 3) == "line 1998\nline 1999\ndone"
    assert (await runtime.get_output(handle)).splitlines() == [f"line {i}" for i in range(1951, 2000)] + ["done"]
    assert len((await runtime.get_output(handle, 5000)).splitlines()) == 2001
    assert await runtime.get_output(handle, 0) == ""


async def test_get_output_keeps_escape_sequences(runtime: ProcessRuntime, start: Start) -> None:
    handle = await start(r"printf '\033[1mbold\033[0m\r\n'; exec cat")
    await _wait_for_log(handle, b"bold")
    assert await runtime.get_output(handle, 1) == "\x1b[1mbold\x1b[0m\r"


async def test_get_output_of_a_silent_session_is_empty(runtime: ProcessRuntime, start: Start) -> None:
    handle = await start("exec cat")
    assert await runtime.get_output(handle) == ""


async def test_get_output_reads_only_the_tail_of_a_huge_log(runtime: ProcessRuntime, start: Start) -> None:
    handle = await start("exec sleep 1000")
    log = _log(handle)
    with log.open("r+b") as file:  # a sparse 1 GiB line of NULs, then three short lines
        file.truncate(1024**3)
        file.seek(0, os.SEEK_END)
        file.write(b"\nthird to last\nsecond to last\nlast\n")
    assert await runtime.get_output(handle, 2) == "second to last\nlast"
    assert await runtime.get_output(handle, 3) == "third to last\nsecond to last\nlast"
    # The 1 GiB line is cut at the 4 MiB cap instead of being read whole.
    output = await runtime.get_output(handle, 4)
    assert output.endswith("\x00\nthird to last\nsecond to last\nlast")
    assert len(output) <= 4 * 1024 * 1024


# ------------------------------------------------------------------------------------------- liveness and identity


async def test_is_alive_follows_the_process(runtime: ProcessRuntime, start: Start) -> None:
    handle = await start("read line; echo got $line")
    assert await runtime.is_alive(handle)
    await runtime.send_message(handle, "go")
    await _wait_for_log(handle, b"got go")
    await wait_until(lambda: _not(runtime.is_alive(handle)), within=10)


async def test_handle_with_a_reused_pid_is_dead_and_never_signalled(runtime: ProcessRuntime, tmp_path: Path) -> None:
    bystander = await anyio.open_process(["sleep", "1000"], start_new_session=True)
    try:
        real_start = _start_time(bystander.pid)
        data: dict[str, Any] = {
            "pid": bystander.pid,
            "pgid": bystander.pid,
            "start_time": real_start,
            "fifo": str(tmp_path / "stdin.fifo"),
            "log": str(tmp_path / "output.log"),
            "session_dir": str(tmp_path),
            "token": "f" * 32,
            "created_at": datetime.now(UTC).isoformat(),
        }
        genuine = RuntimeHandle(id="x", runtime_name="process", data=data)
        assert await runtime.is_alive(genuine), "control: with its real start time the pid is recognised"

        forged = RuntimeHandle(id="x", runtime_name="process", data={**data, "start_time": real_start - 1})
        assert not await runtime.is_alive(forged)
        await runtime.destroy(forged)
        await anyio.sleep(0.2)
        assert bystander.returncode is None, "destroy signalled a process that is not the session's"
        assert _running(bystander.pid)

        rebooted = RuntimeHandle(id="x", runtime_name="process", data={**data, "boot_id": "another-boot"})
        assert not await runtime.is_alive(rebooted)
        await runtime.destroy(rebooted)
        assert bystander.returncode is None
    finally:
        bystander.kill()
        await bystander.aclose()


async def test_foreign_handles_are_refused(runtime: ProcessRuntime, start: Start) -> None:
    handle = await start("exec cat")
    foreign = RuntimeHandle(id=handle.id, runtime_name="tmux", data=handle.data)
    with pytest.raises(RuntimeFailedError, match="belongs to runtime 'tmux'"):
        await runtime.is_alive(foreign)
    with pytest.raises(RuntimeFailedError, match="belongs to runtime 'tmux'"):
        await runtime.destroy(foreign)
    assert await runtime.is_alive(handle)


async def test_damaged_handles_name_no_running_session(
    runtime: ProcessRuntime, start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    handle = await start("exec cat")
    for data in ({**handle.data, "pid": "twelve"}, {**handle.data, "fifo": "stdin.fifo"}, {}):
        damaged = RuntimeHandle(id=handle.id, runtime_name="process", data=data)
        assert await runtime.is_alive(damaged) is False
        assert await runtime.get_output(damaged) == ""
        await runtime.destroy(damaged)
        with pytest.raises(RuntimeFailedError, match="damaged"):
            await runtime.send_message(damaged, "x")
        with pytest.raises(RuntimeFailedError, match="damaged"):
            await runtime.get_metrics(damaged)
    assert "runtime handle of session" in caplog.text
    assert await runtime.is_alive(handle), "destroying a damaged copy must not touch the real session"


# ------------------------------------------------------------------------------------------- destroy


async def test_destroy_ends_the_whole_group_and_is_idempotent(runtime: ProcessRuntime, start: Start) -> None:
    handle = await start('sleep 1000 & echo "bg=$!"; sleep 1001 | cat & exec cat')
    background = await _wait_for_pid(handle, "bg")
    pgid = handle.data["pgid"]
    assert _running(background)
    await runtime.destroy(handle)
    assert not await runtime.is_alive(handle)
    assert not _running(background)
    assert not _running(handle.data["pid"])
    assert _group_running(pgid) == []
    assert not Path(handle.data["fifo"]).exists()
    assert _log(handle).exists()
    await runtime.destroy(handle)  # again: nothing to do, no error
    with pytest.raises(RuntimeFailedError):
        await runtime.send_message(handle, "gone")


async def test_destroy_kills_what_ignores_sigterm_after_the_grace_period(base_dir: Path, start: Start) -> None:
    quick = ProcessRuntime(ProcessRuntimeConfig(base_dir=str(base_dir), grace_period_s=0.3))
    handle = await start("trap '' TERM; echo ready; sleep 1000; echo woke", runtime_=quick)
    await _wait_for_log(handle, b"ready")
    os.killpg(handle.data["pgid"], 15)  # proof that SIGTERM alone does not end it
    await anyio.sleep(0.3)
    assert await quick.is_alive(handle)
    await quick.destroy(handle)
    assert not await quick.is_alive(handle)
    assert _group_running(handle.data["pgid"]) == []


async def test_destroy_ends_processes_that_left_the_group(runtime: ProcessRuntime, start: Start) -> None:
    escape = f"{shlex.quote(sys.executable)} -c 'import os, time; os.setsid(); time.sleep(1000)'"
    handle = await start(f'{escape} & echo "escaped=$!"; exec cat')
    escaped = await _wait_for_pid(handle, "escaped")
    await wait_until(lambda: (_stat(escaped) or ["", "", "0"])[2] == str(escaped), within=10, message="setsid")
    assert _running(escaped)
    await runtime.destroy(handle)
    assert not _running(escaped)


async def test_destroy_after_the_leader_exited_ends_its_leftovers(runtime: ProcessRuntime, start: Start) -> None:
    handle = await start('sleep 1000 & echo "bg=$!"; exit 0')
    background = await _wait_for_pid(handle, "bg")
    await wait_until(lambda: _not(runtime.is_alive(handle)), within=10)
    assert _running(background)
    await runtime.destroy(handle)
    assert not _running(background)


# ------------------------------------------------------------------------------------------- extras


async def test_metrics_of_a_running_session(runtime: ProcessRuntime, start: Start) -> None:
    handle = await start("exec cat")
    await anyio.sleep(0.05)
    metrics = await runtime.get_metrics(handle)
    assert 0 <= metrics.uptime_ms < 60_000
    assert metrics.memory_mb is not None
    assert 0 < metrics.memory_mb < 1024
    assert metrics.cpu_percent is not None
    assert metrics.cpu_percent >= 0
    await runtime.destroy(handle)
    with pytest.raises(RuntimeFailedError, match="not running"):
        await runtime.get_metrics(handle)


async def test_attach_info_follows_the_log(runtime: ProcessRuntime, start: Start) -> None:
    handle = await start("exec cat")
    info = await runtime.get_attach_info(handle)
    assert info.type == "process"
    assert info.target == handle.data["log"]
    assert info.command == f"tail -f {shlex.quote(handle.data['log'])}"


def test_stat_parsing_survives_odd_command_names() -> None:
    fields = " ".join(str(n) for n in range(3, 53)).replace("3 4", "S 4", 1)
    stat = parse_stat(f"4242 (we) ird (na me) {fields}\n".encode())
    assert (stat.pid, stat.state, stat.ppid, stat.pgrp, stat.start) == (4242, "S", 4, 5, 22)
    assert stat.cpu_ticks == 14 + 15 + 16 + 17
    assert stat.rss_pages == 24


# ------------------------------------------------------------------------------------------- helpers


async def _not(result: Awaitable[bool]) -> bool:
    return not await result


def _group_running(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and int(fields[2]) == pgid and fields[0] != "Z":
                pids.append(int(entry.name))
    return pids
