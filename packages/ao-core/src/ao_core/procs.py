"""Processes: the process table, the tree below a pid, and the process and screen of a tmux runtime's pane.

What agent plugins need to answer ``is_process_running`` and to read their screen: :func:`runs_in` looks for
a process that :func:`matches` the agent below a runtime handle's root process (a tmux pane's process, or a
process runtime's pid). The process table comes from ``/proc`` on Linux and from ``ps`` elsewhere.

Importing this module is cheap (the standard library and anyio only).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread

if TYPE_CHECKING:
    from ao_core.models import RuntimeHandle

__all__ = [
    "ProcessEntry",
    "capture_pane",
    "descendants",
    "matches",
    "pid_alive",
    "process_table",
    "read_proc",
    "runs_in",
    "tmux_pane_pid",
]

_PROC = Path("/proc")
_PANE_ID = re.compile(r"^%\d+$")
_SOCKET = re.compile(r"^[A-Za-z0-9_.-]+$")
_SESSION = re.compile(r"^[a-zA-Z0-9_-]+$")
_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class ProcessEntry:
    """One process of the process table.

    Attributes:
        pid: The process id.
        ppid: The parent's process id.
        comm: The kernel's command name (the file name the process was started from, at most 15 characters on
            Linux; for a script with a ``#!`` line, the script's name).
        argv: The arguments, program first (empty for kernel threads and where they cannot be read).
    """

    pid: int
    ppid: int
    comm: str
    argv: tuple[str, ...]


def read_proc() -> list[ProcessEntry]:
    """Every process in ``/proc``, zombies left out (``[]`` where there is no ``/proc``).

    Blocking, though only small reads of a pseudo-filesystem: from async code use :func:`process_table`.

    Returns:
        The processes, in ``/proc``'s order.
    """
    entries = []
    try:
        directories = list(_PROC.iterdir())
    except OSError:
        return []
    for directory in directories:
        if not directory.name.isdigit():
            continue
        try:
            stat = (directory / "stat").read_text()
            raw_argv = (directory / "cmdline").read_bytes()
        except OSError:  # the process ended meanwhile
            continue
        # The command name is in parentheses and may contain anything; the fields follow the last ")".
        comm = stat[stat.find("(") + 1 : stat.rfind(")")]
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) < 2 or fields[0] == "Z":
            continue
        argv = tuple(part.decode("utf-8", "replace") for part in raw_argv.split(b"\0") if part)
        entries.append(ProcessEntry(int(directory.name), int(fields[1]), comm, argv))
    return entries


async def process_table() -> list[ProcessEntry]:
    """Every process: from ``/proc`` on Linux (zombies left out), else from ``ps``.

    Returns:
        The processes; ``[]`` when neither source can be read (``ps`` missing or slower than 5 s).
    """
    if (_PROC / "self" / "stat").exists():
        return await anyio.to_thread.run_sync(read_proc)
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


def descendants(table: Iterable[ProcessEntry], pid: int) -> list[ProcessEntry]:
    """The process ``pid`` and every process below it.

    Args:
        table: The process table (from :func:`process_table`).
        pid: The root of the tree.

    Returns:
        The root's entry first (when it is in ``table``), then its descendants, breadth first.
    """
    entries = list(table)
    children: dict[int, list[ProcessEntry]] = {}
    for entry in entries:
        children.setdefault(entry.ppid, []).append(entry)
    found = [entry for entry in entries if entry.pid == pid]
    seen = {pid}
    queue = [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            if child.pid not in seen:
                seen.add(child.pid)
                found.append(child)
                queue.append(child.pid)
    return found


def matches(
    entry: ProcessEntry,
    names: Iterable[str],
    *,
    suffix: str = "",
    interpreters: Collection[str] = (),
    interpreter_prefixes: Collection[str] = (),
    script_markers: Collection[str] = (),
) -> bool:
    """Whether the process is a program called one of ``names``, run directly or by an interpreter.

    It is when its command name is one of ``names`` (also with ``suffix`` removed), or its program's file
    name with ``suffix`` removed is; or when it is an interpreter (its command name is one of
    ``interpreters``, or its program's file name starts with one of ``interpreter_prefixes``) whose first
    argument is a script whose file name is one of ``names`` or whose path contains one of ``script_markers``.

    Args:
        entry: The process.
        names: The program names that count (``claude``, ``codex``).
        suffix: A suffix the program may carry (``.exe``: npm installs OpenCode as ``opencode.exe``).
        interpreters: Command names of interpreters that run a script (``node``, ``bun``).
        interpreter_prefixes: How the file names of interpreter programs start (``python``: a Python console
            script runs as ``python .../bin/aider``).
        script_markers: Parts of a script's path that count too (``claude-code``: the npm package's folder).

    Returns:
        Whether the process counts as the program.
    """
    wanted = set(names)
    if entry.comm in wanted or entry.comm.removesuffix(suffix) in wanted:
        return True
    if entry.argv and Path(entry.argv[0]).name.removesuffix(suffix) in wanted:
        return True
    interpreted = entry.comm in interpreters or (
        bool(entry.argv) and Path(entry.argv[0]).name.startswith(tuple(interpreter_prefixes))
    )
    if not interpreted or len(entry.argv) < 2:
        return False
    script = entry.argv[1]
    return Path(script).name in wanted or any(marker in script for marker in script_markers)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs.

    One owned by another user counts; a zombie (ended, not yet reaped) does not, where ``/proc`` shows it.

    Args:
        pid: The process id; ``0`` and negative ids are never alive.

    Returns:
        Whether it runs.
    """
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


