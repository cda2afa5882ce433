"""ao workspace plugin ``worktree``: each session works in its own git worktree of the project, on its own branch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ao_core.interfaces import PluginManifest
from ao_core.models import PluginSlot

from ._config import WorktreeWorkspaceConfig

if TYPE_CHECKING:
    from ao_core.interfaces import Workspace

__all__ = ["WorktreeWorkspaceConfig", "create", "manifest"]

manifest = PluginManifest(
    name="worktree",
    slot=PluginSlot.WORKSPACE,
    description="A git worktree of the project per session, on its own branch; symlinks and postCreate setup",
    version="0.1.0",
)


def create(config: WorktreeWorkspaceConfig | None = None) -> Workspace:
    """Build the worktree workspace plugin.

    Args:
        config: The plugin's options; ``None`` for the defaults.

    Returns:
        A ``WorktreeWorkspace``, which also implements post-create setup, ``exists`` and ``restore``.
    """
    from ._worktree import WorktreeWorkspace

    return WorktreeWorkspace(config or WorktreeWorkspaceConfig())
