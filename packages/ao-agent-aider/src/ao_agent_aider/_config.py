"""The plugin's configuration model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic.alias_generators import to_camel

__all__ = ["AiderAgentConfig"]


class AiderAgentConfig(BaseModel):
    """Options of the ``aider`` agent (YAML keys in camelCase: ``openaiApiBase``, ``extraArgs``).

    Attributes:
        command: The Aider executable: a name looked up on ``PATH`` or an absolute path.
        openai_api_base: Base URL of an OpenAI-compatible API (``--openai-api-base``), for models named
            ``openai/<name>``; ``None`` leaves Aider's default.
        openai_api_key: The key for that API. It reaches Aider as the ``OPENAI_API_KEY`` environment variable,
            never on the command line (Aider writes its command line into the chat history). Write it as
            ``${OPENAI_API_KEY}`` in the config file; ``None`` leaves the key to the environment.
        edit_format: Aider's edit format (``diff``, ``whole``, ``udiff``...); ``None`` lets Aider pick the
            model's default.
        auto_commits: Let Aider commit each change it makes (``--no-auto-commits`` when false).
        exclude_aider_files: Keep Aider's own files (``.aider*``: chat and input history, tags cache) out of git
            through the repository's ``info/exclude`` and start Aider with ``--no-gitignore``, so that Aider does
            not change the project's ``.gitignore``.
        extra_args: More arguments for every launch (each one is shell-quoted).
        active_window_ms: How long after the last line of the chat history a submitted message that has not been
            answered still counts as ``active`` on the history alone (beyond it, the screen decides: Aider may be
            asking a question).
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    command: str = Field(default="aider", min_length=1)
    openai_api_base: str | None = None
    openai_api_key: SecretStr | None = None
    edit_format: str | None = Field(default=None, pattern=r"^[a-z][a-z-]*$")
    auto_commits: bool = True
    exclude_aider_files: bool = True
    extra_args: list[str] = Field(default_factory=list)
    active_window_ms: int = Field(default=30_000, ge=0)
