"""A fake of Composio's REST API (v3.1) for executing tools, driven by the real ``composio`` Python SDK.

A real HTTP server on ``127.0.0.1`` (port 0). It answers what the SDK (0.30, with ``composio-client``
2.0.0rc19) sends when it executes a tool::

    composio = Composio(api_key=fake.api_key, base_url=fake.url, allow_tracking=False)
    composio.tools.execute("SLACK_SEND_MESSAGE", {"channel": "C1", "text": "hi"}, user_id="default",
                           dangerously_skip_version_check=True)

1. ``GET /api/v3.1/tools/{slug}?toolkit_versions=...`` — the tool's schema, shaped like the client's
   ``ToolRetrieveResponse`` (the SDK fetches it once per tool before the first execution);
2. ``POST /api/v3.1/tools/execute/{slug}`` with a JSON body ``{"user_id", "version", "arguments",
   "connected_account_id"?, "text"?}`` — answered like ``ToolExecuteResponse``:
   ``{"data": {...}, "error": null, "successful": true, "log_id": "log_..."}``.

Both need the project key in ``x-api-key``; without it or with a wrong one the answer is ``401``. Errors
use the envelope the client parses (``composio_client._exceptions``):
``{"error": {"message", "code", "slug", "status", "request_id", "suggested_fix"?, "errors"?}}``. The
``slug`` and ``code`` values are this fake's own (Composio does not publish a list); the shape and status
codes are the service's. Arguments are checked against the tool's input schema (required and unknown
keys → ``400``); a user without a connected account for the tool's toolkit gets ``400`` "No connected
account found for this user and toolkit", as the service answers.

Tools known by default: ``SLACK_SEND_MESSAGE`` (toolkit ``slack``), ``DISCORDBOT_CREATE_MESSAGE``
(``discordbot``), ``GMAIL_SEND_EMAIL`` (``gmail``); user ``default`` has an account for each.
:meth:`FakeComposio.fail_tool` makes the next executions of a tool fail the way a tool fails
(``successful: false``); :meth:`FakeComposio.fail_next` answers the next requests with an HTTP error.

Plugin tests get one per test from the ``fake_composio`` fixture: add
``from ao_testing.fakes.composio import fake_composio`` to the package's ``conftest.py``.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import string
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from ao_testing.fakes._serving import LocalHTTPServer

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_TOOLS",
    "FakeComposio",
    "FakeTool",
    "RequestRecord",
    "ToolExecution",
    "fake_composio",
]

DEFAULT_API_KEY = "ak_fake_composio_0000"
"""The project API key the fake accepts unless given another."""

TOOL_VERSION = "20250901_00"
_PREFIX = "/api/v3.1"
_RETRIEVE = re.compile(rf"^{_PREFIX}/tools/(?P<slug>[A-Za-z0-9_]+)$")
_EXECUTE = re.compile(rf"^{_PREFIX}/tools/execute/(?P<slug>[A-Za-z0-9_]+)$")


@dataclass(frozen=True)
class FakeTool:
    """A tool the fake knows: its slug, toolkit, input schema and what a successful run returns."""

    slug: str
    toolkit: str
    name: str
    description: str
    properties: dict[str, dict[str, Any]]
    required: tuple[str, ...] = ()
    no_auth: bool = False

    def input_schema(self) -> dict[str, Any]:
        """The JSON schema of the tool's arguments, as the API returns it in ``input_parameters``."""
        return {
            "type": "object",
            "title": f"{self.slug.title().replace('_', '')}Request",
            "properties": self.properties,
            "required": list(self.required),
        }


DEFAULT_TOOLS: tuple[FakeTool, ...] = (
    FakeTool(
        slug="SLACK_SEND_MESSAGE",
        toolkit="slack",
        name="Send message",
        description="Posts a message to a Slack channel, private group or direct message.",
        properties={
            "channel": {"type": "string", "description": "Channel id or name to post to."},
            "text": {"type": "string", "description": "Message text (Slack mrkdwn)."},
            "markdown_text": {"type": "string", "description": "Message text in Markdown."},
            "thread_ts": {"type": "string", "description": "Parent message ts, to reply in a thread."},
            "blocks": {"type": "string", "description": "Block Kit blocks as a JSON string."},
        },
        required=("channel",),
    ),
    FakeTool(
        slug="DISCORDBOT_CREATE_MESSAGE",
        toolkit="discordbot",
        name="Create message",
        description="Posts a message to a Discord channel as the bot.",
        properties={
            "channel_id": {"type": "string", "description": "The channel's snowflake id."},
            "content": {"type": "string", "description": "Message text (up to 2000 characters)."},
        },
        required=("channel_id",),
    ),
    FakeTool(
        slug="GMAIL_SEND_EMAIL",
        toolkit="gmail",
        name="Send email",
        description="Sends an email from the connected Gmail account.",
        properties={
            "recipient_email": {"type": "string", "description": "Address of the primary recipient."},
            "subject": {"type": "string", "description": "Subject line."},
            "body": {"type": "string", "description": "Email body (plain text, or HTML with is_html)."},
            "is_html": {"type": "boolean", "description": "Whether body is HTML."},
        },
        required=("recipient_email", "body"),
    ),
)
"""The tools every fake starts with."""


