"""The options of the ``webhook`` notifier (its section of agent-orchestrator.yaml)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic.alias_generators import to_camel

__all__ = ["RESERVED_HEADERS", "WebhookNotifierConfig"]

RESERVED_HEADERS = frozenset(
    {
        "content-length",
        "content-type",
        "host",
        "transfer-encoding",
        "x-ao-delivery",
        "x-ao-event",
        "x-ao-signature-256",
    }
)
"""Headers the plugin sets itself; ``headers`` may not override them (a receiver must be able to trust them)."""

# RFC 9110 token characters
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


class WebhookNotifierConfig(BaseModel):
    """Options of the ``webhook`` notifier. YAML keys are camelCase (``retryDelayMs``, ``timeoutS``).

    Secret values (``secret``, every ``headers`` value) are :class:`~pydantic.SecretStr`, and ``url`` is left
    out of the model's ``repr``: none of them shows up in a log line or a traceback.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    url: str = Field(repr=False)
    """The endpoint (``http`` or ``https``). May hold a secret (a token in the path or query): it is never
    printed, only its scheme and host."""
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    """Extra request headers (``Authorization: Bearer ${HOOK_TOKEN}``); their values are never printed."""
    secret: SecretStr | None = None
    """HMAC-SHA256 key: when set, each request carries ``X-AO-Signature-256: sha256=<hex>`` over the body."""
    retries: int = Field(default=2, ge=0, le=10)
    """Further attempts after a 429, a 5xx, a timeout or a connection error (other answers are final)."""
    retry_delay_ms: int = Field(default=500, ge=0)
    """The first retry waits this long; each further retry twice as long as the one before."""
    max_retry_delay_ms: int = Field(default=30_000, ge=0)
    """Upper bound of one wait, including one asked for by a ``Retry-After`` header."""
    timeout_s: float = Field(default=10.0, gt=0)
    """Bound of one request (connect, send, wait for the answer)."""

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        # The value may hold a secret: messages describe the problem without repeating it.
        try:
            parts = urlsplit(value.strip())
        except ValueError:
            raise ValueError("url is not a valid URL") from None
        if parts.scheme not in ("http", "https"):
            raise ValueError("url must start with http:// or https://")
        if not parts.hostname:
            raise ValueError("url has no host")
        return value.strip()

    @field_validator("headers")
    @classmethod
    def _check_headers(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for name, header_value in value.items():
            if not _HEADER_NAME.match(name):
                raise ValueError(f"header name {name!r} is not a valid HTTP header name")
            if name.lower() in RESERVED_HEADERS:
                raise ValueError(f"header {name!r} is set by the plugin itself and cannot be configured")
            if any(c in header_value.get_secret_value() for c in "\r\n\0"):
                raise ValueError(f"the value of header {name!r} contains a line break or NUL")
        return value
