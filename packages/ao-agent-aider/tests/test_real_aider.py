"""The real Aider CLI through the kernel: tmux runtime, worktree workspace, this plugin, the scripted model.

Marked ``agents``: skipped without ``aider`` (and tmux, git) on PATH, failed under ``CI=true``. Install the
pinned version with ``python3 -m venv /tmp/ao-aider && /tmp/ao-aider/bin/pip install aider-chat==0.86.2``
and put ``/tmp/ao-aider/bin`` on PATH.
"""

from __future__ import annotations

import functools
import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio.to_thread
import pytest
from aider_support import AIDER_VERSION
from ao_agent_aider import AiderAgent
from ao_core.models import ActivityState, Session
from ao_core.sessions import SessionManager
from ao_core.testing import init_git_repo, require_executable, run_git, wait_until
from ao_runtime_tmux import TmuxRuntime
from ao_testing.agent_fixtures import kill_tmux_server, tmux_agent_manager
from ao_testing.fakes.model_server import ModelServer, RecordedRequest, Turn, finish, write_file

pytestmark = [pytest.mark.anyio, pytest.mark.agents, pytest.mark.timeout(240)]

MODEL = "openai/fake-model"
API_KEY = "sk-aider-test-key-4242"
PROMPT = "Create hello.txt containing a greeting.\nKeep it to one line.\nThen commit it."


def _prices(path: Path) -> Path:
    # Prices for the fake model, so that Aider prints "Cost: ..." lines as it does for known models.
    model = {"input_cost_per_token": 0.000003, "output_cost_per_token": 0.000015, "max_input_tokens": 128000}
    path.write_text(json.dumps({MODEL: {**model, "max_tokens": 8192, "litellm_provider": "openai", "mode": "chat"}}))
    return path


@pytest.fixture
def manager(tmp_path: Path, model_server: ModelServer) -> Iterator[SessionManager]:
    require_executable("git")
    require_executable("tmux")
    require_executable("aider")
    socket = f"ao-aider-e2e-{uuid.uuid4().hex[:10]}"
    repo = init_git_repo(tmp_path, name="app")
    agent = {
        "plugin": "aider",
        "openaiApiBase": model_server.openai_base_url,
        "openaiApiKey": API_KEY,
        "extraArgs": ["--model-metadata-file", str(_prices(tmp_path / "prices.json"))],
    }
    manager = tmux_agent_manager(
        tmp_path / "state", repo, socket, agent, {"model": MODEL, "permissions": "permissionless"}
    )
    try:
        yield manager
    finally:
        kill_tmux_server(socket)
        manager.store.close()


async def _activity(manager: SessionManager, session: Session) -> ActivityState | None:
    assert session.runtime_handle is not None
    runtime = manager.runtime_for(session.project_id, session.runtime_handle.runtime_name)
    agent = manager.agent_for(session.project_id, "aider")
    return await manager.probe_activity(session, runtime, agent, session.runtime_handle)


def _committed(workspace: Path, name: str) -> bool:
    return name in run_git(workspace, "log", "--name-only", "--format=")