@dataclass(frozen=True)
class ToolExecution:
    """One tool execution the fake accepted (whether the tool then succeeded or was told to fail)."""

    slug: str
    toolkit: str
    arguments: dict[str, Any]
    user_id: str | None
    connected_account_id: str | None
    version: str | None
    successful: bool
    body: dict[str, Any] = field(repr=False)
    """The whole JSON body the SDK sent."""

    def render(self) -> str:
        """The execution as one JSON text (slug and arguments): what a contract suite searches."""
        return json.dumps({"slug": self.slug, "arguments": self.arguments}, ensure_ascii=False)


@dataclass(frozen=True)
class RequestRecord:
    """One request the fake answered."""

    method: str
    path: str
    query: dict[str, list[str]]
    status: int
    headers: dict[str, str] = field(repr=False)
    """The request headers, names lower-cased (``x-api-key`` included: the fake is a test double)."""
    body: Any = field(repr=False)


@dataclass
class _Fault:
    remaining: int
    slug: str | None
    status: int | None
    message: str
    error_slug: str | None
    route: Literal["any", "retrieve", "execute"] = "any"


class _ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        slug: str,
        *,
        suggested_fix: str | None = None,
        errors: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.slug = slug
        self.suggested_fix = suggested_fix
        self.errors = errors


