"""The plugin's configuration model."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic.alias_generators import to_camel

__all__ = ["API_KEY_ENV", "DEFAULT_BASE_URL", "LinearTrackerConfig"]

API_KEY_ENV = "LINEAR_API_KEY"
"""The environment variable read when the config gives no ``apiKey``."""

DEFAULT_BASE_URL = "https://api.linear.app/graphql"
"""Linear's GraphQL endpoint."""

_TEAM_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,9}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def is_uuid(value: str) -> bool:
    """Whether ``value`` is a UUID (Linear's entity ids are)."""
    return bool(_UUID.match(value))


class LinearTrackerConfig(BaseModel):
    """Options of the ``linear`` tracker (YAML keys in camelCase: ``teamId``, ``workspaceSlug``).

    Attributes:
        api_key: A Linear personal API key. Unset: the ``LINEAR_API_KEY`` environment variable, read at
            each call. Kept as a secret: it never appears in a repr, a message or a log line.
        team_id: The team whose issues this project works on: its key (``INT``) or its UUID. Limits
            ``list_issues`` to the team and is required by ``create_issue``.
        workspace_slug: The workspace's URL key, for issue URLs (``https://linear.app/<slug>/issue/INT-1``).
        base_url: The GraphQL endpoint (tests point it at a local fake).
        timeout_s: Seconds each HTTP request may take.
        cache_ttl_s: Seconds a fetched issue is reused by ``get_issue``/``is_completed``/``generate_prompt``
            (``0`` turns the cache off).
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    api_key: SecretStr | None = None
    team_id: str | None = None
    workspace_slug: str | None = None
    base_url: str = DEFAULT_BASE_URL
    timeout_s: float = Field(default=30.0, gt=0)
    cache_ttl_s: float = Field(default=60.0, ge=0)

    @field_validator("api_key")
    @classmethod
    def _check_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            raise ValueError(f"apiKey is empty; give a Linear API key or leave it out to use ${API_KEY_ENV}")
        return value

    @field_validator("team_id")
    @classmethod
    def _check_team(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if is_uuid(value):
            return value.lower()
        if not _TEAM_KEY.match(value):
            raise ValueError(f"teamId {value!r} is neither a team key (letters and digits, like INT) nor a team UUID")
        return value.upper()

    @field_validator("workspace_slug")
    @classmethod
    def _check_slug(cls, value: str | None) -> str | None:
        if value is not None and not _SLUG.match(value):
            raise ValueError(
                f"workspaceSlug {value!r} is not a Linear URL key; use the part after linear.app/ (like acme)"
            )
        return value

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.username or parts.password:  # checked first: the other message shows the URL
            raise ValueError("baseUrl must not carry credentials; give the key as apiKey or $LINEAR_API_KEY")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"baseUrl {value!r} is not an http(s) URL; the default is {DEFAULT_BASE_URL}")
        return value
