"""What a test scripts: turns of text and tool calls named generically, with their token usage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ApiError",
    "ToolCall",
    "Turn",
    "Usage",
    "finish",
    "read_file",
    "run_shell",
    "tool",
    "write_file",
]


@dataclass(frozen=True)
class Usage:
    """Token usage reported for one model response.

    Attributes:
        input_tokens: Uncached input tokens.
        output_tokens: Generated tokens.
        cache_read_tokens: Input tokens read from the prompt cache.
        cache_creation_tokens: Input tokens written to the prompt cache (Anthropic only; the OpenAI APIs have
            no such figure and leave it out).
    """

    input_tokens: int = 100
    output_tokens: int = 20
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_creation_tokens + other.cache_creation_tokens,
        )


@dataclass(frozen=True)
class ToolCall:
    """A tool call, named generically (``write_file``) or by the API's own tool name (``Edit``).

    The generic names ``write_file(path, content)``, ``read_file(path)`` and ``run_shell(command)`` are mapped
    to the tools the request offers (Claude Code ``Write``/``Read``/``Bash``, Codex ``exec_command``, OpenCode
    ``write``/``read``/``bash``), with argument names taken from the tool's input schema. Any other name is
    matched case-insensitively against the offered tools and its arguments are sent as given.

    Attributes:
        name: The generic or the API's tool name.
        arguments: The arguments.
    """

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ApiError:
    """An error response instead of a model answer.

    Attributes:
        status: The HTTP status (400 is not retried by clients; 429, 500 and 529 usually are).
        type: The error type (Anthropic ``invalid_request_error``, ``overloaded_error``, ...).
        message: The error message.
    """

    status: int = 400
    type: str = "invalid_request_error"
    message: str = "scripted error"


@dataclass(frozen=True)
class Turn:
    """One scripted model response: text and/or tool calls, with the usage it reports.

    A turn with tool calls ends with ``stop_reason: tool_use`` (the client runs the tools and asks again); a
    turn without ends the agent's turn (``end_turn``).

    Attributes:
        text: Text said before the tool calls (or the whole answer).
        tool_calls: Tool calls to make, in order.
        usage: Token usage reported for this response.
        wait_for: Serve this turn only to a request whose latest user message contains this text
            (case-insensitive); other requests meanwhile get a short reply that consumes no turn. A test
            scripts "do the task, finish; then, when a message containing 'CI failed' arrives, fix it".
        delay_s: Seconds to wait before answering (to catch the agent in the middle of a turn).
        error: Answer with this API error instead (consumes the turn).
    """

    text: str | None = None
    tool_calls: Sequence[ToolCall] = ()
    usage: Usage = field(default_factory=Usage)
    wait_for: str | None = None
    delay_s: float = 0.0
    error: ApiError | None = None

    def __post_init__(self) -> None:
        if self.text is None and not self.tool_calls and self.error is None:
            raise ValueError("a turn needs text, tool calls or an error")
        if not isinstance(self.tool_calls, tuple):
            object.__setattr__(self, "tool_calls", tuple(self.tool_calls))


def tool(name: str, **arguments: Any) -> ToolCall:
    """A call of the tool ``name`` (generic or the API's own name) with ``arguments``."""
    return ToolCall(name, arguments)


def write_file(path: str, content: str) -> ToolCall:
    """Write ``content`` to ``path`` (relative paths are resolved against the agent's working directory)."""
    return ToolCall("write_file", {"path": path, "content": content})


def read_file(path: str) -> ToolCall:
    """Read ``path`` (Claude Code's ``Write`` refuses to overwrite a file the session has not read)."""
    return ToolCall("read_file", {"path": path})


def run_shell(command: str) -> ToolCall:
    """Run ``command`` in the agent's shell tool."""
    return ToolCall("run_shell", {"command": command})


def finish(text: str = "Done.", *, usage: Usage | None = None, wait_for: str | None = None) -> Turn:
    """A turn that only says ``text`` and so ends the agent's turn."""
    return Turn(text=text, usage=usage or Usage(), wait_for=wait_for)
