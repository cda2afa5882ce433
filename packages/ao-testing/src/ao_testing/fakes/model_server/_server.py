"""The scripted model server: a real HTTP/1.1 server on 127.0.0.1 speaking three model APIs."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit

from ao_testing.fakes._serving import LocalHTTPServer
from ao_testing.fakes.model_server._script import Turn, Usage
from ao_testing.fakes.model_server._text_edits import render_text_turn, text_edit_format
from ao_testing.fakes.model_server._tools import find_cwd, offered_tools, resolve_call
from ao_testing.fakes.model_server._wire import (
    Answer,
    Event,
    anthropic_events,
    anthropic_json,
    chat_chunks,
    chat_json,
    error_json,
    last_user_text,
    responses_events,
    responses_json,
    side_text,
)

__all__ = ["ModelServer", "RecordedRequest"]

_MAX_BODY = 64 * 1024 * 1024
_SECRET_HEADERS = frozenset({"x-api-key", "authorization", "api-key"})
_APIS = {"/v1/messages": "anthropic", "/v1/chat/completions": "chat", "/chat/completions": "chat"}
_APIS["/v1/responses"] = "responses"
_APIS["/responses"] = "responses"


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received.

    Attributes:
        method: ``POST``, ``GET``...
        path: The path, without the query string.
        query: The query string (``beta=true``).
        headers: The headers in order, names as sent.
        body: The JSON body (``None`` when there was none or it was not JSON).
        api: ``anthropic``, ``chat`` or ``responses`` for model requests, else ``None``.
        kind: ``turn`` (answered with a scripted turn), ``side`` (a request without tools, such as title
            generation), ``idle`` (the next turn waits for another user message, or the script is used up),
            ``other`` (not a model request).
        turn: Index of the scripted turn it was answered with (``kind == "turn"``).
        received_at: ``time.monotonic()`` when it arrived.
    """

    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: Any
    api: str | None
    kind: str
    turn: int | None = None
    received_at: float = 0.0

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive), ``None`` when absent."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    @property
    def stream(self) -> bool:
        """Whether the client asked for a streamed (SSE) answer."""
        return isinstance(self.body, Mapping) and bool(self.body.get("stream"))

    @property
    def tool_names(self) -> list[str]:
        """Names of the function tools the request offers."""
        if self.api is None or not isinstance(self.body, Mapping):
            return []
        return [tool.name for tool in offered_tools(self.api, self.body)]

    @property
    def messages(self) -> list[Any]:
        """The conversation sent: ``messages`` (Anthropic, Chat Completions) or ``input`` (Responses)."""
        if not isinstance(self.body, Mapping):
            return []
        value = self.body.get("input" if self.api == "responses" else "messages")
        if isinstance(value, str):
            return [{"role": "user", "content": value}]
        return list(value) if isinstance(value, list) else []

    @property
    def user_text(self) -> str:
        """The text of the final message when it is a user's message (``""`` when it carries tool results)."""
        if self.api is None or not isinstance(self.body, Mapping):
            return ""
        return last_user_text(self.api, self.body)

    def contains(self, text: str) -> bool:
        """Whether ``text`` occurs in any string of the conversation sent (messages or input, not the system)."""
        return any(text in value for value in _strings(self.messages))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@dataclass
class _Decision:
    kind: str
    turn_index: int | None = None
    turn: Turn | None = None
    answer: Answer | None = None
    delay_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


