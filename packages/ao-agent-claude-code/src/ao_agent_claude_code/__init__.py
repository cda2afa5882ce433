"""ao agent plugin ``claude-code``: runs Anthropic's Claude Code CLI and reads its transcript, hooks and screen.

Importing this module is cheap; the agent itself (anyio, subprocess and file handling) is imported by
:func:`create` or on first use of :class:`ClaudeCodeAgent`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ao_core.interfaces import PluginManifest
from ao_core.models import PluginSlot

from ao_agent_claude_code._config import ClaudeCodeAgentConfig, ModelPrice

if TYPE_CHECKING:
    from ao_core.interfaces import Agent

    from ao_agent_claude_code._agent import ClaudeCodeAgent

__all__ = ["ClaudeCodeAgent", "ClaudeCodeAgentConfig", "ModelPrice", "create", "manifest"]

manifest = PluginManifest(
    name="claude-code",
    slot=PluginSlot.AGENT,
    description="Claude Code (the claude CLI): resumable sessions, activity from transcript and hooks, cost",
    version="0.1.0",
    display_name="Claude Code",
)


def create(config: ClaudeCodeAgentConfig | None = None) -> Agent:
    """Build the Claude Code agent.

    Args:
        config: The plugin's options (``agent: {plugin: claude-code, extraArgs: [...]}`` in the config
            file); defaults when ``None``.

    Returns:
        A :class:`ClaudeCodeAgent`, which also supports restore commands and workspace hooks.
    """
    from ao_agent_claude_code._agent import ClaudeCodeAgent

    return ClaudeCodeAgent(config)


def __getattr__(name: str) -> Any:
    if name == "ClaudeCodeAgent":
        from ao_agent_claude_code._agent import ClaudeCodeAgent

        return ClaudeCodeAgent
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
