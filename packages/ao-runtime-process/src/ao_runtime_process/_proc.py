"""Reading the process table: ``/proc`` on Linux; ``ps`` elsewhere (best effort, untested).

Everything here is synchronous. The ``/proc`` reads are a few small reads of a pseudo-filesystem that never
block on I/O; the ``ps`` fallback runs a subprocess and must be called from a worker thread.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "HAVE_PROCFS",
    "ProcStat",
    "all_stats",
    "boot_id",
    "clock_ticks",
    "group_members",
    "has_env_entry",
    "page_size",
    "parse_stat",
    "probe",
    "read_stat",
    "system_uptime_s",
]

_PROC = Path("/proc")
HAVE_PROCFS = (_PROC / "self" / "stat").exists()
"""Whether this system has a Linux-style ``/proc``; without it the ``ps`` fallback is used."""

_PS_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class ProcStat:
    """The fields of ``/proc/<pid>/stat`` this runtime uses (or their ``ps`` equivalents).

    Attributes:
        pid: The process id.
        state: One letter: ``R`` running, ``S`` sleeping, ``Z`` zombie, ...
        ppid: The parent's pid.
        pgrp: The process group id.
        start: When the process started: clock ticks since boot (field 22) from ``/proc``, the ``lstart``
            text from ``ps``. Equal values mean the same process, which rules out pid reuse.
        cpu_ticks: utime + stime + cutime + cstime, in clock ticks (0 when unknown).
        rss_pages: Resident set size in pages (0 when unknown).
    """

    pid: int
    state: str
    ppid: int
    pgrp: int
    start: int | str
    cpu_ticks: int = 0
    rss_pages: int = 0

    @property
    def is_zombie(self) -> bool:
        """Whether the process has exited and only waits to be reaped (``Z``) or is being torn down (``X``)."""
        return self.state[:1] in ("Z", "X", "x")


def parse_stat(raw: bytes) -> ProcStat:
    """Parse the contents of ``/proc/<pid>/stat``.

    The command name (field 2) is in parentheses and may itself contain spaces and parentheses, so the
    fields after it are found after the *last* ``)``.
    """
    head, _, tail = raw.rpartition(b")")
    pid = int(head.split(b"(", 1)[0])
    fields = tail.split()
    # fields[i] is field i + 3 of proc(5): 3 state, 4 ppid, 5 pgrp, 14-17 cpu times, 22 starttime, 24 rss.
    return ProcStat(
        pid=pid,
        state=fields[0].decode("ascii"),
        ppid=int(fields[1]),
        pgrp=int(fields[2]),
        start=int(fields[19]),
        cpu_ticks=sum(int(f) for f in fields[11:15]),
        rss_pages=int(fields[21]),
    )


def read_stat(pid: int) -> ProcStat | None:
    """Read ``/proc/<pid>/stat``; ``None`` when there is no such process."""
    try:
        raw = (_PROC / str(pid) / "stat").read_bytes()
    except OSError:  # ENOENT, ESRCH: gone (or hidden by hidepid, which only hides other users' processes)
        return None
    try:
        return parse_stat(raw)
    except (ValueError, IndexError):  # a kernel that formats stat differently: treat as unknown
        return None


def probe(pid: int) -> ProcStat | None:
    """The process ``pid`` as this system can see it; ``None`` when it does not exist.

    Uses ``/proc`` when there is one, else ``ps`` (blocking: call it from a worker thread).
    """
    if HAVE_PROCFS:
        return read_stat(pid)
    return _ps_probe(pid)


def all_stats() -> Iterator[ProcStat]:
    """Every process this system shows (blocking without ``/proc``)."""
    if not HAVE_PROCFS:
        yield from _ps_all()
        return
    for entry in _PROC.iterdir():
        if entry.name.isdigit():
            stat = read_stat(int(entry.name))
            if stat is not None:
                yield stat


def group_members(pgid: int) -> list[ProcStat]:
    """Every process of group ``pgid`` that has not exited (zombies are left out)."""
    return [s for s in all_stats() if s.pgrp == pgid and not s.is_zombie]


def has_env_entry(pid: int, entry: bytes) -> bool:
    """Whether ``entry`` (``KEY=value``) is in the environment the process was started with.

    Only readable for one's own processes; ``False`` when it cannot be read (and always without ``/proc``).
    """
    if not HAVE_PROCFS:
        return False
    try:
        environ = (_PROC / str(pid) / "environ").read_bytes()
    except OSError:
        return False
    return entry in environ.split(b"\0")


def boot_id() -> str | None:
    """The kernel's id of the current boot (Linux), so that a start time is never compared across reboots."""
    try:
        return (_PROC / "sys" / "kernel" / "random" / "boot_id").read_text().strip() or None
    except OSError:
        return None


def clock_ticks() -> int:
    """Clock ticks per second (``CLK_TCK``), the unit of start and CPU times in ``/proc``."""
    return os.sysconf("SC_CLK_TCK")


def page_size() -> int:
    """Bytes per page, the unit of ``rss`` in ``/proc/<pid>/stat``."""
    return os.sysconf("SC_PAGE_SIZE")


def system_uptime_s() -> float:
    """Seconds since boot (``/proc/uptime``), the clock that start times in ``/proc`` count on."""
    return float((_PROC / "uptime").read_text().split()[0])


# ----------------------------------------------------------------------------------- ps fallback (not Linux)


def _ps(args: list[str]) -> str:
    try:
        done = subprocess.run(
            ["ps", *args],
            capture_output=True,
            text=True,
            timeout=_PS_TIMEOUT_S,
            check=False,
            env={**os.environ, "LC_ALL": "C"},  # a fixed lstart format
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout


def _ps_probe(pid: int) -> ProcStat | None:
    # `lstart` is last because it contains spaces; it has a one-second resolution, hence "best effort".
    line = _ps(["-o", "pid=,ppid=,pgid=,stat=,lstart=", "-p", str(pid)]).strip()
    parts = line.split(None, 4)
    if len(parts) < 5:
        return None
    return ProcStat(pid=int(parts[0]), ppid=int(parts[1]), pgrp=int(parts[2]), state=parts[3], start=parts[4])


def _ps_all() -> Iterator[ProcStat]:
    for line in _ps(["-A", "-o", "pid=,ppid=,pgid=,stat="]).splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0].isdigit():
            yield ProcStat(pid=int(parts[0]), ppid=int(parts[1]), pgrp=int(parts[2]), state=parts[3], start="")
