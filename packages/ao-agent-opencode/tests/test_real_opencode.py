"""The real OpenCode CLI through the kernel: tmux runtime, worktree workspace, this plugin, the scripted model.

Marked ``agents``: skipped without ``opencode`` (and tmux, git) on PATH, failed under ``CI=true``. Install the
pinned version with ``npm install --prefix /tmp/ao-agents --no-audit --no-fund opencode-ai@1.18.33`` and put
``/tmp/ao-agents/node_modules/.bin`` on PATH. On its first start in a fresh HOME OpenCode installs its plugin
package from the npm registry (and fails, harmlessly, to fetch its model catalogue).
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio.to_thread
import pytest
from ao_agent_opencode import OpenCodeAgent
from ao_agent_opencode._agent import METADATA_KEY
from ao_agent_opencode._data import database_path, last_message
from ao_core.models import ActivityState, Session
from ao_core.sessions import SessionManager
from ao_core.testing import init_git_repo, require_executable, run_git, wait_until
from ao_runtime_tmux import TmuxRuntime
from ao_testing.agent_fixtures import kill_tmux_server, tmux_agent_manager
from ao_testing.fakes.model_server import ModelServer, RecordedRequest, Turn, Usage, finish, run_shell, write_file
from opencode_support import OPENCODE_VERSION

pytestmark = [pytest.mark.anyio, pytest.mark.agents, pytest.mark.timeout(300)]

MODEL = "anthropic/claude-sonnet-4-5"
API_KEY = "sk-ant-opencode-test-key-4242"
PROMPT = "Write hello.txt with a greeting.\nThen commit it with git."
TITLE = "Greeting file"


@pytest.fixture
def manager(tmp_path: Path, model_server: ModelServer) -> Iterator[SessionManager]:
    require_executable("git")
    require_executable("tmux")
    require_executable("opencode")
    model_server.side_reply = TITLE
    socket = f"ao-opencode-e2e-{uuid.uuid4().hex[:10]}"
    repo = init_git_repo(tmp_path, name="app")
    agent = {
        "plugin": "opencode",
        "provider": "anthropic",
        "baseUrl": f"{model_server.base_url}/v1",
        "apiKey": API_KEY,
    }
    manager = tmux_agent_manager(
        tmp_path / "state", repo, socket, agent, {"model": MODEL, "permissions": "permissionless"}
    )
    try:
        yield manager
    finally:
        kill_tmux_server(socket)
        manager.store.close()


def test_the_installed_opencode_is_the_recorded_version() -> None:
    opencode = require_executable("opencode")
    done = subprocess.run([opencode, "--version"], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == OPENCODE_VERSION, (
        f"opencode {done.stdout.strip()} is installed but the recordings are of {OPENCODE_VERSION}: "
        "run tests/record_opencode.py and check the plugin against the new recordings"
    )


async def test_opencode_writes_commits_and_takes_follow_ups(manager: SessionManager, model_server: ModelServer) -> None:
    model_server.script(
        Turn(text="I will write the file.", tool_calls=[write_file("hello.txt", "hello from opencode\n")], delay_s=3),
        Turn(tool_calls=[run_shell("git add -A && git commit -qm 'add hello'")], usage=Usage(1500, 30)),
        finish("All done."),
        Turn(
            wait_for="CI failed",
            tool_calls=[run_shell("echo fixed > fix.txt && git add fix.txt && git commit -qm fix")],
        ),
        finish("Fixed."),
    )
    session = await manager.spawn("app", prompt=PROMPT)
    assert session.workspace_path is not None
    workspace = Path(session.workspace_path)

    await wait_until(lambda: _is(manager, session, ActivityState.ACTIVE), within=90, message="active")
    await wait_until(lambda: _committed(workspace, "hello.txt"), within=90, message="hello.txt committed")
    await wait_until(lambda: _is(manager, session, ActivityState.READY), within=60, message="ready after the turn")
    assert (workspace / "hello.txt").read_text() == "hello from opencode\n"
    assert run_git(workspace, "status", "--porcelain") == "", "OpenCode's configuration stays out of the worktree"

    # OpenCode's session id was found and recorded in ao's store.
    stored = manager.store.get_session(session.id)
    assert stored is not None
    opencode_id = stored.metadata.get(METADATA_KEY)
    assert isinstance(opencode_id, str)
    assert opencode_id.startswith("ses_")

    first = model_server.turn_requests[0]
    assert first.user_text.strip() == PROMPT.strip()
    assert first.header("x-api-key") == API_KEY
    system = json.dumps(first.body.get("system"))
    assert f"Your session: {session.id}" in system, "the system prompt file reached the model (instructions)"

    agent = manager.agent_for("app", "opencode")
    assert isinstance(agent, OpenCodeAgent)
    assert session.runtime_handle is not None
    assert await agent.is_process_running(session.runtime_handle)
    info = await agent.get_session_info(stored)
    assert info is not None
    assert (info.summary, info.agent_session_id) == (TITLE, opencode_id)
    assert info.cost is not None
    assert info.cost.input_tokens >= 1500
    assert info.cost.estimated_cost_usd > 0

    await manager.send(session.id, "CI failed on main:\n  test_fix: fix.txt missing\nPlease fix.", timeout_s=60)
    await wait_until(lambda: _committed(workspace, "fix.txt"), within=60, message="fix.txt committed")
    await wait_until(lambda: _is(manager, session, ActivityState.READY), within=60, message="ready after the fix")
    assert model_server.pending_turns == 0


async def test_a_session_killed_mid_task_resumes_the_same_opencode_session(
    manager: SessionManager, model_server: ModelServer
) -> None:
    marker = f"ao-test-{uuid.uuid4().hex[:8]}"
    model_server.script(
        Turn(text="A long command.", tool_calls=[run_shell(f"sleep 120 && echo {marker}")]),
        finish("Back in the same session.", wait_for="are you back"),
    )
    session = await manager.spawn("app", prompt="Run the long command.")
    assert session.runtime_handle is not None
    assert session.workspace_path is not None
    await wait_until(lambda: _is(manager, session, ActivityState.ACTIVE), within=90, message="active")
    await _request(model_server, lambda request: request.kind == "turn")
    await wait_until(lambda: _running(marker), within=30, message="the long command running")
    stored = manager.store.get_session(session.id)
    assert stored is not None
    opencode_id = stored.metadata.get(METADATA_KEY)
    assert isinstance(opencode_id, str)

    # The tmux session dies in the middle of the command.
    runtime = manager.runtime_for("app")
    assert isinstance(runtime, TmuxRuntime)
    await runtime.destroy(session.runtime_handle)
    await wait_until(lambda: not _running(marker), within=15, message="the command ended with its pane")
    restored = await manager.restore(session.id)
    assert restored.runtime_handle is not None
    script = Path(str(restored.runtime_handle.data["script_path"])).read_text()
    assert f"--session {opencode_id}" in script

    await wait_until(lambda: _is(manager, restored, ActivityState.READY), within=90, message="ready after restore")
    await manager.send(restored.id, "are you back?", timeout_s=60)
    answered = await _request(model_server, lambda request: request.kind == "turn" and request.turn == 1)
    assert answered.contains("Run the long command."), "the resumed conversation carries the first prompt"
    await wait_until(lambda: _is(manager, restored, ActivityState.READY), within=60, message="ready after the answer")

    database = database_path(None)
    assert database is not None
    newest = last_message(database, opencode_id)
    assert newest is not None
    assert (newest.role, newest.finish) == ("assistant", "stop")
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        (count,) = db.execute(
            "SELECT COUNT(*) FROM session WHERE directory = ? AND parent_id IS NULL",
            (os.path.realpath(session.workspace_path),),
        ).fetchone()
    assert count == 1, "restore resumed OpenCode's session instead of starting another"


async def _is(manager: SessionManager, session: Session, state: ActivityState) -> bool:
    assert session.runtime_handle is not None
    runtime = manager.runtime_for(session.project_id, session.runtime_handle.runtime_name)
    agent = manager.agent_for(session.project_id, "opencode")
    return await manager.probe_activity(session, runtime, agent, session.runtime_handle) is state


def _committed(workspace: Path, name: str) -> bool:
    return name in run_git(workspace, "log", "--name-only", "--format=")


def _running(marker: str) -> bool:
    done = subprocess.run(["pgrep", "-f", marker], capture_output=True, timeout=10, check=False)
    return done.returncode == 0


async def _request(server: ModelServer, predicate: Callable[[RecordedRequest], bool]) -> RecordedRequest:
    return await anyio.to_thread.run_sync(functools.partial(server.wait_for_request, predicate, timeout=90))
