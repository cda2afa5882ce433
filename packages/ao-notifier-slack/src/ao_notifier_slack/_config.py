"""The options of the ``slack`` notifier (its section of agent-orchestrator.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic.alias_generators import to_camel

__all__ = ["SlackNotifierConfig"]


class SlackNotifierConfig(BaseModel):
    """Options of the ``slack`` notifier. YAML keys are camelCase (``webhookUrl``, ``stateFile``).

    Two modes: with ``token`` (a bot token, ``xoxb-...``) and ``channel``, messages are posted with
    ``chat.postMessage`` and each session gets one thread; with ``webhookUrl`` (an incoming webhook),
    every message is a top-level message of the webhook's channel (incoming webhooks cannot thread).
    Give one of the two. Secrets are kept as ``SecretStr`` and never appear in errors or logs.

    Attributes:
        token: The bot token (``${SLACK_BOT_TOKEN}``); needs the ``chat:write`` scope.
        channel: Where the bot posts: a channel id (``C0123ABCD``) or name (``#agents``). Bot mode only.
        webhook_url: An incoming webhook URL (``${SLACK_WEBHOOK_URL}``); the URL itself is a secret.
        base_url: The Web API base URL (default ``https://slack.com/api/``): for Enterprise Grid proxies
            and tests.
        username: A display name for the messages (needs ``chat:write.customize`` in bot mode).
        icon_emoji: An emoji for the messages' avatar (``:robot_face:``), same scope as ``username``.
        state_file: The JSON file that remembers each session's thread, so that threads survive restarts
            (default ``<ao state dir>/slack-threads.json``).
        thread_per_session: Post a session's later events as replies to its first message.
        broadcast_urgent: Show urgent replies in the channel too (``reply_broadcast``), not only in the thread.
        timeout_s: Seconds to wait for one HTTP answer from Slack.
        max_rate_limit_retries: How often a request answered ``429`` is retried after its ``Retry-After``.
        max_retry_after_s: Longest ``Retry-After`` (seconds) worth waiting for; a longer one fails at once.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        hide_input_in_errors=True,  # validation errors must not echo a token or a webhook URL
    )

    token: SecretStr | None = None
    channel: str | None = None
    webhook_url: SecretStr | None = None
    base_url: str | None = None
    username: str | None = None
    icon_emoji: str | None = None
    state_file: Path | None = None
    thread_per_session: bool = True
    broadcast_urgent: bool = True
    timeout_s: int = Field(default=10, ge=1, le=300)
    max_rate_limit_retries: int = Field(default=2, ge=0, le=10)
    max_retry_after_s: float = Field(default=60.0, ge=0)

    @field_validator("token", "webhook_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `${SLACK_BOT_TOKEN:-}` expands to "" when the variable is unset: treat that as "not configured".
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("channel", "base_url", "username", "icon_emoji", mode="before")
    @classmethod
    def _blank_text_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url_is_http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("baseUrl must start with https:// (or http:// for a local proxy)")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_is_http(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("https://", "http://")):
            raise ValueError("webhookUrl must be an https:// URL (Slack: Incoming Webhooks → Webhook URL)")
        return value

    @model_validator(mode="after")
    def _one_mode(self) -> Self:
        if self.token is not None and self.webhook_url is not None:
            raise ValueError("give either token (bot mode, with channel) or webhookUrl (incoming webhook), not both")
        if self.webhook_url is not None and self.channel is not None:
            raise ValueError("channel applies to bot mode only: an incoming webhook always posts to its own channel")
        return self
