"""Where ao keeps its state on disk."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["database_path", "session_dir", "state_dir", "workspaces_dir"]


def state_dir(configured: str | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The state directory: ``$AO_STATE_DIR``, else the config's ``stateDir``, else ``~/.agent-orchestrator``."""
    env = os.environ if env is None else env
    raw = env.get("AO_STATE_DIR") or configured or "~/.agent-orchestrator"
    return Path(raw).expanduser()


def database_path(root: Path) -> Path:
    """The SQLite database inside a state directory."""
    return root / "ao.db"


def session_dir(root: Path, project_id: str, session_id: str) -> Path:
    """A directory of the session's own (prompt files, logs, pipes)."""
    return root / "projects" / project_id / "sessions" / session_id


def workspaces_dir(root: Path, project_id: str) -> Path:
    """Where a project's session workspaces are created by default."""
    return root / "projects" / project_id / "worktrees"
