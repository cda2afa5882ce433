"""The plugin's configuration model."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = ["CodexAgentConfig", "CodexProvider", "ModelPrice"]

_MODEL_CONFIG = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class ModelPrice(BaseModel):
    """Prices of one model in US dollars per million tokens.

    Attributes:
        input: Uncached input tokens.
        cached_input: Input tokens served from the prompt cache.
        output: Output tokens (OpenAI counts reasoning tokens as output tokens).
    """

    model_config = _MODEL_CONFIG

    input: float = Field(ge=0)
    cached_input: float = Field(ge=0)
    output: float = Field(ge=0)


class CodexProvider(BaseModel):
    """A custom model provider for Codex (a proxy, a self-hosted gateway, a test server).

    It is written into ``<codexHome>/config.toml`` as ``[model_providers.<id>]`` before each launch, and the
    agent is started with ``-c model_provider="<id>"``, so the user's default provider stays as it is.

    Attributes:
        id: The provider's key in ``config.toml`` (``[model_providers.<id>]``).
        name: Its display name.
        base_url: The API's base URL, up to and including ``/v1`` (Codex appends ``/responses``).
        env_key: The environment variable holding the API key (Codex sends it as a bearer token). The value
            never passes through ao's config; put it in the environment ao runs in.
        wire_api: The API Codex speaks to it; the pinned Codex version speaks only the Responses API.
    """

    model_config = _MODEL_CONFIG

    id: str = Field(default="ao", pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(default="ao", min_length=1)
    base_url: str = Field(pattern=r"^https?://\S+$")
    env_key: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    wire_api: Literal["responses"] = "responses"


class CodexAgentConfig(BaseModel):
    """Options of the ``codex`` agent (YAML keys in camelCase: ``codexHome``, ``extraArgs``).

    Attributes:
        command: The Codex executable: a name looked up on ``PATH`` or an absolute path.
        codex_home: Codex's home directory (config, sessions, logs); ``None`` uses ``$CODEX_HOME`` or
            ``~/.codex``. The agent is always started with ``CODEX_HOME`` set to it, so ao and Codex agree.
        provider: A custom model provider to use instead of the one in Codex's own config.
        pricing: Prices by model, overriding the built-in estimate; a key matches a model name exactly or
            as a prefix (the longest wins).
        extra_args: More arguments for every launch and resume (each one is shell-quoted).
        trust_workspace: Mark each workspace as trusted in ``config.toml`` before launch, so the "Trust this
            folder?" dialog never stops an unattended agent.
        system_prompt_mode: ``append``: ao's system prompt is added as developer instructions after Codex's
            own (``-c developer_instructions=...``); ``replace``: it replaces Codex's built-in instructions
            (``-c model_instructions_file=...``).
        no_daemon: Start Codex with ``--no-daemon``. Without it the TUI copies itself into
            ``<codexHome>/packages`` and starts a shared ``codex app-server`` daemon that outlives the session.
        thread_wait_s: After a launch with a prompt, how long ``post_launch_setup`` waits for Codex to create
            the session's rollout so that its thread id can be recorded (0: do not wait; it is found later).
        active_window_ms: How long after its last rollout entry a working agent still counts as ``active`` on
            the rollout alone (beyond it, the screen decides).
    """

    model_config = _MODEL_CONFIG

    command: str = Field(default="codex", min_length=1)
    codex_home: str | None = None
    provider: CodexProvider | None = None
    pricing: dict[str, ModelPrice] = Field(default_factory=dict)
    extra_args: list[str] = Field(default_factory=list)
    trust_workspace: bool = True
    system_prompt_mode: Literal["append", "replace"] = "append"
    no_daemon: bool = True
    thread_wait_s: float = Field(default=10.0, ge=0, le=60)
    active_window_ms: int = Field(default=30_000, ge=0)
