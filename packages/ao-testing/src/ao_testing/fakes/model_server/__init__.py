"""A scripted model server for running the real agent CLIs in tests (Claude Code, Codex, Aider, OpenCode).

::

    from ao_testing.fakes.model_server import ModelServer, Turn, Usage, finish, run_shell, write_file

    with ModelServer() as server:
        server.script(
            Turn(text="Writing it.", tool_calls=[write_file("hello.txt", "hi")], usage=Usage(120, 30)),
            Turn(tool_calls=[run_shell("git add -A && git commit -qm 'add hello'")]),
            finish("All done."),
            Turn(wait_for="CI failed", tool_calls=[run_shell("echo fixed >> hello.txt")]),
            finish("Fixed."),
        )
        ...  # run the agent with ANTHROPIC_BASE_URL=server.base_url (or server.openai_base_url)
        assert server.pending_turns == 0

The server speaks the Anthropic Messages API (``POST /v1/messages``, ``?beta=true`` too), OpenAI Chat
Completions (``POST /v1/chat/completions``) and OpenAI Responses (``POST /v1/responses``), streamed as SSE
over chunked HTTP/1.1 or as one JSON body, and records every request (:attr:`ModelServer.requests`).
Generic tool calls are mapped onto each client's own tools (see :class:`ToolCall`). Requests without tools
(title generation) get a short reply and consume no turn.

Pytest fixtures (import them into a ``conftest.py``)::

    from ao_testing.fakes.model_server.pytest_fixtures import claude_env, claude_home, model_server

Only the standard library is used.
"""

from ao_testing.fakes.model_server._claude_home import DUMMY_ANTHROPIC_API_KEY, claude_environment, seed_claude_home
from ao_testing.fakes.model_server._script import (
    ApiError,
    ToolCall,
    Turn,
    Usage,
    finish,
    read_file,
    run_shell,
    tool,
    write_file,
)
from ao_testing.fakes.model_server._server import ModelServer, RecordedRequest

__all__ = [
    "DUMMY_ANTHROPIC_API_KEY",
    "ApiError",
    "ModelServer",
    "RecordedRequest",
    "ToolCall",
    "Turn",
    "Usage",
    "claude_environment",
    "finish",
    "read_file",
    "run_shell",
    "seed_claude_home",
    "tool",
    "write_file",
]
