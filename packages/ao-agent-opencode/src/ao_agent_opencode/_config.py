"""The plugin's configuration model."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic.alias_generators import to_camel

__all__ = ["OpenCodeAgentConfig"]


class OpenCodeAgentConfig(BaseModel):
    """Options of the ``opencode`` agent (YAML keys in camelCase: ``baseUrl``, ``extraConfig``).

    Attributes:
        command: The OpenCode executable: a name looked up on ``PATH`` or an absolute path.
        provider: The OpenCode provider whose options ``baseUrl`` and ``apiKey`` set (``anthropic``, ``openai``,
            ...); required when either is set.
        base_url: The provider's API base URL (``provider.<provider>.options.baseURL`` in OpenCode's config).
        api_key: The provider's API key. It reaches OpenCode as the environment variable ``AO_OPENCODE_API_KEY``,
            which the generated config names (``{env:AO_OPENCODE_API_KEY}``): never on a command line or in a
            file. Write it as ``${ANTHROPIC_API_KEY}`` in the config file; ``None`` leaves keys to OpenCode.
        extra_config: More OpenCode configuration merged into the generated one (objects merge key by key), for
            example custom providers or agents.
        extra_args: More arguments for every launch and resume (each one is shell-quoted).
        data_dir: OpenCode's data directory, where its session database ``opencode.db`` is; ``None`` uses
            ``$XDG_DATA_HOME/opencode`` or ``~/.local/share/opencode`` (and ``$OPENCODE_DB`` when set).
        active_window_ms: How long after its last database update a turn in progress still counts as ``active``
            on the database alone (beyond it, the screen decides: OpenCode may be asking for a permission).
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    command: str = Field(default="opencode", min_length=1)
    provider: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    base_url: str | None = None
    api_key: SecretStr | None = None
    extra_config: dict[str, Any] = Field(default_factory=dict)
    extra_args: list[str] = Field(default_factory=list)
    data_dir: str | None = None
    active_window_ms: int = Field(default=30_000, ge=0)

    @model_validator(mode="after")
    def _provider_named(self) -> OpenCodeAgentConfig:
        if (self.base_url or self.api_key) and not self.provider:
            raise ValueError("'provider' is required with 'baseUrl' or 'apiKey' (for example provider: anthropic)")
        return self
