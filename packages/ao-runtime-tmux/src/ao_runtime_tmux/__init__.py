"""ao runtime plugin ``tmux``: each session is a tmux session whose pane is the agent's terminal.

Importing this module is cheap; the runtime itself (anyio, subprocess handling) is imported by
:func:`create` or on first use of :class:`TmuxRuntime`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ao_core.interfaces import PluginManifest
from ao_core.models import PluginSlot

from ao_runtime_tmux._config import TmuxRuntimeConfig

if TYPE_CHECKING:
    from ao_core.interfaces import Runtime

    from ao_runtime_tmux._runtime import TmuxRuntime

__all__ = ["TmuxRuntime", "TmuxRuntimeConfig", "create", "manifest"]

manifest = PluginManifest(
    name="tmux",
    slot=PluginSlot.RUNTIME,
    description="Run each session in a tmux session; attach with tmux attach",
    version="0.1.0",
    display_name="tmux",
)


def create(config: TmuxRuntimeConfig | None = None) -> Runtime:
    """Build the tmux runtime.

    Args:
        config: The plugin's options (``runtime: {plugin: tmux, socketName: ao}`` in the config file);
            defaults when ``None``.

    Returns:
        A :class:`TmuxRuntime`, which also supports metrics, attach info and batch liveness probes.
    """
    from ao_runtime_tmux._runtime import TmuxRuntime

    return TmuxRuntime(config)


def __getattr__(name: str) -> Any:
    if name == "TmuxRuntime":
        from ao_runtime_tmux._runtime import TmuxRuntime

        return TmuxRuntime
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
