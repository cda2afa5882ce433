"""The GraphQL transport: one httpx client per tracker call, Linear's errors turned into ao's.

The API key is resolved on each connection (config first, then ``$LINEAR_API_KEY``) and only ever placed in
the ``Authorization`` header. Messages are built from the status, Linear's error code and message, the
operation name and the endpoint; as a last guard every message is scrubbed of the key.
"""

from __future__ import annotations

import logging
import os
import ssl
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime
from typing import Any

import httpx
from ao_core.errors import RateLimitedError, TrackerError

from ao_tracker_linear._config import API_KEY_ENV, LinearTrackerConfig

__all__ = ["GraphQLErrors", "LinearConnection", "LinearTransport"]

log = logging.getLogger("ao.tracker.linear")

_KEY_HELP = (
    f"set the {API_KEY_ENV} environment variable or the tracker option apiKey "
    "(a personal API key from Linear: Settings > Security & access > Personal API keys)"
)


class GraphQLErrors(TrackerError):
    """Raised when Linear answers a GraphQL operation with errors (HTTP 200 or 400).

    Attributes:
        operation: The operation's name.
        errors: Linear's error objects, as sent.
        status: The HTTP status.
    """

    def __init__(self, operation: str, errors: list[dict[str, Any]], status: int, message: str) -> None:
        self.operation = operation
        self.errors = errors
        self.status = status
        super().__init__(message)

    @property
    def codes(self) -> list[str]:
        """The ``extensions.code`` of each error."""
        return [str(_extensions(e).get("code", "")) for e in self.errors]

    def is_not_found(self) -> bool:
        """Whether Linear said a referenced entity does not exist (``Entity not found: Issue``)."""
        return any(str(e.get("message", "")).lower().startswith("entity not found") for e in self.errors)


class LinearTransport:
    """Opens connections to Linear's GraphQL endpoint with the configured key and timeout."""

    def __init__(self, config: LinearTrackerConfig) -> None:
        self._config = config
        self._ssl: ssl.SSLContext | None = None

    def api_key(self) -> str:
        """The API key: the config's ``apiKey``, else ``$LINEAR_API_KEY``.

        Raises:
            TrackerError: when neither is set.
        """
        if self._config.api_key is not None:
            return self._config.api_key.get_secret_value().strip()
        key = os.environ.get(API_KEY_ENV, "").strip()
        if not key:
            raise TrackerError(f"no Linear API key: {_KEY_HELP}")
        return key

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[LinearConnection]:
        """A connection for one tracker call (its requests share a pooled HTTP connection).

        Raises:
            TrackerError: when no API key is configured.
        """
        key = self.api_key()
        if self._ssl is None:  # loading the CA bundle costs ~30 ms: once per tracker, not once per call
            self._ssl = httpx.create_ssl_context()
        headers = {"Authorization": key, "Content-Type": "application/json", "User-Agent": "ao-tracker-linear/0.1"}
        async with httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(self._config.timeout_s),
            verify=self._ssl,
            follow_redirects=False,  # a redirect would resend the key to wherever it points
        ) as client:
            yield LinearConnection(client, self._config, key)


class LinearConnection:
    """Runs GraphQL operations over one httpx client."""

    def __init__(self, client: httpx.AsyncClient, config: LinearTrackerConfig, key: str) -> None:
        self._client = client
        self._config = config
        self._key = key

    async def execute(self, operation: str, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Run one operation and return its ``data``.

        Raises:
            GraphQLErrors: Linear answered with GraphQL errors (the caller may recognise "not found").
            TrackerError: the request failed, timed out, was refused (key, permissions, rate limit) or the
                answer was not Linear's JSON.
        """
        url = self._config.base_url
        started = time.monotonic()
        try:
            response = await self._client.post(
                url, json={"query": query, "variables": dict(variables or {}), "operationName": operation}
            )
        except httpx.TimeoutException as exc:
            raise self._error(
                f"Linear did not answer {operation} within {self._config.timeout_s:g}s ({url}); "
                "try again, or raise the tracker option timeoutS"
            ) from exc
        except httpx.HTTPError as exc:
            raise self._error(f"cannot reach Linear at {url} for {operation}: {type(exc).__name__}: {exc}") from exc
        log.debug("linear %s: HTTP %s in %.0f ms", operation, response.status_code, (time.monotonic() - started) * 1e3)
        return self._data(operation, response)

    def _data(self, operation: str, response: httpx.Response) -> dict[str, Any]:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        errors = body.get("errors") if isinstance(body, dict) else None
        if isinstance(errors, list) and errors:
            errors = [e if isinstance(e, dict) else {"message": str(e)} for e in errors]
            raise self._graphql_error(operation, status, errors, response.headers)
        if status == 401:
            raise self._error(f"Linear refused the API key (HTTP 401) for {operation}: {_KEY_HELP}")
        if status == 429:
            raise _rate_limited(operation, status, response.headers)
        if status >= 400 or not isinstance(body, dict):
            excerpt = " ".join(response.text.split())[:200] if response.text else "no body"
            raise self._error(f"Linear answered {operation} with HTTP {status} ({self._config.base_url}): {excerpt}")
        data = body.get("data")
        if not isinstance(data, dict):
            raise self._error(f"Linear answered {operation} (HTTP {status}) without data; try again")
        return data

    def _graphql_error(
        self, operation: str, status: int, errors: list[dict[str, Any]], headers: httpx.Headers
    ) -> TrackerError:
        first = errors[0]
        ext = _extensions(first)
        code = str(ext.get("code") or "")
        kind = str(ext.get("type") or "")
        message = str(first.get("message") or "unknown error")
        detail = str(ext.get("userPresentableMessage") or "")
        said = f"{message} ({detail})" if detail and detail not in message else message
        if code == "AUTHENTICATION_ERROR" or kind == "authentication error" or status == 401:
            text = f"Linear refused the API key (HTTP {status}, {code or kind}) for {operation}: {_KEY_HELP}"
        elif code == "FORBIDDEN" or kind == "forbidden" or status == 403:
            text = (
                f"Linear forbids {operation} for this API key (HTTP {status}, {code or kind}): {said}; "
                "use a key of a user who can see the team"
            )
        elif code == "RATELIMITED" or kind == "ratelimited" or status == 429:
            return _rate_limited(operation, status, headers)
        else:
            tag = ", ".join(part for part in (f"HTTP {status}", code) if part)
            text = f"Linear answered {operation} with an error ({tag}): {said}"
        return GraphQLErrors(operation, errors, status, self._redact(text))

    def _error(self, message: str) -> TrackerError:
        return TrackerError(self._redact(message))

    def _redact(self, text: str) -> str:
        # A last guard (messages are built without the key); very short "keys" would mangle the text.
        return text.replace(self._key, "***") if len(self._key) >= 8 else text


def _extensions(error: Mapping[str, Any]) -> Mapping[str, Any]:
    ext = error.get("extensions")
    return ext if isinstance(ext, Mapping) else {}


def _rate_limited(operation: str, status: int, headers: httpx.Headers) -> RateLimitedError:
    """Linear's request budget is exhausted; ``X-RateLimit-Requests-Reset`` (epoch ms) says until when."""
    reset: datetime | None = None
    raw = headers.get("X-RateLimit-Requests-Reset")
    if raw is not None:
        with suppress(ValueError, OverflowError, OSError):
            reset = datetime.fromtimestamp(int(raw) / 1000, tz=UTC).replace(microsecond=0)
    return RateLimitedError("Linear", reset, f"HTTP {status}, for {operation}")
