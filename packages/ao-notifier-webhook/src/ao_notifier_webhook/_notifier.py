"""The ``webhook`` notifier: POST the ``ao.notification/v1`` JSON, signed, with bounded retries."""

from __future__ import annotations

import logging
import uuid
import weakref
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import anyio
import httpx
from ao_core.errors import NotifyError
from ao_core.models import NotifyAction, NotifyContext, OrchestratorEvent

from ._config import WebhookNotifierConfig
from ._payload import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    PayloadType,
    encode,
    message_payload,
    notification_payload,
    sign,
)

__all__ = ["WebhookNotifier", "display_url"]

logger = logging.getLogger("ao_notifier_webhook")

_USER_AGENT = "ao-notifier-webhook/0.1.0"
_EXCERPT = 200
_MIN_SECRET_LENGTH = 4  # shorter strings are not worth hiding and would mangle every message
_MIN_TOKEN_LENGTH = 8  # path segments shorter than this are names ("hooks", "ao"), not tokens


def display_url(url: str) -> str:
    """The URL as it may be printed: scheme, host and port only; the path is shown as ``/…`` when there is one.

    Credentials, path, query and fragment are dropped: webhook URLs commonly carry their secret in any of
    them (``https://hooks.example.com/services/T0/B0/<token>``, ``?key=…``, ``https://user:pass@…``).
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid url>"
    if ":" in host:
        host = f"[{host}]"
    path = "/…" if parts.path not in ("", "/") or parts.query else ""
    return f"{parts.scheme}://{host}{port}{path}"


class _Redactor:
    """Replaces every secret the configuration holds with ``***`` in text bound for a message or a log."""

    def __init__(self, config: WebhookNotifierConfig) -> None:
        parts = urlsplit(config.url)
        candidates = [config.url, parts.path, parts.query, parts.fragment, parts.username or "", parts.password or ""]
        if "@" in parts.netloc:
            candidates.append(parts.netloc.rpartition("@")[0])
        # a token is often one path segment or one query value, and an answer may echo just that part
        candidates += [segment for segment in parts.path.split("/") if len(segment) >= _MIN_TOKEN_LENGTH]
        candidates += [value for _key, value in parse_qsl(parts.query) if len(value) >= _MIN_SECRET_LENGTH]
        candidates += [value.get_secret_value() for value in config.headers.values()]
        if config.secret is not None:
            candidates.append(config.secret.get_secret_value())
        unique = {c for c in candidates if len(c) >= _MIN_SECRET_LENGTH and c != "/"}
        # longest first, so a secret that contains another is replaced whole
        self._secrets = sorted(unique, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


class _RedactHttpxLog(logging.Filter):
    """Redacts the secrets of every live webhook notifier from httpx's own log records.

    httpx logs each request at INFO with its full URL (``HTTP Request: POST https://user:pw@host/path?key=…``),
    which would put a webhook's secret in any log that shows INFO. This filter, installed once on the
    ``httpx`` logger, rewrites such a record before any handler sees it. It only ever changes records that
    contain a secret, so other users of httpx are unaffected.
    """

    def __init__(self) -> None:
        super().__init__("ao_notifier_webhook")
        self._redactors: weakref.WeakSet[_Redactor] = weakref.WeakSet()

    def add(self, redactor: _Redactor) -> None:
        self._redactors.add(redactor)

    def filter(self, record: logging.LogRecord) -> bool:
        redactors = list(self._redactors)
        if redactors:
            message = original = record.getMessage()
            for redactor in redactors:
                message = redactor(message)
            if message != original:
                record.msg, record.args = message, None
        return True


_HTTPX_LOG_FILTER = _RedactHttpxLog()


def _guard_httpx_log(redactor: _Redactor) -> None:
    _HTTPX_LOG_FILTER.add(redactor)
    httpx_logger = logging.getLogger("httpx")
    if _HTTPX_LOG_FILTER not in httpx_logger.filters:
        httpx_logger.addFilter(_HTTPX_LOG_FILTER)


class WebhookNotifier:
    """POSTs each notification as JSON (schema ``ao.notification/v1``) to a configured URL.

    Each delivery carries ``Content-Type: application/json``, ``X-AO-Delivery`` (a UUID, the same on every
    retry), ``X-AO-Event`` (the payload type), the configured ``headers`` and, with a ``secret``,
    ``X-AO-Signature-256: sha256=<hex>`` (HMAC-SHA256 of the exact body bytes). A 2xx answer is success. A 429,
    a 5xx, a timeout or a connection error is retried up to ``retries`` times, waiting ``retryDelayMs``,
    then twice as long each time, or what ``Retry-After`` asks (429 and 503), never more than
    ``maxRetryDelayMs``. Any other answer (4xx, 3xx: redirects are not followed) fails at once.

    Failures raise :class:`~ao_core.errors.NotifyError` with the HTTP status as ``code``; neither the URL's
    path, query or credentials, nor header values, nor the secret ever appear in it or in a log line.

    Implements :class:`~ao_core.interfaces.SupportsActions` and :class:`~ao_core.interfaces.SupportsPost`.

    Args:
        config: The plugin's options.
    """

    def __init__(self, config: WebhookNotifierConfig) -> None:
        self._config = config
        self._redact = _Redactor(config)
        self._target = display_url(config.url)
        _guard_httpx_log(self._redact)

    @property
    def name(self) -> str:
        """The plugin name."""
        return "webhook"

    @property
    def config(self) -> WebhookNotifierConfig:
        """The options it was built with."""
        return self._config

    async def notify(self, event: OrchestratorEvent) -> None:
        """POST a ``notification`` payload for ``event``.

        Raises:
            NotifyError: the endpoint refused it, or still failed after the retries.
        """
        await self._deliver("notification", notification_payload(event))

    async def notify_with_actions(self, event: OrchestratorEvent, actions: Sequence[NotifyAction]) -> None:
        """POST a ``notification_with_actions`` payload: the event and its ``actions``.

        Raises:
            NotifyError: the endpoint refused it, or still failed after the retries.
        """
        await self._deliver("notification_with_actions", notification_payload(event, list(actions)))

    async def post(self, message: str, context: NotifyContext | None = None) -> str | None:
        """POST a ``message`` payload.

        Returns:
            The delivery id (the ``X-AO-Delivery`` header's value).

        Raises:
            NotifyError: the endpoint refused it, or still failed after the retries.
        """
        return await self._deliver("message", message_payload(message, context))

    # ------------------------------------------------------------------ internals

    async def _deliver(self, kind: PayloadType, payload: dict[str, Any]) -> str:
        config = self._config
        body = encode(payload)
        delivery = str(uuid.uuid4())
        # httpx.Headers merges names case-insensitively: a configured "user-agent" replaces ours
        headers = httpx.Headers({"User-Agent": _USER_AGENT})
        headers.update({name: value.get_secret_value() for name, value in config.headers.items()})
        headers.update({"Content-Type": "application/json", DELIVERY_HEADER: delivery, EVENT_HEADER: kind})
        if config.secret is not None:
            headers[SIGNATURE_HEADER] = sign(config.secret.get_secret_value(), body)
        attempts = config.retries + 1
        problem = ""
        code: str | None = None
        async with httpx.AsyncClient(timeout=config.timeout_s, follow_redirects=False) as client:
            for attempt in range(1, attempts + 1):
                delay = self._backoff(attempt)
                try:
                    response = await client.post(config.url, content=body, headers=headers)
                except httpx.TransportError as exc:  # connection refused/reset, DNS, every kind of timeout
                    problem = f"request failed: {self._redact(_describe(exc))}"
                    code = None
                else:
                    status = response.status_code
                    if 200 <= status < 300:
                        logger.debug(
                            "webhook delivery %s (%s) to %s: HTTP %d, attempt %d/%d",
                            delivery,
                            kind,
                            self._target,
                            status,
                            attempt,
                            attempts,
                        )
                        return delivery
                    problem = f"answered HTTP {status}{self._excerpt(response)}"
                    code = str(status)
                    if status != 429 and status < 500:
                        hint = "; redirects are not followed: configure the final URL" if 300 <= status < 400 else ""
                        raise NotifyError(
                            self.name,
                            f"POST to {self._target} {problem} (not retried: only 429 and 5xx are){hint}",
                            code=code,
                        )
                    retry_after = self._retry_after(response) if status in (429, 503) else None
                    if retry_after is not None:
                        delay = retry_after
                if attempt < attempts:
                    logger.warning(
                        "webhook delivery %s to %s: %s; retrying in %.2f s (attempt %d/%d)",
                        delivery,
                        self._target,
                        problem,
                        delay,
                        attempt + 1,
                        attempts,
                    )
                    await anyio.sleep(delay)
        raise NotifyError(self.name, f"POST to {self._target} {problem} (gave up after {attempts} attempts)", code=code)

    def _backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based): delay, 2·delay, 4·delay... capped."""
        delay_ms = self._config.retry_delay_ms << (attempt - 1)  # delay · 2^(attempt-1)
        return min(delay_ms, self._config.max_retry_delay_ms) / 1000

    def _retry_after(self, response: httpx.Response) -> float | None:
        """What ``Retry-After`` asks (seconds or an HTTP date), capped at ``maxRetryDelayMs``; ``None`` if absent."""
        value = response.headers.get("Retry-After", "").strip()
        if not value:
            return None
        seconds: float | None
        try:
            seconds = float(value)
        except ValueError:
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                return None
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            seconds = (when - datetime.now(UTC)).total_seconds()
        if seconds != seconds:  # NaN
            return None
        return max(0.0, min(seconds, self._config.max_retry_delay_ms / 1000))

    def _excerpt(self, response: httpx.Response) -> str:
        text = " ".join(response.text.split())[:_EXCERPT]
        return f": {self._redact(text)}" if text else ""


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
