"""A faithful fake of Slack's Web API (``auth.test``, ``chat.postMessage``) and of incoming webhooks.

A real HTTP server on ``127.0.0.1`` (port 0), driven by the real ``slack_sdk`` clients::

    from ao_testing.fakes.slack import FakeSlack

    with FakeSlack() as slack:
        client = WebClient(token=slack.token, base_url=slack.api_url)
        client.chat_postMessage(channel="#agents", text="PR #12 merged")
        WebhookClient(slack.add_webhook("agents")).send(text="hello")
        assert [m.text for m in slack.messages] == ["PR #12 merged", "hello"]

What it answers, as Slack does:

- ``POST /api/<method>`` with a form-encoded or JSON body (slack-sdk sends ``auth.test`` as a form and
  ``chat.postMessage`` as JSON). The token comes from ``Authorization: Bearer`` or a ``token`` parameter:
  none gives ``not_authed``, a wrong one ``invalid_auth``. Errors are HTTP 200 with
  ``{"ok": false, "error": "<code>"}``; an unknown method gives ``unknown_method``.
- ``chat.postMessage``: the channel may be an id (``C...``), a name or ``#name``; an unknown one gives
  ``channel_not_found``; no ``text`` and no ``blocks`` gives ``no_text``; blocks that break Block Kit's
  limits give ``invalid_blocks``. Success returns ``ts``, ``channel`` (the id) and ``message``.
- ``POST /services/T.../B.../<secret>`` (a webhook made with :meth:`FakeSlack.add_webhook`): ``200 ok``
  (text/plain); an unknown path ``404 no_service``; a body that is not JSON ``400 invalid_payload``; no text
  ``400 no_text``; bad blocks ``400 invalid_blocks``.
- :meth:`FakeSlack.rate_limit` answers the next N requests with ``429`` and ``Retry-After``;
  :meth:`FakeSlack.fail_next` answers the next N calls of a method with a given Slack error code.

Every message is recorded as a :class:`SlackMessage` with its ``thread_ts``; every request as a
:class:`SlackRequest`. Plugin tests get one started fake per test from the ``fake_slack`` fixture: add
``from ao_testing.fakes.slack import fake_slack`` to the package's ``conftest.py``.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import string
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import pytest

from ao_testing.fakes._serving import LocalHTTPServer

__all__ = [
    "DEFAULT_CHANNEL",
    "DEFAULT_TOKEN",
    "FakeSlack",
    "SlackMessage",
    "SlackRequest",
    "fake_slack",
]

DEFAULT_TOKEN = "xoxb-fake-0000-token"
"""The bot token the fake accepts unless given another."""
DEFAULT_CHANNEL = "agents"
"""The channel every fake starts with (id :attr:`FakeSlack.default_channel_id`)."""

TEAM_ID = "T0FAKETEAM"
BOT_USER_ID = "U0FAKEBOT"
BOT_ID = "B0FAKEBOT"
APP_ID = "A0FAKEAPP"

_WEBHOOK_PATH = re.compile(r"^/services/(T[A-Z0-9]+)/(B[A-Z0-9]+)/([A-Za-z0-9]+)$")
_API_PATH = re.compile(r"^/api/([A-Za-z][A-Za-z0-9_.]*)$")

# Block Kit limits (https://api.slack.com/reference/block-kit/blocks), checked so that a plugin that
# would be refused by Slack is refused here too.
_BLOCK_TYPES = {"header", "section", "context", "actions", "divider", "image", "rich_text", "input", "file", "video"}
_MAX_BLOCKS = 50
_MAX_HEADER_TEXT = 150
_MAX_SECTION_TEXT = 3000
_MAX_FIELDS = 10
_MAX_FIELD_TEXT = 2000
_MAX_CONTEXT_ELEMENTS = 10
_MAX_ACTION_ELEMENTS = 25
_MAX_BUTTON_TEXT = 75
_MAX_URL = 3000


@dataclass(frozen=True)
class SlackMessage:
    """One message the fake accepted, through the Web API or a webhook."""

    ts: str
    """The message's timestamp id (``1700000000.000100``); webhooks get one too, though they do not return it."""
    channel: str
    """The channel id the message went to."""
    text: str | None
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None
    """The parent's ts when the message is a thread reply; ``None`` for a top-level message."""
    reply_broadcast: bool
    via: Literal["api", "webhook"]
    params: dict[str, Any] = field(repr=False)
    """Every parameter the client sent (for webhooks: the JSON payload)."""

    @property
    def is_reply(self) -> bool:
        """Whether the message was posted into a thread."""
        return self.thread_ts is not None and self.thread_ts != self.ts

    def render(self) -> str:
        """The message as one JSON text (text, blocks, channel, thread): what a contract suite searches."""
        return json.dumps(
            {
                "ts": self.ts,
                "channel": self.channel,
                "thread_ts": self.thread_ts,
                "text": self.text,
                "blocks": self.blocks,
            },
            ensure_ascii=False,
        )


