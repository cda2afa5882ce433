"""OpenCode's own commands for what the database holds: ``opencode session list`` and ``opencode export``.

Each call starts OpenCode (about a second); the agent uses them only when the database cannot be read.
Both answer for the project of their working directory, so they run in the session's workspace.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio

__all__ = ["export_session", "list_sessions"]

log = logging.getLogger("ao.agent.opencode")

_TIMEOUT_S = 30.0


async def _run(command: list[str], cwd: Path, env: Mapping[str, str]) -> str | None:
    try:
        with anyio.fail_after(_TIMEOUT_S):
            done = await anyio.run_process(command, cwd=cwd, env={**os.environ, **env}, check=False)
    except (OSError, TimeoutError) as exc:
        log.debug("%s failed: %s", command[:3], exc)
        return None
    if done.returncode != 0:
        log.debug("%s exited %s: %s", command[:3], done.returncode, done.stderr.decode("utf-8", "replace")[-300:])
        return None
    return done.stdout.decode("utf-8", "replace")


def _json_in(text: str, opening: str) -> Any:
    start = text.find(opening)
    if start < 0:
        return None
    try:
        return json.loads(text[start:])
    except ValueError:
        return None


async def list_sessions(executable: str, workspace: Path, env: Mapping[str, str]) -> list[dict[str, Any]]:
    """``opencode session list --format json`` in ``workspace``: the project's sessions, newest first."""
    out = await _run([executable, "session", "list", "--format", "json"], workspace, env)
    found = _json_in(out or "", "[")
    return [entry for entry in found if isinstance(entry, dict)] if isinstance(found, list) else []


async def export_session(
    executable: str, workspace: Path, session_id: str, env: Mapping[str, str]
) -> dict[str, Any] | None:
    """``opencode export <id>``: the session's ``info`` and ``messages`` (``None`` when it cannot be read)."""
    out = await _run([executable, "export", session_id], workspace, env)
    found = _json_in(out or "", "{")
    return found if isinstance(found, dict) else None