class FakeComposio(LocalHTTPServer):
    """A Composio project with one API key, some tools and connected accounts, on 127.0.0.1.

    Args:
        api_key: The only project API key accepted (``x-api-key``).
        tools: The tools it knows (default :data:`DEFAULT_TOOLS`).
    """

    _thread_name = "fake-composio"
    _not_started_message = "FakeComposio is not started; use it as a context manager or call start()"

    def __init__(self, api_key: str = DEFAULT_API_KEY, tools: tuple[FakeTool, ...] = DEFAULT_TOOLS) -> None:
        super().__init__()
        self.api_key = api_key
        self._lock = threading.Lock()
        self._tools = {tool.slug: tool for tool in tools}
        self._accounts: dict[str, tuple[str, str]] = {}  # id -> (user id, toolkit)
        self._executions: list[ToolExecution] = []
        self._requests: list[RequestRecord] = []
        self._faults: list[_Fault] = []
        self._ids = itertools.count(1)
        for toolkit in sorted({tool.toolkit for tool in tools}):
            self.connect(toolkit)

    # ------------------------------------------------------------------ lifecycle

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _make_handler(self)

    @property
    def url(self) -> str:
        """The base URL for ``Composio(base_url=...)``: ``http://127.0.0.1:<port>``."""
        return super().url

    # ------------------------------------------------------------------ the project

    def add_tool(self, tool: FakeTool) -> None:
        """Make another tool known."""
        with self._lock:
            self._tools[tool.slug] = tool

    def connect(self, toolkit: str, user_id: str = "default") -> str:
        """Give ``user_id`` a connected account for ``toolkit``; return the account's id (``ca_...``)."""
        account_id = f"ca_{next(self._ids):04d}{_random(8)}"
        with self._lock:
            self._accounts[account_id] = (user_id, toolkit)
        return account_id

    def disconnect(self, toolkit: str, user_id: str = "default") -> None:
        """Remove every connected account of ``user_id`` for ``toolkit``."""
        with self._lock:
            for account_id in [a for a, (u, t) in self._accounts.items() if (u, t) == (user_id, toolkit)]:
                del self._accounts[account_id]

    def fail_tool(self, slug: str, error: str, *, count: int = 1) -> None:
        """Let the next ``count`` executions of ``slug`` run but fail (``successful: false``, ``error``)."""
        with self._lock:
            self._faults.append(_Fault(count, slug, None, error, None))

    def fail_next(
        self,
        status: int,
        message: str,
        *,
        error_slug: str = "Fake_InjectedError",
        count: int = 1,
        route: Literal["any", "retrieve", "execute"] = "any",
    ) -> None:
        """Answer the next ``count`` requests (of ``route``) with HTTP ``status`` and the error envelope."""
        with self._lock:
            self._faults.append(_Fault(count, None, status, message, error_slug, route))

    # ------------------------------------------------------------------ what was received

    @property
    def executions(self) -> list[ToolExecution]:
        """Every accepted execution, in order."""
        with self._lock:
            return list(self._executions)

    @property
    def requests(self) -> list[RequestRecord]:
        """Every answered request, in order."""
        with self._lock:
            return list(self._requests)

    def rendered(self) -> list[str]:
        """Every execution as JSON text (see :meth:`ToolExecution.render`): a contract suite's ``received``."""
        return [e.render() for e in self.executions]

    # ------------------------------------------------------------------ internals

    def _take_fault(self, *, http: bool, slug: str | None, route: str | None = None) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining <= 0 or (fault.status is not None) != http:
                    continue
                if fault.slug is not None and fault.slug != slug:
                    continue
                if fault.route != "any" and fault.route != route:
                    continue
                fault.remaining -= 1
                return fault
        return None

    def _authenticate(self, headers: Mapping[str, str]) -> None:
        key = headers.get("x-api-key")
        if not key:
            raise _ApiError(
                401,
                "API key is missing",
                "Auth_ApiKeyMissing",
                suggested_fix="Send your project API key in the x-api-key header",
            )
        if key != self.api_key:
            raise _ApiError(
                401,
                "Invalid API key",
                "Auth_InvalidApiKey",
                suggested_fix="Check the API key in your project settings",
            )

    def _tool(self, slug: str) -> FakeTool:
        with self._lock:
            tool = self._tools.get(slug)
        if tool is None:
            raise _ApiError(404, f"Tool {slug} not found", "Tool_ToolNotFound")
        return tool

    def _retrieve(self, slug: str) -> dict[str, Any]:
        tool = self._tool(slug)
        return {
            "available_versions": [TOOL_VERSION],
            "deprecated": {
                "available_versions": [TOOL_VERSION],
                "displayName": tool.name,
                "is_deprecated": False,
                "toolkit": {"logo": f"https://logos.composio.test/{tool.toolkit}.png"},
                "version": TOOL_VERSION,
            },
            "description": tool.description,
            "human_description": tool.description,
            "input_parameters": tool.input_schema(),
            "is_deprecated": False,
            "name": tool.name,
            "no_auth": tool.no_auth,
            "output_parameters": {"type": "object", "properties": {"data": {"type": "object"}}},
            "scope_requirements": None,
            "scopes": [],
            "slug": tool.slug,
            "tags": [],
            "toolkit": {
                "logo": f"https://logos.composio.test/{tool.toolkit}.png",
                "name": tool.toolkit.title(),
                "slug": tool.toolkit,
            },
            "version": TOOL_VERSION,
        }

    def _execute(self, slug: str, body: Any) -> dict[str, Any]:
        tool = self._tool(slug)
        if not isinstance(body, dict):
            raise _ApiError(400, "Validation error while processing request", "Request_ValidationError")
        arguments = body.get("arguments")
        text = body.get("text")
        if (arguments is None) == (text is None):
            raise _ApiError(
                400,
                "Validation error while processing request",
                "Request_ValidationError",
                suggested_fix="Please check the payload.",
                errors=["Error in payload.text.arguments: Only one of 'text' or 'arguments' must be provided"],
            )
        if arguments is None:
            raise _ApiError(400, "Natural-language input is not supported by this fake", "Fake_TextUnsupported")
        if not isinstance(arguments, dict):
            raise _ApiError(400, "arguments must be an object", "Request_ValidationError")
        problems = _argument_problems(tool, arguments)
        if problems:
            raise _ApiError(
                400,
                f"Invalid request data provided for {slug}",
                "ActionExecute_InvalidArguments",
                suggested_fix="Check the tool's input schema",
                errors=problems,
            )
        version = body.get("version")
        if version not in (None, "latest", TOOL_VERSION):
            raise _ApiError(404, f"Version {version} of tool {slug} not found", "Tool_VersionNotFound")
        user_id = body.get("user_id") or body.get("entity_id")
        account_id = body.get("connected_account_id")
        if not tool.no_auth:
            self._check_account(tool, user_id if isinstance(user_id, str) else None, account_id)
        fault = self._take_fault(http=False, slug=slug)
        execution = ToolExecution(
            slug=slug,
            toolkit=tool.toolkit,
            arguments=dict(arguments),
            user_id=user_id if isinstance(user_id, str) else None,
            connected_account_id=account_id if isinstance(account_id, str) else None,
            version=version if isinstance(version, str) else None,
            successful=fault is None,
            body=dict(body),
        )
        with self._lock:
            self._executions.append(execution)
        log_id = f"log_{uuid.uuid4().hex[:12]}"
        if fault is not None:
            return {"data": {}, "error": fault.message, "successful": False, "log_id": log_id, "session_info": None}
        return {"data": _tool_output(tool, arguments), "error": None, "successful": True, "log_id": log_id}

    def _check_account(self, tool: FakeTool, user_id: str | None, account_id: Any) -> None:
        with self._lock:
            accounts = dict(self._accounts)
        if account_id is not None:
            owner = accounts.get(account_id) if isinstance(account_id, str) else None
            if owner is None or owner[1] != tool.toolkit:
                raise _ApiError(404, f"Connected account {account_id} not found", "ConnectedAccount_NotFound")
            return
        if (user_id or "default", tool.toolkit) not in accounts.values():
            raise _ApiError(
                400,
                "No connected account found for this user and toolkit",
                "ConnectedAccount_NotFound",
                suggested_fix="Connect the user to the toolkit first",
            )

    def _handle(
        self, method: str, raw_path: str, headers: Mapping[str, str], raw_body: bytes
    ) -> tuple[int, dict[str, Any], Any]:
        parts = urlsplit(raw_path)
        path = unquote(parts.path)
        body: Any = None
        try:
            if raw_body:
                try:
                    body = json.loads(raw_body)
                except ValueError as exc:
                    raise _ApiError(400, "Request body is not valid JSON", "Request_InvalidJson") from exc
            self._authenticate(headers)
            retrieve = _RETRIEVE.match(path) if method == "GET" else None
            execute = _EXECUTE.match(path) if method == "POST" else None
            match = retrieve or execute
            route = "retrieve" if retrieve else "execute" if execute else None
            fault = self._take_fault(http=True, slug=match.group("slug") if match else None, route=route)
            if fault is not None and fault.status is not None:
                raise _ApiError(fault.status, fault.message, fault.error_slug or "Fake_InjectedError")
            if retrieve is not None:
                return 200, self._retrieve(retrieve.group("slug")), body
            if execute is not None:
                return 200, self._execute(execute.group("slug"), body), body
            raise _ApiError(404, f"Cannot {method} {path}", "Route_NotFound")
        except _ApiError as error:
            envelope: dict[str, Any] = {
                "message": error.message,
                "code": 10000 + error.status,
                "slug": error.slug,
                "status": error.status,
                "request_id": headers.get("x-request-id") or f"req_{uuid.uuid4().hex[:12]}",
            }
            if error.suggested_fix:
                envelope["suggested_fix"] = error.suggested_fix
            if error.errors:
                envelope["errors"] = error.errors
            return error.status, {"error": envelope}, body


