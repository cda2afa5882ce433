"""The real Codex CLI through ao's kernel: SessionManager, the tmux runtime, worktrees, the scripted model.

Marked ``agents``: skipped without ``codex`` (and tmux, git), failed when ``CI=true``. Install the pinned CLI::

    npm install --prefix /tmp/ao-agents --no-audit --no-fund @openai/codex@0.171.0
    PATH=/tmp/ao-agents/node_modules/.bin:$PATH .venv/bin/pytest -c pyproject.toml --rootdir . \\
        packages/ao-agent-codex/tests/test_codex_cli.py

Every test has its own HOME, ``CODEX_HOME``, repository, state directory and tmux server (killed at
teardown), and checks at teardown that no ``codex app-server`` daemon was left behind.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from ao_agent_codex import CodexAgent, find_app_server_daemons, stop_app_server_daemons
from ao_agent_codex._agent import THREAD_ID_KEY
from ao_core.models import ActivityState, Session, SessionStatus
from ao_core.sessions import SessionManager
from ao_core.store import Store
from ao_core.testing import init_git_repo, require_executable, run_git, wait_until
from ao_testing.agent_fixtures import kill_tmux_server, tmux_agent_manager
from ao_testing.fakes.model_server import (
    ModelServer,
    RecordedRequest,
    ToolCall,
    Turn,
    Usage,
    finish,
    run_shell,
    write_file,
)
from codex_support import CODEX_VERSION

pytestmark = [pytest.mark.agents, pytest.mark.anyio, pytest.mark.timeout(150)]

KEY_VAR = "AO_TEST_CODEX_KEY"
USER_CONFIG = """\
# my own Codex settings, kept as they are
model_reasoning_effort = "high"

[projects."/home/me/elsewhere"]
trust_level = "trusted"  # trusted by hand
"""


@dataclass
class Harness:
    """ao's kernel wired to the real Codex CLI and the scripted model server."""

    manager: SessionManager
    store: Store
    server: ModelServer
    codex_home: Path
    socket: str

    def session(self, session_id: str) -> Session:
        session = self.store.get_session(session_id)
        assert session is not None
        return session

    def agent(self) -> CodexAgent:
        agent = self.manager.agent_for("app", "codex")
        assert isinstance(agent, CodexAgent)
        return agent

    async def activity(self, session_id: str) -> ActivityState | None:
        """The activity as the kernel sees it: the rollout, else the screen."""
        session = self.session(session_id)
        assert session.runtime_handle is not None
        runtime = self.manager.runtime_for("app", session.runtime_handle.runtime_name)
        return await self.manager.probe_activity(session, runtime, self.agent(), session.runtime_handle)

    async def wait_for_activity(
        self, session_id: str, wanted: ActivityState, within: float = 60
    ) -> list[ActivityState]:
        """Poll until the activity is ``wanted``; return the distinct states seen on the way, in order."""
        seen: list[ActivityState] = []
        with anyio.move_on_after(within):
            while True:
                state = await self.activity(session_id)
                if state is not None and (not seen or seen[-1] is not state):
                    seen.append(state)
                if state is wanted:
                    return seen
                await anyio.sleep(0.05)
        screen = await self.manager.get_output(session_id, 60)
        raise AssertionError(f"activity never became {wanted.value} (saw {seen}); screen:\n{screen}")

    async def wait_for_request(self, predicate: Any, start: int = 0, within: float = 60) -> RecordedRequest:
        request: RecordedRequest = await anyio.to_thread.run_sync(
            lambda: self.server.wait_for_request(predicate, timeout=within, start=start)
        )
        return request

    def rollouts(self) -> list[Path]:
        return sorted((self.codex_home / "sessions").glob("*/*/*/rollout-*.jsonl"))


@pytest.fixture
def codex_cli() -> str:
    path = require_executable("codex")
    version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    if not version.endswith(CODEX_VERSION):
        pytest.fail(
            f"these tests are recorded with Codex {CODEX_VERSION}, found {version!r}; install it with "
            f"npm install --prefix /tmp/ao-agents --no-audit --no-fund @openai/codex@{CODEX_VERSION}"
        )
    return path


