"""Processes: finding Codex below a runtime's session, and Codex's detached app-server daemons.

Codex's npm package starts a small Node wrapper (``node .../bin/codex``) that runs the native binary
(``.../vendor/<target>/bin/codex``); both count as the agent.

Without ``--no-daemon`` the TUI of Codex 0.171.0 copies its binary into
``<CODEX_HOME>/packages/app-server-daemon/releases/<version>/bin/codex`` and starts
``codex app-server --listen unix:// --managed-daemon`` and ``codex app-server daemon pid-update-loop`` from
there, detached: they outlive the TUI and the tmux session. :func:`find_app_server_daemons` finds them by
that path (and, for a daemon run from elsewhere, by ``CODEX_HOME`` in its environment).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import anyio

__all__ = [
    "ProcessEntry",
    "descendants",
    "find_app_server_daemons",
    "is_codex",
    "pid_alive",
    "process_table",
    "stop_app_server_daemons",
    "tmux_pane_pid",
]

_PROC = Path("/proc")
_PANE_ID = re.compile(r"^%\d+$")
_SOCKET = re.compile(r"^[A-Za-z0-9_.-]+$")
_SESSION = re.compile(r"^[a-zA-Z0-9_-]+$")
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


def is_codex(entry: ProcessEntry, names: Iterable[str]) -> bool:
    """Whether the process is Codex: its command name or program is one of ``names``, or Node runs it."""
    wanted = set(names)
    if entry.comm in wanted or (entry.argv and Path(entry.argv[0]).name in wanted):
        return True
    return entry.comm in ("node", "bun") and len(entry.argv) > 1 and Path(entry.argv[1]).name in wanted


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs (one owned by another user counts; a zombie does not)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return True  # no /proc (macOS): the signal answered
    fields = stat[stat.rfind(")") + 2 :].split()
    return not fields or fields[0] != "Z"


async def tmux_pane_pid(session_name: str, data: dict[str, object]) -> int | None:
    """The pid of the process in a tmux runtime handle's pane (``None`` when the pane is gone)."""
    socket = data.get("socket_name")
    pane = data.get("pane_id")
    if not _SESSION.fullmatch(session_name):
        return None
    target = pane if isinstance(pane, str) and _PANE_ID.fullmatch(pane) else f"={session_name}:"
    command = ["tmux"]
    if isinstance(socket, str) and _SOCKET.fullmatch(socket):
        command += ["-L", socket]
    command += ["display-message", "-p", "-t", target, "#{session_name}\t#{pane_pid}"]
    env = {key: value for key, value in os.environ.items() if key not in ("TMUX", "TMUX_PANE")}
    try:
        with anyio.fail_after(_TIMEOUT_S):
            done = await anyio.run_process(command, check=False, env=env)
    except (OSError, TimeoutError):
        return None
    if done.returncode != 0:
        return None
    owner, _, pid = done.stdout.decode("utf-8", "replace").strip().partition("\t")
    if owner != session_name or not pid.isdigit():
        return None
    return int(pid)


# --------------------------------------------------------------------------- app-server daemons


def _environ_codex_home(pid: int) -> str | None:
    try:
        raw = (_PROC / str(pid) / "environ").read_bytes()
    except OSError:
        return None
    for item in raw.split(b"\0"):
        if item.startswith(b"CODEX_HOME="):
            return item[len(b"CODEX_HOME=") :].decode("utf-8", "replace")
    return None


def find_app_server_daemons(codex_home: str | Path) -> list[ProcessEntry]:
    """The ``codex app-server`` processes that belong to ``codex_home`` (Linux ``/proc``; else ``[]``).

    A process belongs to it when its program lies under ``<codex_home>/packages/`` (where the TUI installs
    the daemon), or when it runs ``app-server`` with ``CODEX_HOME`` set to ``codex_home`` in its environment.
    """
    if not (_PROC / "self" / "stat").exists():
        return []
    home = os.path.realpath(codex_home)
    packages = str(Path(home) / "packages") + os.sep
    found = []
    for entry in _read_proc():
        if entry.pid == os.getpid() or not entry.argv:
            continue
        program = entry.argv[0]
        if program.startswith(packages) or os.path.realpath(program).startswith(packages):
            found.append(entry)
            continue
        if "app-server" in entry.argv[1:3]:
            env_home = _environ_codex_home(entry.pid)
            if env_home is not None and os.path.realpath(env_home) == home:
                found.append(entry)
    return found


def stop_app_server_daemons(codex_home: str | Path, *, grace_s: float = 3.0) -> list[int]:
    """End the app-server daemons of ``codex_home`` (SIGTERM, then SIGKILL after ``grace_s``); return their pids.

    Only for a Codex home that ao's sessions use alone: a daemon is shared by every Codex TUI of that home,
    the user's own included. ``codex app-server daemon stop`` (Codex's own command) ends the server but, in
    0.171.0, leaves the ``pid-update-loop`` process running; this ends both.
    """
    pids = [entry.pid for entry in find_app_server_daemons(codex_home)]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(pid_alive(pid) for pid in pids):
        time.sleep(0.05)
    for pid in pids:
        if pid_alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    return pids