def test_the_installed_aider_is_the_recorded_version() -> None:
    aider = require_executable("aider")
    done = subprocess.run([aider, "--version"], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split()[-1] == AIDER_VERSION, (
        f"aider {done.stdout.strip()} is installed but the recorded screens are of {AIDER_VERSION}: "
        "run tests/record_aider.py and check detection against the new recordings"
    )


async def test_aider_writes_commits_and_takes_follow_ups(manager: SessionManager, model_server: ModelServer) -> None:
    model_server.script(
        Turn(text="I will create the file.", tool_calls=[write_file("hello.txt", "hello from aider\n")], delay_s=3),
        Turn(wait_for="CI failed", text="Fixing it.", tool_calls=[write_file("fix.txt", "fixed\n")]),
    )
    session = await manager.spawn("app", prompt=PROMPT)
    assert session.metadata["promptDelivered"] is True
    assert session.workspace_path is not None
    workspace = Path(session.workspace_path)

    # Active while the model answers (the delayed turn), then ready at the prompt.
    await wait_until(lambda: _is(manager, session, ActivityState.ACTIVE), within=30, message="active")
    await wait_until(lambda: _committed(workspace, "hello.txt"), within=60, message="hello.txt committed")
    await wait_until(lambda: _is(manager, session, ActivityState.READY), within=60, message="ready after the turn")
    assert (workspace / "hello.txt").read_text() == "hello from aider\n"
    assert run_git(workspace, "status", "--porcelain") == "", "Aider's files must stay out of git"

    first = model_server.turn_requests[0]
    assert all(line in first.user_text for line in PROMPT.splitlines()), "the multi-line prompt arrived as one"
    system_prompt = Path(str(session.metadata["systemPromptFile"])).read_text()
    assert f"Your session: {session.id}" in system_prompt
    assert first.contains(f"Your session: {session.id}"), "the system prompt file reached the model (--read)"
    assert first.header("authorization") == f"Bearer {API_KEY}"
    history = (workspace / ".aider.chat.history.md").read_text()
    assert API_KEY not in history

    agent = manager.agent_for("app", "aider")
    assert isinstance(agent, AiderAgent)
    assert await agent.is_process_running(session.runtime_handle)  # type: ignore[arg-type]  # set by spawn
    info = await agent.get_session_info(session)
    assert info is not None
    assert info.summary == PROMPT.splitlines()[0]
    assert info.cost is not None
    assert info.cost.input_tokens > 0
    assert info.cost.estimated_cost_usd > 0

    # A follow-up (as a CI-failure reaction sends it), multi-line, to the same interactive Aider.
    await manager.send(session.id, "CI failed on main:\n  test_hello: expected fix.txt\nPlease fix.", timeout_s=60)
    await wait_until(lambda: _committed(workspace, "fix.txt"), within=60, message="fix.txt committed")
    await wait_until(lambda: _is(manager, session, ActivityState.READY), within=60, message="ready after the fix")
    assert model_server.pending_turns == 0


async def test_a_restored_aider_starts_afresh_in_the_same_workspace(
    manager: SessionManager, model_server: ModelServer
) -> None:
    model_server.script(
        Turn(text="Thinking for a long time.", tool_calls=[write_file("slow.txt", "slow\n")], delay_s=60),
        finish("Back again.", wait_for="are you back"),
    )
    session = await manager.spawn("app", prompt="Write slow.txt")
    assert session.metadata["promptDelivered"] is True
    assert session.runtime_handle is not None
    assert session.workspace_path is not None
    workspace = Path(session.workspace_path)
    await _request(model_server, lambda request: request.kind == "turn")

    # The tmux session dies in the middle of the turn; the history ends with the unanswered message.
    runtime = manager.runtime_for("app")
    assert isinstance(runtime, TmuxRuntime)
    await runtime.destroy(session.runtime_handle)
    restored = await manager.restore(session.id)
    assert restored.runtime_handle is not None
    assert restored.runtime_handle.data["created_at"] != session.runtime_handle.data["created_at"]

    await wait_until(lambda: _is(manager, restored, ActivityState.READY), within=90, message="ready after restore")
    history = (workspace / ".aider.chat.history.md").read_text()
    assert history.count("# aider chat started at") == 2
    await manager.send(restored.id, "are you back?", timeout_s=60)
    await _request(model_server, lambda request: request.kind == "turn" and request.turn == 1)
    await wait_until(lambda: _is(manager, restored, ActivityState.READY), within=60, message="ready after the answer")
    assert "Back again." in (workspace / ".aider.chat.history.md").read_text()


async def _request(server: ModelServer, predicate: Callable[[RecordedRequest], bool]) -> RecordedRequest:
    return await anyio.to_thread.run_sync(functools.partial(server.wait_for_request, predicate, timeout=60))


async def _is(manager: SessionManager, session: Session, state: ActivityState) -> bool:
    return await _activity(manager, session) is state
