"""Finding the agent's process in a runtime's process tree."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import anyio
import anyio.to_thread

__all__ = [
    "ProcessEntry",
    "descendants",
    "matches",
    "pid_alive",
    "process_table",
    "tmux_pane_pid",
]

_PROC = Path("/proc")
_PANE_ID = re.compile(r"^%\d+$")
_SOCKET = re.compile(r"^[A-Za-z0-9_.-]+$")
_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class ProcessEntry:
    """One process: its id, its parent, its command name and its arguments."""

    pid: int
    ppid: int
    comm: str
    argv: tuple[str, ...]


def _read_proc() -> list[ProcessEntry]:
    entries = []
    for directory in _PROC.iterdir():
        if not directory.name.isdigit():
            continue
        try:
            stat = (directory / "stat").read_text()
            raw_argv = (directory / "cmdline").read_bytes()
        except OSError:
            continue
        comm = stat[stat.find("(") + 1 : stat.rfind(")")]
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) < 2 or fields[0] == "Z":
            continue
        argv = tuple(part.decode("utf-8", "replace") for part in raw_argv.split(b"\0") if part)
        entries.append(ProcessEntry(int(directory.name), int(fields[1]), comm, argv))
    return entries


async def process_table() -> list[ProcessEntry]:
    """Every process: from ``/proc`` on Linux, else from ``ps``."""
    if (_PROC / "self" / "stat").exists():
        return await anyio.to_thread.run_sync(_read_proc)
    try:
        with anyio.fail_after(_TIMEOUT_S):
            done = await anyio.run_process(["ps", "-axo", "pid=,ppid=,comm=,args="], check=False)
    except (OSError, TimeoutError):
        return []
    entries = []
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        parts = line.split(None, 3)
        if len(parts) >= 3 and parts[0].isdigit() and parts[1].isdigit():
            args = tuple(parts[3].split()) if len(parts) > 3 else ()
            entries.append(ProcessEntry(int(parts[0]), int(parts[1]), Path(parts[2]).name, args))
    return entries


def descendants(table: Iterable[ProcessEntry], root: int) -> list[ProcessEntry]:
    """``root`` and every process below it."""
    entries = list(table)
    children: dict[int, list[ProcessEntry]] = {}
    for entry in entries:
        children.setdefault(entry.ppid, []).append(entry)
    found = [entry for entry in entries if entry.pid == root]
    seen = {root}
    queue = [root]
    while queue:
        for child in children.get(queue.pop(), []):
            if child.pid not in seen:
                seen.add(child.pid)
                found.append(child)
                queue.append(child.pid)
    return found


def matches(entry: ProcessEntry, names: Iterable[str]) -> bool:
    """Whether the process is one of ``names``: its command name or its program (``opencode``, ``opencode.exe``).

    OpenCode is a native binary; npm installs it as ``opencode.exe`` behind an ``opencode`` link.
    """
    wanted = set(names)
    if entry.comm in wanted or entry.comm.removesuffix(".exe") in wanted:
        return True
    return bool(entry.argv) and Path(entry.argv[0]).name.removesuffix(".exe") in wanted


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (one owned by another user counts)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tmux_command(session_name: str, data: dict[str, object], tmux_path: str) -> tuple[list[str], str] | None:
    if not _NAME.fullmatch(session_name):
        return None
    socket = data.get("socket_name")
    pane = data.get("pane_id")
    target = pane if isinstance(pane, str) and _PANE_ID.fullmatch(pane) else f"={session_name}:"
    command = [tmux_path]
    if isinstance(socket, str) and _SOCKET.fullmatch(socket):
        command += ["-L", socket]
    return command, target


async def _run_tmux(command: list[str]) -> str | None:
    env = {key: value for key, value in os.environ.items() if key not in ("TMUX", "TMUX_PANE")}
    try:
        with anyio.fail_after(_TIMEOUT_S):
            done = await anyio.run_process(command, check=False, env=env)
    except (OSError, TimeoutError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", "replace")


async def tmux_pane_pid(session_name: str, data: dict[str, object], tmux_path: str = "tmux") -> int | None:
    """The pid of the process in a tmux runtime handle's pane (``None`` when the pane is gone)."""
    prepared = _tmux_command(session_name, data, tmux_path)
    if prepared is None:
        return None
    command, target = prepared
    out = await _run_tmux([*command, "display-message", "-p", "-t", target, "#{session_name}\t#{pane_pid}"])
    if out is None:
        return None
    owner, _, pid = out.strip().partition("\t")
    if owner != session_name or not pid.isdigit():
        return None
    return int(pid)
