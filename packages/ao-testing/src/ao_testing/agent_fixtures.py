"""Helpers of the agent plugins' real-CLI tests: a SessionManager over tmux and a worktree, and its clean-up.

::

    manager = tmux_agent_manager(tmp_path / "state", repo, socket, {"plugin": "opencode", ...}, {"model": "m"})
    try:
        ...
    finally:
        kill_tmux_server(socket)
        manager.store.close()
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ao_core.config import OrchestratorConfig
from ao_core.registry import Registry
from ao_core.sessions import SessionManager
from ao_core.store import Store

__all__ = ["SEND_CONFIRM_TIMEOUT_MS", "kill_tmux_server", "tmux_agent_manager"]

SEND_CONFIRM_TIMEOUT_MS = 10_000
"""The tmux runtime's send confirm window in these tests: real CLIs on a loaded 2-core CI machine can take
seconds to react to a key. It only bounds a send that is not seen; a confirmed send returns at once."""


def tmux_agent_manager(
    state: Path,
    repo: Path,
    socket: str,
    agent: Mapping[str, Any],
    agent_config: Mapping[str, Any],
    *,
    ready_timeout_s: float = 120,
    **settings: Any,
) -> SessionManager:
    """A SessionManager for project ``app`` at ``repo``: tmux on ``socket``, the ``agent`` block, worktrees.

    ``agent_config`` is the project's ``agentConfig``; ``settings`` are more top-level config keys (camelCase,
    e.g. ``readyThresholdMs``). The store is opened at ``state``: close it with ``manager.store.close()``.

    Raises:
        ConfigError: when the config does not validate.
        PluginError: when a plugin it names is not installed.
    """
    config = OrchestratorConfig.model_validate(
        {
            **settings,
            "defaults": {
                "runtime": {"plugin": "tmux", "socketName": socket, "sendConfirmTimeoutMs": SEND_CONFIRM_TIMEOUT_MS},
                "agent": dict(agent),
                "workspace": {"plugin": "worktree"},
            },
            "projects": {
                "app": {
                    "path": str(repo),
                    "defaultBranch": "main",
                    "sessionPrefix": "app",
                    "agentConfig": dict(agent_config),
                }
            },
        }
    )
    registry = Registry.from_config(config)
    registry.validate(config)
    return SessionManager(config, registry, Store.open(state), state_dir=state, ready_timeout_s=ready_timeout_s)


def kill_tmux_server(socket: str) -> None:
    """End the tmux server of ``socket`` and remove its socket file (tmux leaves it behind)."""
    env = {key: value for key, value in os.environ.items() if key not in ("TMUX", "TMUX_PANE")}
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, env=env, timeout=10, check=False)
    (Path(env.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}" / socket).unlink(missing_ok=True)
