"""ao workspace plugin ``clone``: each session works in its own full git clone of the project, on its own branch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ao_core.interfaces import PluginManifest
from ao_core.models import PluginSlot

from ._config import CloneWorkspaceConfig

if TYPE_CHECKING:
    from ao_core.interfaces import Workspace

__all__ = ["CloneWorkspaceConfig", "create", "manifest"]

manifest = PluginManifest(
    name="clone",
    slot=PluginSlot.WORKSPACE,
    description="A git clone of the project per session (sharing its objects), pushing to the project's origin",
    version="0.1.0",
)


def create(config: CloneWorkspaceConfig | None = None) -> Workspace:
    """Build the clone workspace plugin.

    Args:
        config: The plugin's options; ``None`` for the defaults.

    Returns:
        A ``CloneWorkspace``, which also implements post-create setup, ``exists`` and ``restore``.
    """
    from ._clone import CloneWorkspace

    return CloneWorkspace(config or CloneWorkspaceConfig())
