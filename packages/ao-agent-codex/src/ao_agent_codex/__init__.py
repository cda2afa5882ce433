"""ao agent plugin ``codex``: runs OpenAI's Codex CLI and reads its rollout files and screen.

Importing this module is cheap; the agent itself (anyio, subprocess and file handling) is imported by
:func:`create` or on first use of :class:`CodexAgent` or :func:`stop_app_server_daemons`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ao_core.interfaces import PluginManifest
from ao_core.models import PluginSlot

from ao_agent_codex._config import CodexAgentConfig, CodexProvider, ModelPrice

if TYPE_CHECKING:
    from ao_core.interfaces import Agent

    from ao_agent_codex._agent import CodexAgent
    from ao_agent_codex._daemons import find_app_server_daemons, stop_app_server_daemons

__all__ = [
    "CodexAgent",
    "CodexAgentConfig",
    "CodexProvider",
    "ModelPrice",
    "create",
    "find_app_server_daemons",
    "manifest",
    "stop_app_server_daemons",
]

manifest = PluginManifest(
    name="codex",
    slot=PluginSlot.AGENT,
    description="OpenAI Codex CLI: resume by thread id, activity and cost from the rollout, folder pre-trust",
    version="0.1.0",
    display_name="Codex",
)


def create(config: CodexAgentConfig | None = None) -> Agent:
    """Build the Codex agent.

    Args:
        config: The plugin's options (``agent: {plugin: codex, codexHome: ..., provider: {...}}`` in the
            config file); defaults when ``None``.

    Returns:
        A :class:`CodexAgent`, which also supports restore commands, workspace hooks (folder pre-trust) and
        post-launch setup (recording the thread id).
    """
    from ao_agent_codex._agent import CodexAgent

    return CodexAgent(config)


_LAZY = {
    "CodexAgent": "ao_agent_codex._agent",
    "find_app_server_daemons": "ao_agent_codex._daemons",
    "stop_app_server_daemons": "ao_agent_codex._daemons",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
