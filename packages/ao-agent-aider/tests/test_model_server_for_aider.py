"""The scripted model server speaks Aider's dialect: edits as text blocks, in the edit format Aider asks for.

These are the fake's answers the real-Aider tests rely on, checked over HTTP without Aider.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from ao_testing.fakes.model_server import ModelServer, Turn, finish, run_shell, tool, write_file

# The first words of Aider 0.86's system prompts (edit formats "diff" and "whole", and the commit message).
DIFF_SYSTEM = "Act as an expert software developer.\n... *SEARCH/REPLACE block* ..."
WHOLE_SYSTEM = "Act as an expert software developer.\n... *file listing* format ..."
COMMIT_SYSTEM = "You are an expert software engineer that generates concise, one-line Git commit messages"


def ask(server: ModelServer, system: str, user: str) -> str:
    body = {
        "model": "fake-model",
        "stream": False,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
    }
    request = urllib.request.Request(
        f"{server.openai_base_url}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer x"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict[str, Any] = json.loads(response.read())
    content: str = answer["choices"][0]["message"]["content"]
    return content


def test_a_write_is_a_search_replace_block_in_the_diff_format(model_server: ModelServer) -> None:
    model_server.script(Turn(text="Creating it.", tool_calls=[write_file("src/hello.txt", "hi\nthere")]))
    answer = ask(model_server, DIFF_SYSTEM, "create it")
    assert answer == "Creating it.\n\nsrc/hello.txt\n```\n<<<<<<< SEARCH\n=======\nhi\nthere\n>>>>>>> REPLACE\n```\n"
    assert model_server.turn_requests[0].turn == 0


def test_a_write_is_a_file_listing_in_the_whole_format(model_server: ModelServer) -> None:
    model_server.script(Turn(tool_calls=[write_file("a.txt", "one\n"), run_shell("make test")]))
    answer = ask(model_server, WHOLE_SYSTEM, "go")
    assert answer == "a.txt\n```\none\n```\n\n```bash\nmake test\n```\n"


def test_the_commit_message_request_consumes_no_turn(model_server: ModelServer) -> None:
    model_server.script(finish("Done."))
    assert ask(model_server, COMMIT_SYSTEM, "diff ...") == model_server.side_reply
    assert model_server.pending_turns == 1
    assert ask(model_server, WHOLE_SYSTEM, "go") == "Done.\n"


def test_a_tool_aider_cannot_express_is_refused(model_server: ModelServer) -> None:
    model_server.script(Turn(tool_calls=[tool("web_search", query="x")]))
    with pytest.raises(ConnectionError):  # the server drops the connection: the script asks for the impossible
        ask(model_server, DIFF_SYSTEM, "go")
