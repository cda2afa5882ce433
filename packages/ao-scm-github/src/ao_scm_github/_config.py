"""The plugin's options (the ``scm:`` section of a project)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

__all__ = ["GitHubSCMConfig", "GitHubWebhookConfig"]

_CONFIG = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


def _env_name(value: str, key: str) -> str:
    if not value or not value.replace("_", "").isalnum():
        raise ValueError(f"{key} {value!r} must be an environment variable name such as GITHUB_TOKEN")
    return value


class GitHubWebhookConfig(BaseModel):
    """Webhook verification.

    Attributes:
        secret_env: The environment variable holding the webhook secret (never the secret itself).
        path: The URL path the dashboard serves the webhook on.
        max_body_bytes: Larger deliveries are refused with 413 (GitHub caps payloads at 25 MiB).
    """

    model_config = _CONFIG

    secret_env: str = "GITHUB_WEBHOOK_SECRET"
    path: str = "/api/webhooks/github"
    max_body_bytes: int = Field(default=25 * 1024 * 1024, gt=0)

    @field_validator("secret_env")
    @classmethod
    def _check_secret_env(cls, value: str) -> str:
        return _env_name(value, "webhook.secretEnv")

    @field_validator("path")
    @classmethod
    def _check_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"webhook.path {value!r} must start with /")
        return value


class GitHubSCMConfig(BaseModel):
    """Options of the GitHub SCM plugin.

    Attributes:
        base_url: The REST API root: ``https://api.github.com``, or ``https://<host>/api/v3`` for GitHub
            Enterprise Server (tests point it at the fake GitHub). GraphQL is derived from it.
        token_env: The environment variable holding the token; without it, ``gh auth token`` is asked.
        webhook: Webhook verification options.
        timeout_seconds: Timeout of each HTTP request.
        delete_branch_on_merge: Delete the head branch after :meth:`merge_pr` (as ``gh pr merge --delete-branch``).
        max_concurrent_requests: Bound on simultaneous requests (GitHub's secondary limits punish bursts).
        snapshot_mode: How snapshot polls find what to re-read by GraphQL (one request per 50 pull
            requests). ``adaptive``: one conditional request per repository (free when nothing changed),
            plus every poll the pull requests whose CI is pending, plus a periodic full refresh.
            ``guarded``: conditional requests only, about one per open pull request per poll.
            ``graphql``: every pull request every poll (never free).
        full_refresh_polls: Adaptive mode: re-read a pull request after this many polls without reading
            it (catches a re-run of a finished check when no webhook tells).
        full_refresh_seconds: Adaptive mode: re-read a pull request read this long ago (``null``: only
            ``fullRefreshPolls`` counts).
        ci_start_grace_seconds: Adaptive mode: an open pull request without CI is re-read every poll while
            it was updated less than this long ago, since CI starts shortly after a push (0: never).
    """

    model_config = _CONFIG

    base_url: str = "https://api.github.com"
    token_env: str = "GITHUB_TOKEN"
    webhook: GitHubWebhookConfig = Field(default_factory=GitHubWebhookConfig)
    timeout_seconds: float = Field(default=30.0, gt=0)
    delete_branch_on_merge: bool = True
    max_concurrent_requests: int = Field(default=32, ge=1, le=100)
    snapshot_mode: Literal["adaptive", "guarded", "graphql"] = "adaptive"
    full_refresh_polls: int = Field(default=10, ge=1)
    full_refresh_seconds: float | None = Field(default=600.0, gt=0)
    ci_start_grace_seconds: float = Field(default=120.0, ge=0)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError(f"baseUrl {value!r} must start with https:// (or http:// for a local server)")
        return value.rstrip("/")

    @field_validator("token_env")
    @classmethod
    def _check_token_env(cls, value: str) -> str:
        return _env_name(value, "tokenEnv")
