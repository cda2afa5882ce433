"""The scripted model server over real HTTP: the three wire formats, tool mapping, turn selection, the log."""

from __future__ import annotations

import gzip
import http.client
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ao_testing.fakes.model_server import (
    DUMMY_ANTHROPIC_API_KEY,
    ApiError,
    ModelServer,
    Turn,
    Usage,
    claude_environment,
    finish,
    read_file,
    run_shell,
    seed_claude_home,
    tool,
    write_file,
)
from ao_testing.fakes.model_server._wire import last_user_text

CLAUDE_TOOLS = [
    {"name": "Bash", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}},
    {
        "name": "Write",
        "input_schema": {"properties": {"file_path": {"type": "string"}, "content": {"type": "string"}}},
    },
    {"name": "Read", "input_schema": {"properties": {"file_path": {"type": "string"}}}},
    {"type": "web_search_20250305", "name": "web_search"},
]
CLAUDE_SYSTEM = [
    {"type": "text", "text": "# Environment\n - Primary working directory: /work/app-1\n - Platform: linux"}
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ModelServer]:
    with ModelServer(log_path=tmp_path / "log.jsonl") as running:
        yield running


def post(
    server: ModelServer, path: str, body: dict[str, Any] | bytes, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    host, port = server.base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    connection.request("POST", path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
    response = connection.getresponse()
    payload = response.read()  # http.client undoes the chunked transfer encoding
    connection.close()
    return response.status, {key.lower(): value for key, value in response.getheaders()}, payload


def sse(payload: bytes) -> list[tuple[str | None, Any]]:
    events: list[tuple[str | None, Any]] = []
    for block in payload.decode().split("\n\n"):
        name = None
        data = None
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
        if data is not None:
            events.append((name, data if data == "[DONE]" else json.loads(data)))
    return events


def claude_request(text: str = "please do it", **extra: Any) -> dict[str, Any]:
    messages = [{"role": "user", "content": text}, {"role": "system", "content": "agent listing"}]
    return {"model": "claude-x", "system": CLAUDE_SYSTEM, "tools": CLAUDE_TOOLS, "messages": messages, **extra}


def rebuild_anthropic(events: list[tuple[str | None, Any]]) -> dict[str, Any]:
    """What a client assembles from the stream (the way the Anthropic SDK accumulates it)."""
    message: dict[str, Any] = {}
    partial: dict[int, str] = {}
    for name, data in events:
        assert name == data["type"]
        if name == "message_start":
            message = data["message"]
        elif name == "content_block_start":
            message["content"].append(data["content_block"])
        elif name == "content_block_delta":
            block = message["content"][data["index"]]
            if data["delta"]["type"] == "text_delta":
                block["text"] += data["delta"]["text"]
            else:
                partial[data["index"]] = partial.get(data["index"], "") + data["delta"]["partial_json"]
        elif name == "content_block_stop" and data["index"] in partial:
            message["content"][data["index"]]["input"] = json.loads(partial[data["index"]])
        elif name == "message_delta":
            message.update(data["delta"])
            message["usage"] = {**message["usage"], **data["usage"]}
    return message


# --------------------------------------------------------------------------- Anthropic Messages


def test_anthropic_stream_with_text_and_a_mapped_tool_call(server: ModelServer) -> None:
    server.script(
        Turn(
            text="Writing the file now.", tool_calls=[write_file("src/a.py", "print('hi')\n")], usage=Usage(9, 7, 5, 3)
        )
    )
    status, headers, payload = post(server, "/v1/messages?beta=true", claude_request(stream=True))
    assert status == 200
    assert headers["content-type"].startswith("text/event-stream")
    assert headers["transfer-encoding"] == "chunked"
    assert headers["request-id"].startswith("req_")
    events = sse(payload)
    assert [name for name, _ in events][:2] == ["message_start", "ping"]
    assert [name for name, _ in events][-2:] == ["message_delta", "message_stop"]
    message = rebuild_anthropic(events)
    assert message["model"] == "claude-x"
    assert message["stop_reason"] == "tool_use"
    text, call = message["content"]
    assert text == {"type": "text", "text": "Writing the file now."}
    assert call["type"] == "tool_use"
    assert call["id"].startswith("toolu_")
    assert (call["name"], call["input"]) == ("Write", {"file_path": "/work/app-1/src/a.py", "content": "print('hi')\n"})
    assert message["usage"] == {
        "input_tokens": 9,
        "output_tokens": 7,
        "cache_read_input_tokens": 5,
        "cache_creation_input_tokens": 3,
    }
    (request,) = server.requests
    assert (request.path, request.query, request.api, request.kind, request.turn) == (
        "/v1/messages",
        "beta=true",
        "anthropic",
        "turn",
        0,
    )
    assert request.stream
    assert request.tool_names == ["Bash", "Write", "Read", "web_search"]


def test_anthropic_json_answer_ends_the_turn(server: ModelServer) -> None:
    server.script(finish("All done.", usage=Usage(3, 2)))
    status, headers, payload = post(server, "/v1/messages", claude_request())
    assert status == 200
    assert headers["content-type"] == "application/json"
    body = json.loads(payload)
    assert body["type"] == "message"
    assert body["content"] == [{"type": "text", "text": "All done."}]
    assert body["stop_reason"] == "end_turn"
    assert body["usage"]["input_tokens"] == 3


def test_run_shell_and_read_file_and_a_raw_tool(server: ModelServer) -> None:
    server.script(Turn(tool_calls=[run_shell("git status"), read_file("README.md"), tool("web_search", query="x")]))
    _, _, payload = post(server, "/v1/messages", claude_request())
    calls = [(block["name"], block["input"]) for block in json.loads(payload)["content"]]
    assert calls == [
        ("Bash", {"command": "git status"}),
        ("Read", {"file_path": "/work/app-1/README.md"}),
        ("web_search", {"query": "x"}),
    ]


def test_requests_without_tools_are_side_requests_and_consume_no_turn(server: ModelServer) -> None:
    server.script(finish("the turn"))
    title_request = {
        "model": "claude-haiku",
        "messages": [{"role": "user", "content": "title this"}],
        "output_config": {"format": {"type": "json_schema", "schema": {"properties": {"title": {"type": "string"}}}}},
    }
    _, _, payload = post(server, "/v1/messages", title_request)
    assert json.loads(json.loads(payload)["content"][0]["text"]) == {"title": "Scripted session"}
    _, _, payload = post(server, "/v1/messages", {"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    assert json.loads(payload)["content"][0]["text"] == "Scripted session"
    assert server.pending_turns == 1
    _, _, payload = post(server, "/v1/messages", claude_request())
    assert json.loads(payload)["content"][0]["text"] == "the turn"
    assert [request.kind for request in server.requests] == ["side", "side", "turn"]


def test_a_turn_waits_for_the_user_message_it_names(server: ModelServer) -> None:
    server.script(finish("first"), Turn(wait_for="CI failed", tool_calls=[run_shell("make fix")]), finish("fixed"))
    assert json.loads(post(server, "/v1/messages", claude_request("do the task"))[2])["content"][0]["text"] == "first"
    idle = json.loads(post(server, "/v1/messages", claude_request("thanks!"))[2])
    assert (idle["content"][0]["text"], idle["stop_reason"]) == ("Nothing more to do.", "end_turn")
    answer = json.loads(post(server, "/v1/messages", claude_request("ci FAILED: test_x broke"))[2])
    assert answer["content"][0]["input"] == {"command": "make fix"}
    tool_result = claude_request()
    tool_result["messages"] = [
        {"role": "user", "content": "ci failed"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "Bash", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "ok"}]},
    ]
    assert json.loads(post(server, "/v1/messages", tool_result)[2])["content"][0]["text"] == "fixed"
    assert [request.kind for request in server.requests] == ["turn", "idle", "turn", "turn"]
    assert server.served_usage() == Usage(300, 60)


def test_an_error_turn(server: ModelServer) -> None:
    server.script(Turn(error=ApiError(529, "overloaded_error", "busy")))
    status, _, payload = post(server, "/v1/messages", claude_request(stream=True))
    assert status == 529
    assert json.loads(payload) == {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
    assert server.served_turns == 1
    assert server.served_usage() == Usage(0, 0)  # an error reports no usage


def test_count_tokens_models_and_unknown_routes(server: ModelServer) -> None:
    status, _, payload = post(server, "/v1/messages/count_tokens", claude_request())
    assert status == 200
    assert json.loads(payload)["input_tokens"] > 0
    assert post(server, "/v2/nothing", {})[0] == 404
    host, port = server.base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("GET", "/v1/models")
    assert json.loads(connection.getresponse().read())["data"][0]["id"] == "fake-model"
    connection.close()


def test_gzip_bodies_and_keep_alive(server: ModelServer) -> None:
    server.script(finish("one"), finish("two"))
    host, port = server.base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    for expected in ("one", "two"):  # the same connection twice
        connection.request(
            "POST",
            "/v1/messages",
            body=gzip.compress(json.dumps(claude_request()).encode()),
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
        assert json.loads(connection.getresponse().read())["content"][0]["text"] == expected
    connection.close()


def test_the_log_has_every_request_with_keys_redacted(server: ModelServer, tmp_path: Path) -> None:
    server.script(finish())
    post(server, "/v1/messages", claude_request(), {"x-api-key": DUMMY_ANTHROPIC_API_KEY, "anthropic-version": "1"})
    (line,) = (tmp_path / "log.jsonl").read_text().splitlines()
    logged = json.loads(line)
    assert (logged["method"], logged["path"], logged["kind"], logged["turn"]) == ("POST", "/v1/messages", "turn", 0)
    assert logged["body"]["model"] == "claude-x"
    headers = {key.lower(): value for key, value in logged["headers"]}
    assert headers["x-api-key"] == "<redacted>"
    assert headers["anthropic-version"] == "1"
    assert DUMMY_ANTHROPIC_API_KEY not in (tmp_path / "log.jsonl").read_text()
    assert server.requests[0].header("X-Api-Key") == DUMMY_ANTHROPIC_API_KEY  # in memory, for assertions


def test_wait_for_request(server: ModelServer) -> None:
    server.script(finish())
    post(server, "/v1/messages", claude_request("find me"))
    found = server.wait_for_request(lambda request: request.contains("find me"), timeout=1)
    assert found.user_text == "find me"
    with pytest.raises(TimeoutError):
        server.wait_for_request(lambda request: request.contains("never"), timeout=0.1)


def test_delay(server: ModelServer) -> None:
    server.script(Turn(text="slow", delay_s=0.3))
    started = time.monotonic()
    post(server, "/v1/messages", claude_request())
    assert time.monotonic() - started >= 0.3


# --------------------------------------------------------------------------- OpenAI Chat Completions


def chat_request(**extra: Any) -> dict[str, Any]:
    tools = [
        {"type": "function", "function": {"name": "bash", "parameters": {"properties": {"command": {}}}}},
        {
            "type": "function",
            "function": {"name": "write", "parameters": {"properties": {"filePath": {}, "content": {}}}},
        },
    ]
    messages = [{"role": "system", "content": "Working directory: /srv/w"}, {"role": "user", "content": "go"}]
    return {"model": "gpt-x", "messages": messages, "tools": tools, **extra}


def test_chat_completions_stream(server: ModelServer) -> None:
    server.script(Turn(text="Sure.", tool_calls=[write_file("a.txt", "A")], usage=Usage(10, 4, 6)))
    status, _, payload = post(
        server, "/v1/chat/completions", chat_request(stream=True, stream_options={"include_usage": True})
    )
    assert status == 200
    events = sse(payload)
    assert events[-1] == (None, "[DONE]")
    chunks = [data for _, data in events[:-1]]
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    text = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks if chunk["choices"])
    assert text == "Sure."
    arguments = "".join(
        call["function"].get("arguments", "")
        for chunk in chunks
        if chunk["choices"]
        for call in chunk["choices"][0]["delta"].get("tool_calls", [])
    )
    assert json.loads(arguments) == {"filePath": "/srv/w/a.txt", "content": "A"}
    finishes = [chunk["choices"][0]["finish_reason"] for chunk in chunks if chunk["choices"]]
    assert finishes[-1] == "tool_calls"
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 16,
        "completion_tokens": 4,
        "total_tokens": 20,
        "prompt_tokens_details": {"cached_tokens": 6},
    }


def test_chat_completions_json(server: ModelServer) -> None:
    server.script(finish("plain answer"))
    body = json.loads(post(server, "/v1/chat/completions", chat_request())[2])
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "plain answer"}
    assert body["choices"][0]["finish_reason"] == "stop"


# --------------------------------------------------------------------------- OpenAI Responses


def responses_request(**extra: Any) -> dict[str, Any]:
    tools = [{"type": "function", "name": "exec_command", "parameters": {"properties": {"cmd": {}, "workdir": {}}}}]
    env = "<environment_context><cwd>/home/u/w</cwd><shell>bash</shell></environment_context>"
    items = [
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "rules"}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": env}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "write hello"}]},
    ]
    return {"model": "gpt-5", "input": items, "tools": tools, **extra}


