"""Codex's detached app-server daemons: finding and stopping them.

Without ``--no-daemon`` the TUI of Codex 0.171.0 copies its binary into
``<CODEX_HOME>/packages/app-server-daemon/releases/<version>/bin/codex`` and starts
``codex app-server --listen unix:// --managed-daemon`` and ``codex app-server daemon pid-update-loop`` from
there, detached: they outlive the TUI and the tmux session. :func:`find_app_server_daemons` finds them by
that path (and, for a daemon run from elsewhere, by ``CODEX_HOME`` in its environment).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

from ao_core.procs import ProcessEntry, pid_alive, read_proc

__all__ = ["find_app_server_daemons", "stop_app_server_daemons"]

_PROC = Path("/proc")


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
    for entry in read_proc():
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