def _tmux_command(session_name: str, handle_data: Mapping[str, object], tmux_path: str) -> tuple[list[str], str] | None:
    """The tmux command line (with the handle's socket) and the pane target; ``None`` for a bad session name."""
    if not _SESSION.fullmatch(session_name):
        return None
    socket = handle_data.get("socket_name")
    pane = handle_data.get("pane_id")
    target = pane if isinstance(pane, str) and _PANE_ID.fullmatch(pane) else f"={session_name}:"
    command = [tmux_path]
    if isinstance(socket, str) and _SOCKET.fullmatch(socket):
        command += ["-L", socket]
    return command, target


async def _run_tmux(command: list[str]) -> str | None:
    """Tmux's output, run outside any tmux client this process may be in; ``None`` when it failed."""
    env = {key: value for key, value in os.environ.items() if key not in ("TMUX", "TMUX_PANE")}
    try:
        with anyio.fail_after(_TIMEOUT_S):
            done = await anyio.run_process(command, check=False, env=env)
    except (OSError, TimeoutError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", "replace")


async def tmux_pane_pid(session_name: str, handle_data: Mapping[str, object], tmux_path: str = "tmux") -> int | None:
    """The pid of the process in a tmux runtime handle's pane.

    Args:
        session_name: The handle's id: the tmux session's name.
        handle_data: The handle's data: ``socket_name`` (the tmux server's ``-L`` socket) and ``pane_id``
            (``%3``) are used where present and well-formed.
        tmux_path: The tmux program.

    Returns:
        The pane's pid; ``None`` when the pane or session is gone, the pane belongs to another session, the
        session name is not one ao makes, or tmux fails or takes longer than 5 s.
    """
    prepared = _tmux_command(session_name, handle_data, tmux_path)
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


async def capture_pane(session_name: str, handle_data: Mapping[str, object], tmux_path: str = "tmux") -> str | None:
    """The visible screen of a tmux runtime handle's pane, wrapped lines joined (``capture-pane -p -J``).

    Args:
        session_name: The handle's id: the tmux session's name.
        handle_data: The handle's data (``socket_name``, ``pane_id``), as for :func:`tmux_pane_pid`.
        tmux_path: The tmux program.

    Returns:
        The screen's text; ``None`` when it cannot be read (as for :func:`tmux_pane_pid`).
    """
    prepared = _tmux_command(session_name, handle_data, tmux_path)
    if prepared is None:
        return None
    command, target = prepared
    # Asking for the session's name in the same call proves the pane still belongs to it.
    out = await _run_tmux(
        [
            *command,
            *("display-message", "-p", "-t", target, "#{session_name}", ";"),
            *("capture-pane", "-p", "-J", "-t", target),
        ]
    )
    if out is None:
        return None
    owner, _, body = out.partition("\n")
    return body if owner == session_name else None


async def runs_in(handle: RuntimeHandle, match: Callable[[ProcessEntry], bool]) -> bool:
    """Whether a process that ``match`` accepts runs in a runtime handle's process tree.

    For the ``tmux`` runtime, at or below the pane's process; for the ``process`` runtime, at or below its
    ``pid``. Other runtimes (containers) hide their processes: the answer is then ``True``. Where no process
    table can be read, the answer is whether the root process runs.

    Args:
        handle: The session's runtime handle.
        match: Whether a process is the one looked for (usually :func:`matches` with the agent's names).

    Returns:
        Whether such a process runs.
    """
    if handle.runtime_name == "tmux":
        root = await tmux_pane_pid(handle.id, handle.data)
        if root is None:
            return False
    elif handle.runtime_name == "process":
        pid = handle.data.get("pid")
        if not isinstance(pid, int) or not pid_alive(pid):
            return False
        root = pid
    else:
        return True
    table = await process_table()
    if not table:
        return pid_alive(root)
    return any(match(entry) for entry in descendants(table, root))
