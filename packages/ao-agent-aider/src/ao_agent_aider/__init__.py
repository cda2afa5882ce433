"""ao agent plugin ``aider``: runs Aider interactively and reads its chat history, its commits and its screen.

Importing this module is cheap; the agent itself (anyio, subprocess and file handling) is imported by
:func:`create` or on first use of :class:`AiderAgent`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ao_core.interfaces import PluginManifest
from ao_core.models import PluginSlot

from ao_agent_aider._config import AiderAgentConfig

if TYPE_CHECKING:
    from ao_core.interfaces import Agent

    from ao_agent_aider._agent import AiderAgent

__all__ = ["AiderAgent", "AiderAgentConfig", "create", "manifest"]

manifest = PluginManifest(
    name="aider",
    slot=PluginSlot.AGENT,
    description="Aider (the aider CLI): interactive sessions, activity from chat history and screen, cost",
    version="0.1.0",
    display_name="Aider",
)


def create(config: AiderAgentConfig | None = None) -> Agent:
    """Build the Aider agent.

    Args:
        config: The plugin's options (``agent: {plugin: aider, openaiApiBase: ...}`` in the config file);
            defaults when ``None``.

    Returns:
        An :class:`AiderAgent`, which also installs workspace hooks (keeping Aider's files out of git).
    """
    from ao_agent_aider._agent import AiderAgent

    return AiderAgent(config)


def __getattr__(name: str) -> Any:
    if name == "AiderAgent":
        from ao_agent_aider._agent import AiderAgent

        return AiderAgent
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