def test_responses_stream_maps_write_file_onto_the_shell_tool(server: ModelServer) -> None:
    server.script(Turn(text="On it.", tool_calls=[write_file("hello.txt", "it's here\n")], usage=Usage(20, 5, 8)))
    status, _, payload = post(server, "/v1/responses", responses_request(stream=True))
    assert status == 200
    events = sse(payload)
    names = [name for name, _ in events]
    assert names[0] == "response.created"
    assert names[-1] == "response.completed"
    assert "response.output_text.delta" in names
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))
    done = [data["item"] for name, data in events if name == "response.output_item.done"]
    assert [item["type"] for item in done] == ["message", "function_call"]
    assert done[0]["content"][0]["text"] == "On it."
    call = done[1]
    assert call["name"] == "exec_command"
    command = json.loads(call["arguments"])["cmd"]
    assert "/home/u/w/hello.txt" in command
    completed = events[-1][1]["response"]
    assert completed["status"] == "completed"
    assert completed["usage"]["input_tokens"] == 28
    assert completed["usage"]["input_tokens_details"] == {"cached_tokens": 8}
    assert completed["usage"]["output_tokens"] == 5


def test_responses_written_file_content_survives_the_shell(server: ModelServer, tmp_path: Path) -> None:
    server.script(Turn(tool_calls=[write_file(str(tmp_path / "q.txt"), "a 'quoted' $HOME `x`\n")]))
    body = json.loads(post(server, "/v1/responses", responses_request())[2])
    command = json.loads(body["output"][0]["arguments"])["cmd"]
    subprocess.run(["bash", "-c", command], check=True, timeout=10)
    assert (tmp_path / "q.txt").read_text() == "a 'quoted' $HOME `x`\n"