class ModelServer(LocalHTTPServer):
    """A scripted model server on ``127.0.0.1`` (a free port) for running real agent CLIs in tests.

    It answers ``POST /v1/messages`` (Anthropic Messages, with or without ``?beta=true``),
    ``POST /v1/chat/completions`` (OpenAI Chat Completions) and ``POST /v1/responses`` (OpenAI Responses),
    streamed (SSE over chunked HTTP/1.1) or as one JSON body, from a script of :class:`Turn` objects, and
    records every request. ``POST /v1/messages/count_tokens`` and ``GET /v1/models`` get plausible answers.

    Which turn answers which request: a request that offers tools gets the next scripted turn, unless that
    turn ``wait_for`` a user message the request's final message does not contain; then (and once the script
    is used up) it gets ``idle_reply``, which ends the agent's turn and consumes nothing. A request without
    tools (title generation, commit messages) gets ``side_reply`` and consumes nothing, except Aider's: its
    requests offer no tools but ask for edit blocks, so they get turns with the tool calls written as edit
    blocks (see ``_text_edits``).

    Args:
        side_reply: The answer to requests without tools.
        idle_reply: The answer when no turn applies.
        side_usage: Usage reported with side and idle replies.
        log_path: Also append each request as a JSON line here (API keys redacted).
    """

    _thread_name = "model-server"
    _join_timeout = 10.0
    _not_started_message = "the model server is not started; call start() or use it as a context manager"

    def __init__(
        self,
        *,
        side_reply: str = "Scripted session",
        idle_reply: str = "Nothing more to do.",
        side_usage: Usage | None = None,
        log_path: Path | None = None,
    ) -> None:
        super().__init__()
        self.side_reply = side_reply
        self.idle_reply = idle_reply
        self.side_usage = side_usage or Usage(input_tokens=0, output_tokens=0)
        self.log_path = log_path
        self._lock = threading.Condition()
        self._turns: list[Turn] = []
        self._next = 0
        self._requests: list[RecordedRequest] = []
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()

    # ------------------------------------------------------------------ script

    def script(self, *turns: Turn) -> None:
        """Append ``turns`` to the script."""
        with self._lock:
            self._turns.extend(turns)
            self._lock.notify_all()

    @property
    def served_turns(self) -> int:
        """How many scripted turns have been served."""
        with self._lock:
            return self._next

    @property
    def pending_turns(self) -> int:
        """How many scripted turns are still to be served."""
        with self._lock:
            return len(self._turns) - self._next

    def served_usage(self) -> Usage:
        """The usage of every turn served so far, summed (side and idle replies and errors not included)."""
        with self._lock:
            total = Usage(0, 0)
            for turn in self._turns[: self._next]:
                if turn.error is None:
                    total = total + turn.usage
            return total

    # ------------------------------------------------------------------ what was received

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, in order."""
        with self._lock:
            return list(self._requests)

    @property
    def turn_requests(self) -> list[RecordedRequest]:
        """The requests that were answered with a scripted turn."""
        return [request for request in self.requests if request.kind == "turn"]

    def wait_for_request(
        self, predicate: Callable[[RecordedRequest], bool], *, timeout: float = 30.0, start: int = 0
    ) -> RecordedRequest:
        """Block until a request (from index ``start`` on) satisfies ``predicate``; return it.

        Raises:
            TimeoutError: none arrived within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for request in self._requests[start:]:
                    if predicate(request):
                        return request
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no matching request within {timeout} s ({len(self._requests)} received)")
                self._lock.wait(left)

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``: ``ANTHROPIC_BASE_URL`` (the client appends ``/v1/messages``)."""
        return self.url

    @property
    def openai_base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``: the base URL OpenAI clients take."""
        return f"{self.base_url}/v1"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _make_handler(self)

    def start(self) -> Self:
        """Listen on a free port of 127.0.0.1 and serve from a thread."""
        self._stopping.clear()
        return super().start()

    def close(self) -> None:
        """Stop serving and drop open connections. Idempotent."""
        self._stopping.set()
        super().close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        """Stop serving and drop open connections. Idempotent."""
        self.close()

    # ------------------------------------------------------------------ used by the handler

    def _decide(self, api: str, body: Mapping[str, Any]) -> _Decision:
        tools = offered_tools(api, body)
        edit_format = text_edit_format(api, body)  # Aider: no tools, edits written as text blocks
        with self._lock:
            if not tools and edit_format is None:
                return _Decision("side", answer=Answer(side_text(api, body, self.side_reply), usage=self.side_usage))
            turn = self._turns[self._next] if self._next < len(self._turns) else None
            if turn is None or (
                turn.wait_for is not None and turn.wait_for.lower() not in last_user_text(api, body).lower()
            ):
                return _Decision("idle", answer=Answer(self.idle_reply, usage=self.side_usage))
            index = self._next
            self._next += 1
        if turn.error is not None:
            return _Decision("turn", index, turn, None, turn.delay_s)
        if edit_format is not None:
            answer = Answer(render_text_turn(turn, edit_format), (), turn.usage)
            return _Decision("turn", index, turn, answer, turn.delay_s)
        cwd = find_cwd(body)
        calls = [resolve_call(call, tools, cwd) for call in turn.tool_calls]
        return _Decision("turn", index, turn, Answer(turn.text, calls, turn.usage), turn.delay_s)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)
            self._lock.notify_all()
        if self.log_path is not None:
            headers = [
                (key, "<redacted>" if key.lower() in _SECRET_HEADERS else value) for key, value in request.headers
            ]
            line = {
                "method": request.method,
                "path": request.path,
                "query": request.query,
                "headers": headers,
                "body": request.body,
                "api": request.api,
                "kind": request.kind,
                "turn": request.turn,
            }
            with self._lock, self.log_path.open("a", encoding="utf-8") as log:
                log.write(json.dumps(line, ensure_ascii=False) + "\n")

    def _track(self, connection: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)