@dataclass(frozen=True)
class SlackRequest:
    """One request the fake answered."""

    method: str
    path: str
    """The path without any webhook secret (``/services/T.../B.../***``)."""
    api_method: str | None
    """``chat.postMessage`` etc. for Web API calls; ``None`` for webhooks and unknown paths."""
    status: int
    error: str | None
    """Slack's error code when the answer was an error (``channel_not_found``, ``ratelimited``...)."""
    content_type: str
    authorization: str | None = field(repr=False)


@dataclass
class _Fault:
    remaining: int
    target: Literal["api", "webhook", "any"]
    method: str | None
    error: str | None
    retry_after: int | None


@dataclass
class _Answer:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None


class FakeSlack(LocalHTTPServer):
    """A Slack workspace with one bot token, some channels and incoming webhooks, on 127.0.0.1.

    Args:
        token: The only bot token the Web API accepts.
        channels: Channel names to create besides ``agents``.
    """

    _thread_name = "fake-slack"
    _not_started_message = "FakeSlack is not started; use it as a context manager or call start()"

    def __init__(self, token: str = DEFAULT_TOKEN, channels: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.token = token
        self._lock = threading.Lock()
        self._channels: dict[str, str] = {}  # id -> name
        self._webhooks: dict[str, str] = {}  # path -> channel id
        self._messages: list[SlackMessage] = []
        self._requests: list[SlackRequest] = []
        self._faults: list[_Fault] = []
        self._ids = itertools.count(1)
        self._last_ts_us = 0
        self.default_channel_id = self.add_channel(DEFAULT_CHANNEL)
        for name in channels:
            self.add_channel(name)

    # ------------------------------------------------------------------ lifecycle

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _make_handler(self)

    @property
    def api_url(self) -> str:
        """The Web API base URL for ``WebClient(base_url=...)``, with its trailing slash."""
        return f"{self.url}/api/"

    # ------------------------------------------------------------------ workspace

    def add_channel(self, name: str) -> str:
        """Create a channel and return its id."""
        name = name.removeprefix("#")
        with self._lock:
            channel_id = f"C{next(self._ids):04d}{_random(6, string.ascii_uppercase + string.digits)}"
            self._channels[channel_id] = name
        return channel_id

    def channel_id(self, name: str) -> str:
        """The id of a channel given by name (``agents``, ``#agents``) or id.

        Raises:
            KeyError: when there is no such channel.
        """
        found = self._resolve_channel(name)
        if found is None:
            raise KeyError(name)
        return found

    def add_webhook(self, channel: str = DEFAULT_CHANNEL) -> str:
        """Create an incoming webhook that posts to ``channel`` and return its full URL (a secret, as on Slack)."""
        channel_id = self.channel_id(channel)
        path = f"/services/{TEAM_ID}/B{next(self._ids):04d}{_random(6, string.ascii_uppercase)}/{_random(24)}"
        with self._lock:
            self._webhooks[path] = channel_id
        return f"{self.url}{path}"

    def rate_limit(
        self, count: int = 1, *, retry_after: int = 1, target: Literal["api", "webhook", "any"] = "any"
    ) -> None:
        """Answer the next ``count`` requests (of ``target``) with HTTP 429 and ``Retry-After: retry_after``."""
        with self._lock:
            self._faults.append(_Fault(count, target, None, None, retry_after))

    def fail_next(self, error: str, *, count: int = 1, method: str = "chat.postMessage") -> None:
        """Answer the next ``count`` calls of Web API ``method`` with ``{"ok": false, "error": error}``."""
        with self._lock:
            self._faults.append(_Fault(count, "api", method, error, None))

    # ------------------------------------------------------------------ what was received

    @property
    def messages(self) -> list[SlackMessage]:
        """Every accepted message, in order."""
        with self._lock:
            return list(self._messages)

    @property
    def requests(self) -> list[SlackRequest]:
        """Every answered request, in order."""
        with self._lock:
            return list(self._requests)

    def parents(self) -> list[SlackMessage]:
        """Top-level messages (not thread replies), in order."""
        return [m for m in self.messages if not m.is_reply]

    def replies(self, ts: str) -> list[SlackMessage]:
        """The replies in the thread of the message ``ts``, in order."""
        return [m for m in self.messages if m.is_reply and m.thread_ts == ts]

    def rendered(self) -> list[str]:
        """Every message as JSON text (see :meth:`SlackMessage.render`): a contract suite's ``received``."""
        return [m.render() for m in self.messages]

    # ------------------------------------------------------------------ internals

    def _resolve_channel(self, value: str) -> str | None:
        with self._lock:
            if value in self._channels:
                return value
            name = value.removeprefix("#")
            for channel_id, channel_name in self._channels.items():
                if channel_name == name:
                    return channel_id
        return None

    def _next_ts(self) -> str:
        with self._lock:
            now_us = int(time.time() * 1_000_000)
            self._last_ts_us = max(now_us, self._last_ts_us + 1)
            seconds, micros = divmod(self._last_ts_us, 1_000_000)
        return f"{seconds}.{micros:06d}"

    def _take_fault(self, target: Literal["api", "webhook"], method: str | None, *, rate_limit: bool) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining <= 0 or (fault.retry_after is not None) != rate_limit:
                    continue
                if fault.target not in (target, "any"):
                    continue
                if fault.method is not None and fault.method != method:
                    continue
                fault.remaining -= 1
                return fault
        return None

    def _record_request(self, record: SlackRequest) -> None:
        with self._lock:
            self._requests.append(record)

    def _record_message(self, message: SlackMessage) -> None:
        with self._lock:
            self._messages.append(message)

    # ------------------------------------------------------------------ the Web API

    def _api(self, method: str, params: Mapping[str, Any], authorization: str | None) -> _Answer:
        limited = self._take_fault("api", method, rate_limit=True)
        if limited is not None:
            return _json_answer(
                429, {"ok": False, "error": "ratelimited"}, headers={"Retry-After": str(limited.retry_after)}
            )
        token = _bearer(authorization) or _str(params.get("token"))
        if not token:
            return _slack_error("not_authed")
        if token != self.token:
            return _slack_error("invalid_auth")
        fault = self._take_fault("api", method, rate_limit=False)
        if fault is not None and fault.error is not None:
            return _slack_error(fault.error)
        if method == "auth.test":
            return _json_answer(
                200,
                {
                    "ok": True,
                    "url": "https://fake-workspace.slack.test/",
                    "team": "Fake Workspace",
                    "user": "ao-bot",
                    "team_id": TEAM_ID,
                    "user_id": BOT_USER_ID,
                    "bot_id": BOT_ID,
                    "is_enterprise_install": False,
                },
            )
        if method == "chat.postMessage":
            return self._post_message(params)
        return _json_answer(200, {"ok": False, "error": "unknown_method", "req_method": method}, error="unknown_method")

    def _post_message(self, params: Mapping[str, Any]) -> _Answer:
        channel_id = self._resolve_channel(_str(params.get("channel")) or "")
        if channel_id is None:
            return _slack_error("channel_not_found")
        text = _str(params.get("text"))
        blocks, problem = _parse_blocks(params.get("blocks"))
        if problem is not None:
            return _slack_error("invalid_blocks", detail=problem)
        if not text and not blocks:
            return _slack_error("no_text")
        thread_ts = _str(params.get("thread_ts")) or None
        ts = self._next_ts()
        message = SlackMessage(
            ts=ts,
            channel=channel_id,
            text=text,
            blocks=blocks,
            thread_ts=thread_ts,
            reply_broadcast=_truthy(params.get("reply_broadcast")),
            via="api",
            params=dict(params),
        )
        self._record_message(message)
        shown: dict[str, Any] = {
            "type": "message",
            "text": text or "",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "ts": ts,
        }
        if blocks:
            shown["blocks"] = blocks
        if thread_ts:
            shown["thread_ts"] = thread_ts
        return _json_answer(200, {"ok": True, "channel": channel_id, "ts": ts, "message": shown})

    # ------------------------------------------------------------------ incoming webhooks

    def _webhook(self, path: str, body: bytes, content_type: str) -> _Answer:
        limited = self._take_fault("webhook", None, rate_limit=True)
        if limited is not None:
            return _text_answer(429, "rate_limited", headers={"Retry-After": str(limited.retry_after)})
        with self._lock:
            channel_id = self._webhooks.get(path)
        if channel_id is None:
            return _text_answer(404, "no_service")
        try:
            if content_type.startswith("application/x-www-form-urlencoded"):
                raw = parse_qs(body.decode("utf-8")).get("payload", [""])[-1]
                payload = json.loads(raw)
            else:
                payload = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return _text_answer(400, "invalid_payload")
        if not isinstance(payload, dict):
            return _text_answer(400, "invalid_payload")
        text = _str(payload.get("text"))
        blocks, problem = _parse_blocks(payload.get("blocks"))
        if problem is not None:
            return _text_answer(400, "invalid_blocks")
        if not text and not blocks:
            return _text_answer(400, "no_text")
        self._record_message(
            SlackMessage(
                ts=self._next_ts(),
                channel=channel_id,
                text=text,
                blocks=blocks,
                thread_ts=_str(payload.get("thread_ts")) or None,
                reply_broadcast=False,
                via="webhook",
                params=payload,
            )
        )
        return _text_answer(200, "ok")

    # ------------------------------------------------------------------ dispatch

    def _handle(self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes) -> tuple[_Answer, str]:
        parts = urlsplit(raw_path)
        path = parts.path
        content_type = headers.get("content-type", "")
        webhook = _WEBHOOK_PATH.match(path)
        if webhook is not None:
            shown = f"/services/{webhook.group(1)}/{webhook.group(2)}/***"
            if method != "POST":
                return _text_answer(405, "invalid_method"), shown
            return self._webhook(path, body, content_type), shown
        api = _API_PATH.match(path)
        if api is None:
            return _text_answer(404, "not_found"), path
        params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            params.update(_parse_body(body, content_type))
        except ValueError:
            return _slack_error("invalid_json"), path
        return self._api(api.group(1), params, headers.get("authorization")), path


# =========================================================================== helpers


def _random(length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in {"1", "true", "yes"}
    return bool(value)


def _bearer(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


def _parse_body(body: bytes, content_type: str) -> dict[str, Any]:
    if not body:
        return {}
    text = body.decode("utf-8")
    if content_type.startswith("application/json"):
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("a JSON body must be an object")
        return data
    return {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}


def _parse_blocks(raw: Any) -> tuple[list[dict[str, Any]] | None, str | None]:
    """The blocks (a JSON string in form bodies, a list in JSON bodies) and the first problem with them."""
    if raw is None or raw == "":
        return None, None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return None, "blocks are not JSON"
    if not isinstance(raw, list) or not all(isinstance(b, dict) for b in raw):
        return None, "blocks must be an array of objects"
    blocks: list[dict[str, Any]] = raw
    problem = _block_problem(blocks)
    return (None, problem) if problem else (blocks, None)


def _text_of(obj: Any) -> str | None:
    if isinstance(obj, dict) and obj.get("type") in {"plain_text", "mrkdwn"} and isinstance(obj.get("text"), str):
        return str(obj["text"])
    return None


def _block_problem(blocks: list[dict[str, Any]]) -> str | None:
    if len(blocks) > _MAX_BLOCKS:
        return f"more than {_MAX_BLOCKS} blocks"
    for index, block in enumerate(blocks):
        kind = block.get("type")
        where = f"blocks[{index}]"
        if kind not in _BLOCK_TYPES:
            return f"{where}: unknown block type {kind!r}"
        if kind == "header":
            text = _text_of(block.get("text"))
            if text is None or block["text"].get("type") != "plain_text":
                return f"{where}: a header needs a plain_text text"
            if not text or len(text) > _MAX_HEADER_TEXT:
                return f"{where}: header text must be 1-{_MAX_HEADER_TEXT} characters"
        elif kind == "section":
            text = _text_of(block.get("text")) if "text" in block else None
            fields = block.get("fields")
            if text is None and not fields:
                return f"{where}: a section needs text or fields"
            if text is not None and not 0 < len(text) <= _MAX_SECTION_TEXT:
                return f"{where}: section text must be 1-{_MAX_SECTION_TEXT} characters"
            if fields is not None:
                if not isinstance(fields, list) or len(fields) > _MAX_FIELDS:
                    return f"{where}: at most {_MAX_FIELDS} fields"
                for field_obj in fields:
                    field_text = _text_of(field_obj)
                    if field_text is None or not 0 < len(field_text) <= _MAX_FIELD_TEXT:
                        return f"{where}: each field needs 1-{_MAX_FIELD_TEXT} characters of text"
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 0 < len(elements) <= _MAX_CONTEXT_ELEMENTS:
                return f"{where}: a context needs 1-{_MAX_CONTEXT_ELEMENTS} elements"
        elif kind == "actions":
            problem = _actions_problem(where, block.get("elements"))
            if problem:
                return problem
    return None


def _actions_problem(where: str, elements: Any) -> str | None:
    if not isinstance(elements, list) or not 0 < len(elements) <= _MAX_ACTION_ELEMENTS:
        return f"{where}: an actions block needs 1-{_MAX_ACTION_ELEMENTS} elements"
    action_ids: set[str] = set()
    for element in elements:
        if not isinstance(element, dict):
            return f"{where}: elements must be objects"
        if element.get("type") == "button":
            label = _text_of(element.get("text"))
            if label is None or not 0 < len(label) <= _MAX_BUTTON_TEXT:
                return f"{where}: button text must be 1-{_MAX_BUTTON_TEXT} characters"
            url = element.get("url")
            if url is not None and (not isinstance(url, str) or len(url) > _MAX_URL):
                return f"{where}: button url must be a string of at most {_MAX_URL} characters"
        action_id = element.get("action_id")
        if isinstance(action_id, str):
            if action_id in action_ids:
                return f"{where}: duplicate action_id {action_id!r}"
            action_ids.add(action_id)
    return None


def _json_answer(
    status: int, payload: Mapping[str, Any], *, headers: Mapping[str, str] | None = None, error: str | None = None
) -> _Answer:
    body = json.dumps(payload).encode("utf-8")
    found = error or (payload.get("error") if payload.get("ok") is False else None)
    return _Answer(status, body, "application/json; charset=utf-8", dict(headers or {}), found)


def _slack_error(code: str, *, detail: str | None = None) -> _Answer:
    payload: dict[str, Any] = {"ok": False, "error": code}
    if detail:
        payload["response_metadata"] = {"messages": [f"[ERROR] {detail}"]}
    return _json_answer(200, payload)


def _text_answer(status: int, text: str, *, headers: Mapping[str, str] | None = None) -> _Answer:
    return _Answer(
        status, text.encode("utf-8"), "text/plain; charset=utf-8", dict(headers or {}), None if status == 200 else text
    )


def _make_handler(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "FakeSlack/1.0"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            answer, shown_path = fake._handle(self.command, self.path, headers, body)
            api = _API_PATH.match(urlsplit(self.path).path)
            fake._record_request(
                SlackRequest(
                    method=self.command,
                    path=shown_path,
                    api_method=api.group(1) if api else None,
                    status=answer.status,
                    error=answer.error,
                    content_type=headers.get("content-type", ""),
                    authorization=headers.get("authorization"),
                )
            )
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer.body)

        do_GET = _serve
        do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean; requests are recorded in FakeSlack.requests

    return Handler


# =========================================================================== the fixture


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A started :class:`FakeSlack` (token :data:`DEFAULT_TOKEN`, channel ``agents``), stopped after the test."""
    with FakeSlack() as fake:
        yield fake