def test_responses_wait_for_and_function_call_output(server: ModelServer) -> None:
    server.script(Turn(wait_for="again", text="Again it is."))
    idle = json.loads(post(server, "/v1/responses", responses_request())[2])
    assert idle["output"][0]["content"][0]["text"] == "Nothing more to do."
    request = responses_request()
    request["input"].append({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "again"}]})
    assert json.loads(post(server, "/v1/responses", request)[2])["output"][0]["content"][0]["text"] == "Again it is."
    assert server.requests[-1].user_text == "again"
    request["input"].append({"type": "function_call_output", "call_id": "c", "output": "again"})
    assert last_user_text("responses", request) == ""  # a tool result is not a user message


# --------------------------------------------------------------------------- Claude Code HOME


def test_seeded_claude_home(tmp_path: Path) -> None:
    home = seed_claude_home(tmp_path / "h", trusted=[tmp_path / "w"])
    state = json.loads((home / ".claude.json").read_text())
    assert state["hasCompletedOnboarding"] is True
    assert state["customApiKeyResponses"]["approved"] == [DUMMY_ANTHROPIC_API_KEY[-20:]]
    assert state["projects"] == {str((tmp_path / "w").resolve()): {"hasTrustDialogAccepted": True}}
    assert json.loads((home / ".claude" / "settings.json").read_text()) == {"skipDangerousModePermissionPrompt": True}
    bare = seed_claude_home(tmp_path / "b", approve_api_key=False, skip_bypass_warning=False)
    assert json.loads((bare / ".claude.json").read_text()) == {"hasCompletedOnboarding": True}


def test_claude_environment(tmp_path: Path) -> None:
    env = claude_environment(tmp_path, "http://127.0.0.1:9")
    assert env["HOME"] == str(tmp_path)
    assert env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:9"
    assert env["ANTHROPIC_API_KEY"] == DUMMY_ANTHROPIC_API_KEY
    assert env["DISABLE_AUTOUPDATER"] == env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1"
    assert ("IS_SANDBOX" in env) == (os.geteuid() == 0)


def test_a_turn_needs_something_to_say() -> None:
    with pytest.raises(ValueError, match="needs text"):
        Turn()