def _make_handler(owner: ModelServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "ao-testing-model-server/0.1"

        def setup(self) -> None:
            super().setup()
            owner._track(self.connection, True)

        def finish(self) -> None:
            owner._track(self.connection, False)
            with contextlib.suppress(OSError):
                super().finish()

        # ---------------------------------------------------------- plumbing

        def _read_body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                data = bytearray()
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        break
                    data += self.rfile.read(size)
                    self.rfile.readline()
                    if len(data) > _MAX_BODY:
                        raise ValueError("request body too large")
                raw = bytes(data)
            else:
                length = int(self.headers.get("Content-Length") or 0)
                if length > _MAX_BODY:
                    raise ValueError("request body too large")
                raw = self.rfile.read(length) if length else b""
            encoding = self.headers.get("Content-Encoding", "").lower()
            if encoding in ("gzip", "deflate"):
                raw = zlib.decompress(raw, 47)  # 47: accept zlib and gzip headers
            return raw

        def _send_json(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("request-id", f"req_{uuid.uuid4().hex[:24]}")
            self.end_headers()
            self.wfile.write(data)

        def _send_stream(self, events: list[Event], *, done_marker: bool = False) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("request-id", f"req_{uuid.uuid4().hex[:24]}")
            self.end_headers()
            for name, data in events:
                text = (f"event: {name}\n" if name else "") + f"data: {json.dumps(data, ensure_ascii=False)}\n\n"
                self._chunk(text.encode())
            if done_marker:
                self._chunk(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def _headers(self) -> list[tuple[str, str]]:
            return [(str(key), str(value)) for key, value in self.headers.items()]

        # ---------------------------------------------------------- routes

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            owner._record(
                RecordedRequest(
                    "GET", url.path, url.query, self._headers(), None, None, "other", None, time.monotonic()
                )
            )
            if url.path.rstrip("/") in ("/v1/models", "/models"):
                model = {"id": "fake-model", "object": "model", "type": "model", "display_name": "Fake model"}
                self._send_json(200, {"object": "list", "data": [model], "has_more": False})
            elif url.path in ("", "/"):
                self._send_json(200, {"ok": True})
            else:
                self._send_json(404, {"error": {"type": "not_found_error", "message": f"no route {url.path}"}})

        def do_HEAD(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            arrived = time.monotonic()
            url = urlsplit(self.path)
            try:
                raw = self._read_body()
                body: Any = json.loads(raw) if raw else None
            except (ValueError, zlib.error) as exc:
                owner._record(
                    RecordedRequest("POST", url.path, url.query, self._headers(), None, None, "other", None, arrived)
                )
                self._send_json(400, {"error": {"type": "invalid_request_error", "message": f"bad body: {exc}"}})
                return
            path = url.path.rstrip("/")
            if path == "/v1/messages/count_tokens":
                owner._record(
                    RecordedRequest("POST", url.path, url.query, self._headers(), body, None, "other", None, arrived)
                )
                self._send_json(200, {"input_tokens": max(1, len(raw) // 4)})
                return
            api = _APIS.get(path)
            if api is None or not isinstance(body, Mapping):
                owner._record(
                    RecordedRequest("POST", url.path, url.query, self._headers(), body, None, "other", None, arrived)
                )
                self._send_json(404, {"error": {"type": "not_found_error", "message": f"no route POST {url.path}"}})
                return
            decision = owner._decide(api, body)
            owner._record(
                RecordedRequest(
                    "POST", url.path, url.query, self._headers(), body, api, decision.kind, decision.turn_index, arrived
                )
            )
            if decision.delay_s and owner._stopping.wait(decision.delay_s):
                self.close_connection = True
                return
            model = str(body.get("model") or "fake-model")
            if decision.turn is not None and decision.turn.error is not None:
                self._send_json(decision.turn.error.status, error_json(api, decision.turn.error))
                return
            assert decision.answer is not None
            answer = decision.answer
            stream = bool(body.get("stream"))
            if api == "anthropic":
                if stream:
                    self._send_stream(anthropic_events(answer, model))
                else:
                    self._send_json(200, anthropic_json(answer, model))
            elif api == "chat":
                if stream:
                    options = body.get("stream_options")
                    include_usage = isinstance(options, Mapping) and bool(options.get("include_usage"))
                    chunks = chat_chunks(answer, model, include_usage=include_usage)
                    self._send_stream([(None, chunk) for chunk in chunks], done_marker=True)
                else:
                    self._send_json(200, chat_json(answer, model))
            elif stream:
                self._send_stream(responses_events(answer, model))
            else:
                self._send_json(200, responses_json(answer, model))

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output clean: requests are recorded, not logged."""

    return Handler
