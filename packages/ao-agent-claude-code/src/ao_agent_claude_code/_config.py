"""The plugin's configuration model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = ["ClaudeCodeAgentConfig", "ModelPrice"]


class ModelPrice(BaseModel):
    """Prices of one model in US dollars per million tokens.

    Attributes:
        input: Uncached input tokens.
        output: Output tokens.
        cache_read: Input tokens read from the prompt cache.
        cache_write: Input tokens written to the prompt cache (5-minute cache).
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cache_read: float = Field(ge=0)
    cache_write: float = Field(ge=0)


class ClaudeCodeAgentConfig(BaseModel):
    """Options of the ``claude-code`` agent (YAML keys in camelCase: ``extraArgs``, ``configDir``).

    Attributes:
        command: The Claude Code executable: a name looked up on ``PATH`` or an absolute path.
        extra_args: More arguments for every launch and resume (each one is shell-quoted).
        pricing: Prices by model, overriding the built-in table; a key matches a model name exactly or as a
            prefix (``claude-sonnet-4``), or a family word (``opus``, ``sonnet``, ``haiku``).
        config_dir: Claude Code's configuration directory (``CLAUDE_CONFIG_DIR``); ``None`` uses
            ``$CLAUDE_CONFIG_DIR`` or ``~/.claude``. When set, the agent is started with it.
        trust_workspace: Mark each new workspace as trusted in Claude Code's own config before launch, so the
            "Do you trust the files in this folder?" dialog never stops an unattended agent.
        workspace_hooks: Install hooks in ``<workspace>/.claude/settings.json`` that report branch switches,
            pull requests and the agent's state to ao as they happen.
        hook_timeout_s: Time limit Claude Code gives each of those hooks.
        active_window_ms: How long after its last transcript entry a working agent still counts as ``active``
            on the transcript alone (beyond it, the screen decides).
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    command: str = Field(default="claude", min_length=1)
    extra_args: list[str] = Field(default_factory=list)
    pricing: dict[str, ModelPrice] = Field(default_factory=dict)
    config_dir: str | None = None
    trust_workspace: bool = True
    workspace_hooks: bool = True
    hook_timeout_s: int = Field(default=10, ge=1, le=600)
    active_window_ms: int = Field(default=30_000, ge=0)
