"""ao agent plugin ``opencode``: runs OpenCode's terminal UI and reads its session database and screen.

Importing this module is cheap; the agent itself (anyio, SQLite, subprocess handling) is imported by
:func:`create` or on first use of :class:`OpenCodeAgent`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ao_core.interfaces import PluginManifest
from ao_core.models import PluginSlot

from ao_agent_opencode._config import OpenCodeAgentConfig

if TYPE_CHECKING:
    from ao_core.interfaces import Agent

    from ao_agent_opencode._agent import OpenCodeAgent

__all__ = ["OpenCodeAgent", "OpenCodeAgentConfig", "create", "manifest"]

manifest = PluginManifest(
    name="opencode",
    slot=PluginSlot.AGENT,
    description="OpenCode (the opencode CLI): resumable sessions, activity and cost from its session database",
    version="0.1.0",
    display_name="OpenCode",
)


def create(config: OpenCodeAgentConfig | None = None) -> Agent:
    """Build the OpenCode agent.

    Args:
        config: The plugin's options (``agent: {plugin: opencode, provider: anthropic, baseUrl: ...}`` in the
            config file); defaults when ``None``.

    Returns:
        An :class:`OpenCodeAgent`, which also supports restore commands and workspace hooks.
    """
    from ao_agent_opencode._agent import OpenCodeAgent

    return OpenCodeAgent(config)


def __getattr__(name: str) -> Any:
    if name == "OpenCodeAgent":
        from ao_agent_opencode._agent import OpenCodeAgent

        return OpenCodeAgent
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
