"""The options of the ``composio`` notifier (its section of agent-orchestrator.yaml)."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic.alias_generators import to_camel

__all__ = ["ComposioApp", "ComposioNotifierConfig"]

ComposioApp = Literal["slack", "discord", "gmail"]


class ComposioNotifierConfig(BaseModel):
    """Options of the ``composio`` notifier. YAML keys are camelCase (``apiKey``, ``defaultApp``).

    Attributes:
        api_key: The Composio project API key (``${COMPOSIO_API_KEY}``); when unset, the environment variable
            ``COMPOSIO_API_KEY`` is used. Also accepted as ``composioApiKey`` (the original tool's name).
        default_app: Where notifications go: ``slack``, ``discord`` or ``gmail``.
        channel_id: Slack or Discord channel id.
        channel_name: Slack channel name (``#agents``), used when ``channel_id`` is not given.
        email_to: Gmail: the recipient's address (required for ``gmail``).
        email_subject: Gmail: the subject line.
        user_id: The Composio user whose connected account sends (also ``entityId``); default ``default``.
        connected_account_id: A specific connected account (``ca_...``) instead of the user's default one.
        base_url: The Composio API base URL (default: the SDK's, or ``COMPOSIO_BASE_URL``).
        tool_slug: Another tool than the app's default (``SLACK_SEND_MESSAGE``, ``DISCORDBOT_CREATE_MESSAGE``,
            ``GMAIL_SEND_EMAIL``), for when Composio renames one; it gets the same arguments.
        toolkit_version: A toolkit version to pin (``20250901_00``); default: the latest.
        timeout_s: Seconds the SDK waits for one answer.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        hide_input_in_errors=True,  # validation errors must not echo the API key
    )

    api_key: SecretStr | None = Field(default=None, validation_alias=AliasChoices("apiKey", "composioApiKey"))
    default_app: ComposioApp = "slack"
    channel_id: str | None = None
    channel_name: str | None = None
    email_to: str | None = None
    email_subject: str = "Agent Orchestrator Notification"
    user_id: str = Field(default="default", min_length=1, validation_alias=AliasChoices("userId", "entityId"))
    connected_account_id: str | None = None
    base_url: str | None = None
    tool_slug: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9_]*$")
    toolkit_version: str | None = None
    timeout_s: int = Field(default=30, ge=1, le=300)

    @field_validator(
        "api_key", "channel_id", "channel_name", "email_to", "connected_account_id", "base_url", mode="before"
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `${COMPOSIO_API_KEY:-}` expands to "" when the variable is unset: treat that as "not configured".
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url_is_http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("baseUrl must start with https:// (or http:// for a local server)")
        return value