@pytest.fixture
def make_harness(
    codex_cli: str, model_server: ModelServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    require_executable("tmux")
    repo = init_git_repo(tmp_path)
    codex_home = tmp_path / "codex-home"
    socket = f"ao-codex-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv(KEY_VAR, "dummy-key")  # the tmux server (and so Codex) inherits it
    stores: list[Store] = []

    def build(permissions: str = "permissionless") -> Harness:
        agent = {
            "plugin": "codex",
            "command": codex_cli,
            "codexHome": str(codex_home),
            "provider": {"id": "ao-test", "baseUrl": model_server.openai_base_url, "envKey": KEY_VAR},
        }
        manager = tmux_agent_manager(
            tmp_path / "state",
            repo,
            socket,
            agent,
            {"permissions": permissions, "model": "fake-model"},
            ready_timeout_s=60,
            readyThresholdMs=60_000,
        )
        store = manager.store
        stores.append(store)
        return Harness(manager, store, model_server, codex_home, socket)

    yield build
    kill_tmux_server(socket)
    for store in stores:
        store.close()
    leaked = stop_app_server_daemons(codex_home)
    assert leaked == [], f"codex app-server daemons outlived the test: {leaked}"
    assert not (codex_home / "packages").exists(), "Codex installed its app-server daemon package"


def last_token_count(rollout: Path) -> dict[str, int]:
    """The cumulative usage of the newest ``token_count`` in a rollout, read without the plugin's parser."""
    totals: dict[str, int] = {}
    for line in rollout.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        payload = entry.get("payload") or {}
        if entry.get("type") == "event_msg" and payload.get("type") == "token_count" and payload.get("info"):
            totals = payload["info"]["total_token_usage"]
    return totals


async def test_agent_writes_and_commits_then_turns_ready_with_tokens_and_cost(make_harness: Any) -> None:
    h: Harness = make_harness()
    usages = [Usage(1200, 80, 300), Usage(1500, 40, 900), Usage(1700, 12, 1100)]
    commit = "git add hello.txt && git commit -qm 'Add hello.txt'"
    h.server.script(
        Turn(text="Writing hello.txt.", tool_calls=[write_file("hello.txt", "hello from codex\n")], usage=usages[0]),
        # The model takes 2 s to answer here: the agent is mid-task, and ao must see it active.
        Turn(text="Committing.", tool_calls=[run_shell(commit)], usage=usages[1], delay_s=2),
        finish("All done.", usage=usages[2]),
    )
    session = await h.manager.spawn("app", prompt="Create hello.txt and commit it")
    assert session.workspace_path is not None
    workspace = Path(session.workspace_path)

    seen = await h.wait_for_activity(session.id, ActivityState.READY)
    assert ActivityState.ACTIVE in seen, seen
    assert h.server.pending_turns == 0

    # The work: the file is written and committed on the session's branch, in its worktree.
    assert (workspace / "hello.txt").read_text() == "hello from codex\n"
    assert run_git(workspace, "log", "-1", "--format=%s") == "Add hello.txt"
    assert run_git(workspace, "rev-parse", "--abbrev-ref", "HEAD") == session.branch
    assert run_git(workspace, "status", "--porcelain") == ""

    # The rollout itself says ready (not only the screen), and the thread id was recorded in the store.
    stored = h.session(session.id)
    (rollout,) = h.rollouts()
    thread_id = json.loads(rollout.read_text().splitlines()[0])["payload"]["id"]
    assert stored.metadata[THREAD_ID_KEY] == thread_id
    detection = await h.agent().get_activity_state(stored, 60_000)
    assert detection is not None
    assert detection.state is ActivityState.READY
    assert detection.evidence is not None
    assert "turn complete" in detection.evidence

    # Tokens and cost: what the rollout's usage implies, and what the script declared per turn.
    info = await h.agent().get_session_info(stored)
    assert info is not None
    assert info.agent_session_id == thread_id
    assert info.cost is not None
    rollout_usage = last_token_count(rollout)
    declared = h.server.served_usage()
    assert declared == usages[0] + usages[1] + usages[2]
    assert info.cost.input_tokens == rollout_usage["input_tokens"] - rollout_usage["cached_input_tokens"]
    assert info.cost.input_tokens == declared.input_tokens
    assert info.cost.cache_read_tokens == rollout_usage["cached_input_tokens"] == declared.cache_read_tokens
    assert info.cost.output_tokens == rollout_usage["output_tokens"] == declared.output_tokens
    expected_usd = (
        declared.input_tokens * 2.5 + declared.cache_read_tokens * 0.625 + declared.output_tokens * 10
    ) / 1e6
    assert info.cost.estimated_cost_usd == pytest.approx(expected_usd)


async def test_a_session_killed_mid_task_resumes_the_same_conversation(make_harness: Any) -> None:
    h: Harness = make_harness()
    h.server.script(
        Turn(text="Step one done.", tool_calls=[run_shell("echo one > one.txt")], usage=Usage(500, 10)),
        Turn(text="Now step two.", tool_calls=[run_shell("echo two > two.txt")], delay_s=120),
    )
    session = await h.manager.spawn("app", prompt="Do the two steps")
    assert session.runtime_handle is not None
    await h.wait_for_request(lambda r: r.turn == 1)  # the agent now waits for the model, mid-task
    assert await h.activity(session.id) is ActivityState.ACTIVE
    thread_id = h.session(session.id).metadata[THREAD_ID_KEY]

    # A crash: the tmux session disappears behind ao's back.
    kill = ["tmux", "-L", h.socket, "kill-session", "-t", f"={session.runtime_handle.id}"]
    await anyio.run_process(kill)
    assert (await h.manager.get(session.id)).status is SessionStatus.KILLED

    before = len(h.server.requests)
    h.server.script(finish("Resumed: both steps done.", usage=Usage(900, 15, 400), wait_for="continue"))
    restored = await h.manager.restore(session.id)
    assert restored.runtime_handle is not None
    launch_script = Path(restored.runtime_handle.data["script_path"]).read_text()
    assert " resume " in launch_script
    assert thread_id in launch_script

    await h.manager.send(session.id, "continue with step two", timeout_s=60)
    request = await h.wait_for_request(lambda r: r.kind == "turn", start=before)
    # The next request carries the earlier conversation: the first prompt and the model's first answer.
    assert request.contains("Do the two steps")
    assert request.contains("Step one done.")
    assert request.user_text == "continue with step two"
    await h.wait_for_activity(session.id, ActivityState.READY)
    (rollout,) = h.rollouts()  # one thread, continued in its own file
    assert json.loads(rollout.read_text().splitlines()[0])["payload"]["id"] == thread_id
    assert h.session(session.id).metadata[THREAD_ID_KEY] == thread_id


async def test_a_fresh_codex_home_needs_no_keystroke(make_harness: Any) -> None:
    h: Harness = make_harness()
    h.codex_home.mkdir()
    (h.codex_home / "config.toml").write_text(USER_CONFIG)
    h.server.script(finish("Hello from Codex."))
    session = await h.manager.spawn("app", prompt="Say hello")
    assert session.workspace_path is not None

    request = await h.wait_for_request(lambda r: r.kind == "turn")
    assert request.user_text == "Say hello"
    await h.wait_for_activity(session.id, ActivityState.READY)
    assert "Trust this folder" not in await h.manager.get_output(session.id, 200)

    text = (h.codex_home / "config.toml").read_text()
    assert text.startswith(USER_CONFIG)
    projects = tomllib.loads(text)["projects"]
    assert projects[session.workspace_path] == {"trust_level": "trusted"}
    assert projects["/home/me/elsewhere"] == {"trust_level": "trusted"}


async def test_an_approval_prompt_is_waiting_input(make_harness: Any) -> None:
    h: Harness = make_harness(permissions="suggest")
    escalated = ToolCall(
        "run_shell",
        {"command": "echo hi > notes.txt", "sandbox_permissions": "require_escalated", "justification": "Write notes?"},
    )
    h.server.script(Turn(text="I need to write notes.txt.", tool_calls=[escalated]), finish("Wrote it."))
    session = await h.manager.spawn("app", prompt="Write notes.txt")
    assert session.workspace_path is not None
    assert session.runtime_handle is not None

    await h.wait_for_activity(session.id, ActivityState.WAITING_INPUT)
    # The rollout cannot tell a waiting tool call from a running one; the screen decided.
    assert await h.agent().get_activity_state(h.session(session.id), 60_000) is None
    assert not (Path(session.workspace_path) / "notes.txt").exists()

    approve = ["tmux", "-L", h.socket, "send-keys", "-t", f"={session.runtime_handle.id}:", "Enter"]
    await anyio.run_process(approve)
    await h.wait_for_activity(session.id, ActivityState.READY)
    assert (Path(session.workspace_path) / "notes.txt").read_text() == "hi\n"


@pytest.mark.timeout(120)
async def test_the_daemon_a_plain_codex_leaves_behind_is_found_and_stopped(
    codex_cli: str, model_server: ModelServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Why ao launches with --no-daemon: a plain `codex` TUI of this version starts a shared app-server daemon
    # that survives the TUI and its tmux session. The plugin's cleanup helper must find and end it.
    require_executable("tmux")
    workspace = init_git_repo(tmp_path)
    codex_home = tmp_path / "plain-codex-home"
    codex_home.mkdir()
    (codex_home / "config.toml").write_text(
        f'model = "fake-model"\nmodel_provider = "ao-test"\n\n'
        f'[model_providers.ao-test]\nname = "ao-test"\nbase_url = "{model_server.openai_base_url}"\n'
        f'env_key = "{KEY_VAR}"\nwire_api = "responses"\n\n[projects."{workspace}"]\ntrust_level = "trusted"\n'
    )
    monkeypatch.setenv(KEY_VAR, "dummy-key")
    monkeypatch.setenv("CODEX_HOME", str(codex_home))
    model_server.script(finish("Hi."))
    socket = f"ao-codex-{uuid.uuid4().hex[:10]}"
    tmux = ["tmux", "-L", socket]
    try:
        command = f"{codex_cli} --dangerously-bypass-approvals-and-sandbox -- 'Say hi'"
        await anyio.run_process([*tmux, "new-session", "-d", "-s", "plain", "-c", str(workspace), command])
        await anyio.to_thread.run_sync(lambda: model_server.wait_for_request(lambda r: r.kind == "turn", timeout=60))
        await wait_until(lambda: len(find_app_server_daemons(codex_home)) >= 2, within=60, interval=0.2)
    finally:
        await anyio.run_process([*tmux, "kill-server"], check=False)
    try:
        daemons = find_app_server_daemons(codex_home)  # still there after their TUI and tmux server are gone
        assert {"app-server"} <= {word for entry in daemons for word in entry.argv}, daemons
        assert set(stop_app_server_daemons(codex_home)) >= {entry.pid for entry in daemons}
        assert find_app_server_daemons(codex_home) == []
    finally:
        stop_app_server_daemons(codex_home)
        shutil.rmtree(codex_home / "packages", ignore_errors=True)  # the 300 MB copy of the binary
