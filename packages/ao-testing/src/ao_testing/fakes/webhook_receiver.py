"""A recording webhook receiver: a real HTTP server on 127.0.0.1 that records each request and answers as scripted.

::

    with WebhookReceiver(secret="s3cret") as receiver:
        receiver.script(503, 503, 200)        # then the default (200) for every later request
        ...  # the code under test POSTs to receiver.url
        assert [r.status for r in receiver.requests] == [503, 503, 200]
        assert all(r.signature_valid for r in receiver.requests)

Each request is recorded with its method, path, headers and raw body bytes, the status it was answered with,
and, when the receiver has a ``secret``, whether its ``X-AO-Signature-256`` header (``sha256=<hex>``: the
HMAC-SHA256 of the exact body bytes under the secret) is valid. A request with a missing or wrong signature
is answered ``401`` without consuming the script, like a real receiver would.

Scripted replies are status codes or :class:`Reply` objects (status, headers such as ``Retry-After``, a
body, a delay, or :data:`HANG`: never answer until the receiver stops).

Fixture for plugin tests (import it into the package's ``conftest.py``)::

    from ao_testing.fakes.webhook_receiver import webhook_receiver

Only the standard library is used.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Self

import pytest

from ao_testing.fakes._serving import LocalHTTPServer

__all__ = [
    "HANG",
    "SIGNATURE_HEADER",
    "ReceivedRequest",
    "Reply",
    "WebhookReceiver",
    "sign",
    "webhook_receiver",
]

SIGNATURE_HEADER = "X-AO-Signature-256"
"""The header that carries ``sha256=<hex HMAC-SHA256 of the body>``."""

_MAX_BODY = 16 * 1024 * 1024


def sign(secret: str | bytes, body: bytes) -> str:
    """The signature header value for ``body``: ``sha256=`` and the hex HMAC-SHA256 under ``secret``."""
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Reply:
    """How the receiver answers one request.

    Attributes:
        status: The HTTP status.
        headers: Extra response headers (``{"Retry-After": "1"}``).
        body: The response body.
        delay_s: Seconds to wait before answering.
        hang: Never answer; the connection is dropped when the receiver stops.
    """

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | str = b""
    delay_s: float = 0.0
    hang: bool = False


HANG = Reply(status=0, hang=True)
"""A scripted reply that never answers."""


@dataclass(frozen=True)
class ReceivedRequest:
    """One request the receiver got.

    Attributes:
        method: ``POST``, ...
        path: The request target (path and query).
        headers: The headers, in order, with their original names.
        body: The raw body bytes.
        status: The status it was answered with (``None``: not answered yet, or it hung).
        signature_valid: Whether the signature matched (``None`` when the receiver has no secret).
        received_at: ``time.monotonic()`` when the request arrived (to measure the delay between retries).
    """

    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes
    status: int | None
    signature_valid: bool | None
    received_at: float = 0.0

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive), ``None`` when absent."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    @property
    def text(self) -> str:
        """The body as UTF-8 text."""
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class WebhookReceiver(LocalHTTPServer):
    """An HTTP server on ``127.0.0.1`` (a free port) that records requests and answers as scripted.

    Args:
        secret: Verify ``X-AO-Signature-256`` with this HMAC key; bad or missing signatures get ``401``.
        default: The reply once the script is used up (default ``200``).
        path: The path of :attr:`url` (any path is accepted and recorded).
    """

    def __init__(self, *, secret: str | None = None, default: Reply | int = 200, path: str = "/hook") -> None:
        super().__init__()
        self.secret = secret
        self._default = _as_reply(default)
        self._path = path
        self._lock = threading.Lock()
        self._script: deque[Reply] = deque()
        self._requests: list[ReceivedRequest] = []
        self._stopping = threading.Event()

    # ------------------------------------------------------------------ setup

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port><path>``."""
        return f"{super().url}{self._path}"

    def script(self, *replies: Reply | int) -> None:
        """Answer the next requests with ``replies``, in order (appended to what is still scripted)."""
        with self._lock:
            self._script.extend(_as_reply(reply) for reply in replies)

    # ------------------------------------------------------------------ what was received

    @property
    def requests(self) -> list[ReceivedRequest]:
        """Every request received, in order (``status`` is ``None`` while one is being answered or hangs)."""
        with self._lock:
            return list(self._requests)

    @property
    def attempts(self) -> int:
        """How many requests were received."""
        with self._lock:
            return len(self._requests)

    def received(self) -> list[str]:
        """Every body as text, for ``NotifierContract``'s ``received`` fixture."""
        return [request.text for request in self.requests]

    def clear(self) -> None:
        """Forget every request and what is still scripted."""
        with self._lock:
            self._requests.clear()
            self._script.clear()

    # ------------------------------------------------------------------ lifecycle

    _thread_name = "webhook-receiver"
    _poll_interval = 0.02
    _join_timeout = 10.0
    _not_started_message = "the receiver is not started; call start() or use it as a context manager"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _make_handler(self)

    def start(self) -> Self:
        """Listen on a free port of 127.0.0.1 and serve from a thread."""
        self._stopping.clear()
        return super().start()

    def close(self) -> None:
        """Stop serving; hanging requests are dropped. Idempotent."""
        self._stopping.set()
        super().close()

    def stop(self) -> None:
        """Stop serving; hanging requests are dropped. Idempotent."""
        self.close()

    # ------------------------------------------------------------------ used by the handler

    def _next_reply(self, signature_valid: bool | None) -> Reply:
        with self._lock:
            if signature_valid is False:
                return Reply(401, body=b"bad signature")
            return self._script.popleft() if self._script else self._default

    def _record(self, request: ReceivedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _answered(self, request: ReceivedRequest, status: int | None) -> None:
        with self._lock:
            for index, recorded in enumerate(self._requests):
                if recorded is request:
                    self._requests[index] = dataclasses.replace(request, status=status)

    def _verify(self, headers: list[tuple[str, str]], body: bytes) -> bool | None:
        if self.secret is None:
            return None
        given = next((value for key, value in headers if key.lower() == SIGNATURE_HEADER.lower()), None)
        return given is not None and hmac.compare_digest(given.strip(), sign(self.secret, body))


def _as_reply(reply: Reply | int) -> Reply:
    return reply if isinstance(reply, Reply) else Reply(status=reply)


def _make_handler(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "ao-testing-webhook-receiver/0.1"

        def _serve(self) -> None:
            arrived = time.monotonic()
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, _MAX_BODY)) if length else b""
            headers = [(str(key), str(value)) for key, value in self.headers.items()]
            signature_valid = receiver._verify(headers, body)
            reply = receiver._next_reply(signature_valid)
            request = ReceivedRequest(self.command, self.path, headers, body, None, signature_valid, arrived)
            receiver._record(request)
            if reply.hang:
                receiver._stopping.wait()
                self.close_connection = True
                return
            if reply.delay_s and receiver._stopping.wait(reply.delay_s):
                self.close_connection = True
                return
            # recorded before the answer goes out: once the client has it, the record says so
            receiver._answered(request, reply.status)
            payload = reply.body.encode() if isinstance(reply.body, str) else reply.body
            self.send_response(reply.status)
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_POST = _serve
        do_PUT = _serve
        do_GET = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output clean: requests are recorded, not logged."""

    return Handler


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A started :class:`WebhookReceiver` without a secret that answers ``200`` unless scripted."""
    with WebhookReceiver() as receiver:
        yield receiver