# =========================================================================== helpers


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
    "object": (dict,),
    "array": (list,),
}


def _argument_problems(tool: FakeTool, arguments: Mapping[str, Any]) -> list[str]:
    problems = [f"Missing required argument '{name}'" for name in tool.required if arguments.get(name) is None]
    for name, value in arguments.items():
        spec = tool.properties.get(name)
        if spec is None:
            problems.append(f"Unknown argument '{name}'")
        elif value is not None and not isinstance(value, _JSON_TYPES.get(spec.get("type", ""), (object,))):
            problems.append(f"Argument '{name}' must be of type {spec.get('type')}")
    return problems


def _tool_output(tool: FakeTool, arguments: Mapping[str, Any]) -> dict[str, Any]:
    if tool.toolkit == "slack":
        ts = f"{time.time():.6f}"
        return {
            "ok": True,
            "channel": str(arguments.get("channel", "")).removeprefix("#"),
            "ts": ts,
            "message": {"type": "message", "text": arguments.get("text") or arguments.get("markdown_text"), "ts": ts},
        }
    if tool.toolkit == "discordbot":
        return {
            "id": str(1_000_000_000_000_000 + secrets.randbelow(10**9)),
            "channel_id": arguments.get("channel_id"),
            "content": arguments.get("content"),
        }
    if tool.toolkit == "gmail":
        return {"id": _random(16).lower(), "threadId": _random(16).lower(), "labelIds": ["SENT"]}
    return {}


def _random(length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _make_handler(fake: FakeComposio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "FakeComposio/1.0"
        protocol_version = "HTTP/1.1"  # httpx keeps connections alive; answer with Content-Length

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, payload, body = fake._handle(self.command, self.path, headers, raw)
            parts = urlsplit(self.path)
            with fake._lock:
                fake._requests.append(
                    RequestRecord(
                        method=self.command,
                        path=unquote(parts.path),
                        query=parse_qs(parts.query),
                        status=status,
                        headers=headers,
                        body=body,
                    )
                )
            data = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            request_id = headers.get("x-request-id")
            if request_id:
                self.send_header("x-request-id", request_id)
            self.end_headers()
            self.wfile.write(data)

        do_GET = _serve
        do_POST = _serve
        do_PUT = _serve
        do_PATCH = _serve
        do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean; requests are recorded in FakeComposio.requests

    return Handler


# =========================================================================== the fixture


@pytest.fixture
def fake_composio() -> Iterator[FakeComposio]:
    """A started :class:`FakeComposio` (key :data:`DEFAULT_API_KEY`, default tools), stopped after the test."""
    with FakeComposio() as fake:
        yield fake
