"""Facts about a pane's processes from ``/proc`` (Linux only; elsewhere every answer is empty).

tmux starts each pane's process as the leader of a new terminal session, so the session id of every
process the agent started (children, grandchildren, background jobs) is the pane's pid — unless a
process left with ``setsid``, as daemons do.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ProcessInfo", "available", "session_members", "signal_all"]

_PROC = Path("/proc")


@dataclass(frozen=True)
class ProcessInfo:
    """One live process of a terminal session."""

    pid: int
    rss_bytes: int
    cpu_seconds: float
    """User plus system time of the process and of its children it has waited for."""


def available() -> bool:
    """Whether ``/proc`` can be read here."""
    return (_PROC / "self" / "stat").is_file()


def _read_stat(pid: int) -> list[str] | None:
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may contain anything; fields follow the last ")".
    return text[text.rfind(")") + 2 :].split()


def session_members(sids: set[int]) -> list[ProcessInfo]:
    """Every live (non-zombie) process whose session id is in ``sids``."""
    if not available():
        return []
    ticks = os.sysconf("SC_CLK_TCK")
    page = os.sysconf("SC_PAGE_SIZE")
    members = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _read_stat(int(entry.name))
        # fields[0] is field 3 of proc(5): state; [3] session; [11..14] utime stime cutime cstime; [21] rss.
        if fields is None or len(fields) < 22 or fields[0] == "Z" or int(fields[3]) not in sids:
            continue
        cpu = sum(int(value) for value in fields[11:15]) / ticks
        members.append(ProcessInfo(int(entry.name), int(fields[21]) * page, cpu))
    return members


def signal_all(pids: list[int], sig: signal.Signals) -> None:
    """Send ``sig`` to each pid, skipping this process and processes that are already gone."""
    me = os.getpid()
    for pid in pids:
        if pid in (me, 0, 1):
            continue
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            continue
