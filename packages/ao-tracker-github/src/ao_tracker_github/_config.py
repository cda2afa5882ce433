"""The plugin's options (the ``tracker:`` section of a project)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

__all__ = ["GitHubTrackerConfig"]


class GitHubTrackerConfig(BaseModel):
    """Options of the GitHub tracker.

    Attributes:
        base_url: The REST API root: ``https://api.github.com``, or ``https://<host>/api/v3`` for GitHub
            Enterprise Server (tests point it at the fake GitHub).
        token_env: The environment variable holding the token; without it, ``gh auth token`` is asked.
        cache_ttl_seconds: How long a fetched issue is reused.
        cache_size: How many issues the cache keeps at most.
        timeout_seconds: Timeout of each HTTP request.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    base_url: str = "https://api.github.com"
    token_env: str = "GITHUB_TOKEN"
    cache_ttl_seconds: float = Field(default=60.0, ge=0)
    cache_size: int = Field(default=500, ge=1)
    timeout_seconds: float = Field(default=30.0, gt=0)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError(f"baseUrl {value!r} must start with https:// (or http:// for a local server)")
        return value.rstrip("/")

    @field_validator("token_env")
    @classmethod
    def _check_token_env(cls, value: str) -> str:
        if not value or not value.replace("_", "").isalnum():
            raise ValueError(f"tokenEnv {value!r} must be an environment variable name such as GITHUB_TOKEN")
        return value
