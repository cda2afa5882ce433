"""The real Claude Code CLI, through the kernel: SessionManager + tmux runtime + worktree workspace + this agent.

The CLI talks to the scripted model server of ao-testing; each test has its own HOME (Claude Code onboarded
and the test API key approved, no folder ever trusted), its own tmux server and its own repository. Marked
``agents``: skipped without ``claude`` on PATH, failed under ``CI=true``. Install the tested version with::

    npm install --prefix /tmp/ao-agents --no-audit --no-fund @anthropic-ai/claude-code@2.1.197
    export PATH=/tmp/ao-agents/node_modules/.bin:$PATH
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import anyio
import pytest
from ao_agent_claude_code._agent import ClaudeCodeAgent
from ao_agent_claude_code._paths import encode_project_path, transcript_path
from ao_core.models import ActivityState, PermissionMode, Session
from ao_core.procs import ProcessEntry, descendants, read_proc
from ao_core.sessions import SessionManager
from ao_core.store import Store
from ao_core.testing import init_git_repo, require_executable, run_git, wait_until
from ao_testing.agent_fixtures import kill_tmux_server, tmux_agent_manager
from ao_testing.fakes.model_server import ModelServer, Turn, Usage, finish, run_shell, write_file
from claude_support import CLAUDE_CODE_VERSION, DATA

pytestmark = [pytest.mark.anyio, pytest.mark.agents, pytest.mark.integration, pytest.mark.timeout(180)]

MODEL = "claude-sonnet-4-5"


@dataclass
class Rig:
    """A SessionManager wired to real tmux, real worktrees, this agent, and the scripted model."""

    manager: SessionManager
    server: ModelServer
    repo: Path
    home: Path
    socket: str

    @property
    def agent(self) -> ClaudeCodeAgent:
        agent = self.manager.agent_for("app", "claude-code")
        assert isinstance(agent, ClaudeCodeAgent)
        return agent

    def session(self, session_id: str = "app-1") -> Session:
        found = self.manager.store.get_session(session_id)
        assert found is not None
        return found

    async def probe(self, session_id: str = "app-1") -> ActivityState | None:
        session = self.session(session_id)
        assert session.runtime_handle is not None
        runtime = self.manager.runtime_for("app", session.runtime_handle.runtime_name)
        return await self.manager.probe_activity(session, runtime, self.agent, session.runtime_handle)

    async def screen(self, session_id: str = "app-1") -> str:
        return await self.manager.get_output(session_id, 40)

    def tmux(self, *args: str) -> str:
        env = {key: value for key, value in os.environ.items() if key not in ("TMUX", "TMUX_PANE")}
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, env=env, timeout=10)
        return done.stdout


class RigFactory(Protocol):
    def __call__(self, permissions: PermissionMode = PermissionMode.PERMISSIONLESS) -> Rig: ...


def _session_members(leaders: set[int], named: str | None = None) -> list[int]:
    """Live processes in the terminal sessions led by ``leaders`` (optionally only those called ``named``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.find("(") + 1 : stat.rfind(")")]
        fields = stat[stat.rfind(")") + 2 :].split()
        if fields and fields[0] != "Z" and int(fields[3]) in leaders and named in (None, name):
            found.append(int(entry.name))
    return found


def _below(root: int) -> list[ProcessEntry]:
    """Every live process below ``root`` (by parent pid), whatever session it moved to."""
    return [entry for entry in descendants(read_proc(), root) if entry.pid != root]


def _kill_tmux_server(socket: str) -> None:
    """Kill the test's tmux server and whatever its panes started (tools Claude ran, such as sleep)."""
    env = {key: value for key, value in os.environ.items() if key not in ("TMUX", "TMUX_PANE")}
    panes = subprocess.run(
        ["tmux", "-L", socket, "list-panes", "-a", "-F", "#{pane_pid}"], capture_output=True, text=True, env=env
    )
    leaders = {int(word) for word in panes.stdout.split() if word.isdigit()}
    below = [entry.pid for leader in leaders for entry in _below(leader)]
    kill_tmux_server(socket)
    for pid in [*_session_members(leaders), *below]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def make_rig(
    tmp_path: Path, claude_env: dict[str, str], claude_home: Path, model_server: ModelServer
) -> Iterator[RigFactory]:
    require_executable("claude")
    require_executable("tmux")
    repo = init_git_repo(tmp_path)
    sockets: list[str] = []
    stores: list[Store] = []

    def make(permissions: PermissionMode = PermissionMode.PERMISSIONLESS) -> Rig:
        socket = f"ao-cc-{uuid.uuid4().hex[:10]}"
        sockets.append(socket)
        manager = tmux_agent_manager(
            tmp_path / "state",
            repo,
            socket,
            {"plugin": "claude-code"},
            {"permissions": permissions.value, "model": MODEL},
            ready_timeout_s=60,
        )
        stores.append(manager.store)
        return Rig(manager, model_server, repo, claude_home, socket)

    yield make
    for socket in sockets:
        _kill_tmux_server(socket)
    for store in stores:
        store.close()


async def _states_until_ready(rig: Rig, within: float = 60) -> list[ActivityState | None]:
    """Every activity the kernel reads (agent signal, else screen), polled until the agent is ready."""
    seen: list[ActivityState | None] = []
    with anyio.fail_after(within):
        while True:
            state = await rig.probe()
            if not seen or seen[-1] != state:
                seen.append(state)
            if state is ActivityState.READY and rig.server.pending_turns == 0:
                return seen
            await anyio.sleep(0.05)


def _transcript_usage(path: Path) -> dict[str, int]:
    """Token totals straight from a transcript: one count per assistant message id."""
    messages: dict[str, dict[str, Any]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if entry.get("type") == "assistant" and isinstance(entry["message"].get("usage"), dict):
            messages[entry["message"]["id"]] = entry["message"]["usage"]
    return {
        key: sum(usage.get(field, 0) for usage in messages.values())
        for key, field in (
            ("input", "input_tokens"),
            ("output", "output_tokens"),
            ("cache_read", "cache_read_input_tokens"),
            ("cache_creation", "cache_creation_input_tokens"),
        )
    }


# --------------------------------------------------------------------------- the installed version


def test_recorded_data_exists_for_the_installed_version() -> None:
    claude = require_executable("claude")
    version = subprocess.run([claude, "--version"], capture_output=True, text=True, check=True, timeout=30)
    installed = version.stdout.split()[0]
    assert installed == CLAUDE_CODE_VERSION, (
        f"Claude Code {installed} is installed but the tests are recorded for {CLAUDE_CODE_VERSION}: run "
        "tests/record_claude_code.py, review the table tests, and update CLAUDE_CODE_VERSION"
    )
    assert DATA.is_dir()


# --------------------------------------------------------------------------- (1) write, commit, activity, cost


async def test_agent_writes_and_commits_and_reports_cost(make_rig: RigFactory) -> None:
    rig = make_rig()
    turns = [
        Turn(
            text="I will add hello.txt.",
            tool_calls=[write_file("hello.txt", "hello from claude\n")],
            usage=Usage(1500, 80, 200, 300),
            delay_s=1.5,  # the model "thinks": the kernel must see the agent active
        ),
        Turn(tool_calls=[run_shell("git add -A && git commit -qm 'Add hello.txt'")], usage=Usage(1600, 40, 1700, 0)),
        finish("Committed hello.txt.", usage=Usage(1700, 15, 1800, 0)),
    ]
    rig.server.script(*turns)
    session = await rig.manager.spawn("app", prompt="Create hello.txt saying hello, then commit it.")
    assert session.metadata["promptDelivered"] is True
    states = await _states_until_ready(rig)
    assert ActivityState.ACTIVE in states
    assert states[-1] is ActivityState.READY

    workspace = Path(str(session.workspace_path))
    assert (workspace / "hello.txt").read_text() == "hello from claude\n"
    assert run_git(workspace, "log", "-1", "--format=%s") == "Add hello.txt"
    assert run_git(workspace, "show", "--name-only", "--format=", "HEAD").split() == ["hello.txt"]
    assert run_git(workspace, "status", "--porcelain") == ""  # .claude/settings.json stays out of git

    agent_session_id = str(session.metadata["agentSessionId"])
    transcript = transcript_path(str(workspace), agent_session_id)
    info = await rig.agent.get_session_info(rig.session())
    assert info is not None
    assert info.agent_session_id == agent_session_id
    assert info.cost is not None
    from_transcript = _transcript_usage(transcript)
    declared = rig.server.served_usage()
    assert (info.cost.input_tokens, info.cost.output_tokens) == (from_transcript["input"], from_transcript["output"])
    assert (info.cost.cache_read_tokens, info.cost.cache_creation_tokens) == (
        from_transcript["cache_read"],
        from_transcript["cache_creation"],
    )
    assert (info.cost.input_tokens, info.cost.output_tokens) == (declared.input_tokens, declared.output_tokens)
    assert (info.cost.cache_read_tokens, info.cost.cache_creation_tokens) == (
        declared.cache_read_tokens,
        declared.cache_creation_tokens,
    )
    sonnet = (
        declared.input_tokens * 3.0
        + declared.output_tokens * 15.0
        + declared.cache_read_tokens * 0.30
        + declared.cache_creation_tokens * 3.75
    ) / 1_000_000
    assert info.cost.estimated_cost_usd == pytest.approx(sonnet)
    assert info.summary is not None

    detection = await rig.agent.get_activity_state(rig.session(), 300_000)
    assert detection is not None
    assert detection.state is ActivityState.READY
    requests = rig.server.turn_requests
    assert [request.body["model"] for request in requests] == [MODEL] * 3
    assert all(request.header("x-api-key") for request in requests)


# --------------------------------------------------------------------------- (2) permission prompt


async def test_permission_prompt_is_waiting_input_from_hook_and_screen(make_rig: RigFactory) -> None:
    rig = make_rig(PermissionMode.DEFAULT)
    rig.server.script(
        Turn(text="I will write notes.txt.", tool_calls=[write_file("notes.txt", "remember\n")]),
        finish("Wrote notes.txt."),
    )
    session = await rig.manager.spawn("app", prompt="Write notes.txt")
    assert session.metadata["promptDelivered"] is True

    async def screen_asks() -> bool:
        return rig.agent.detect_activity(await rig.screen()) is ActivityState.WAITING_INPUT

    await wait_until(screen_asks, within=30, message="the permission prompt on screen")
    assert "Do you want to create notes.txt?" in await rig.screen()

    def notified() -> bool:
        record = rig.session().metadata.get("hookActivity") or {}
        return record.get("event") == "Notification"

    await wait_until(notified, within=30, message="the Notification hook")  # Claude Code sends it after ~6 s
    stored = rig.session()
    assert stored.activity is ActivityState.WAITING_INPUT
    assert stored.metadata["hookActivity"]["detail"] == "permission_prompt"
    detection = await rig.agent.get_activity_state(stored, 300_000)
    assert detection is not None
    assert detection.state is ActivityState.WAITING_INPUT
    assert detection.evidence is not None
    assert detection.evidence.startswith("hook Notification (permission_prompt)")
    assert await rig.probe() is ActivityState.WAITING_INPUT
    assert not (Path(str(session.workspace_path)) / "notes.txt").exists()

    await rig.manager.send(session.id, "1", wait=False)  # option 1: "Yes"

    states = await _states_until_ready(rig)
    assert states[-1] is ActivityState.READY
    assert (Path(str(session.workspace_path)) / "notes.txt").read_text() == "remember\n"
    await wait_until(
        lambda: rig.session().metadata["hookActivity"]["event"] == "Stop", within=15, message="the Stop hook"
    )
    assert rig.session().activity is ActivityState.READY


# --------------------------------------------------------------------------- (3) restore resumes the conversation


async def test_restore_after_the_tmux_session_died_resumes_the_conversation(make_rig: RigFactory) -> None:
    rig = make_rig()
    rig.server.script(
        Turn(text="Writing step one.", tool_calls=[write_file("step1.txt", "one\n")]),
        Turn(text="Now the long step.", tool_calls=[run_shell("sleep 120")]),
        Turn(text="Picking up where I left off.", tool_calls=[write_file("step2.txt", "two\n")], wait_for="carry on"),
        finish("Both steps done."),
    )
    session = await rig.manager.spawn("app", prompt="Do step one, then the long step.")
    await wait_until(lambda: rig.server.served_turns == 2, within=30, message="the long step to start")

    async def running() -> bool:
        return "Running…" in await rig.screen()

    await wait_until(running, within=30, message="the long step on screen")
    served_before = len(rig.server.requests)
    handle = rig.session().runtime_handle
    assert handle is not None
    leader = int(rig.tmux("display-message", "-p", "-t", f"={handle.id}:", "#{pane_pid}").strip())
    # Claude Code runs Bash tools in a session of their own (setsid): they are not the pane's session members.
    await wait_until(lambda: "sleep" in {e.comm for e in _below(leader)}, within=30, message="the tool's process")
    tools = [entry.pid for entry in _below(leader)]
    rig.tmux("kill-session", "-t", f"={handle.id}")  # the agent dies mid-task (tmux hangs its terminal up)
    await wait_until(
        lambda: not _session_members({leader}, named="claude"), within=10, message="claude to exit on the hangup"
    )
    for pid in [*_session_members({leader}), *tools]:  # the tool it left running
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert not await rig.manager.is_runtime_alive(rig.session())

    restored = await rig.manager.restore(session.id)
    assert restored.restored_at is not None
    await rig.manager.send(session.id, "carry on please", timeout_s=60)

    resumed = rig.server.wait_for_request(lambda request: request.kind == "turn", start=served_before, timeout=60)
    assert resumed.turn == 2
    assert resumed.contains("Do step one, then the long step.")  # the first prompt
    assert resumed.contains("Writing step one.")  # the model's first answer
    assert resumed.contains("carry on please")
    assert resumed.header("x-claude-code-session-id") == session.metadata["agentSessionId"]
    states = await _states_until_ready(rig)
    assert states[-1] is ActivityState.READY
    assert (Path(str(session.workspace_path)) / "step2.txt").read_text() == "two\n"


# --------------------------------------------------------------------------- (4) branch switch through the hook


async def test_hook_records_a_branch_switch_without_polling(make_rig: RigFactory) -> None:
    rig = make_rig()
    rig.server.script(
        Turn(tool_calls=[run_shell("git checkout -q -b feat/from-the-agent")]),
        finish("On the new branch."),
    )
    session = await rig.manager.spawn("app", prompt="Start a branch feat/from-the-agent")
    assert session.branch != "feat/from-the-agent"
    # Only the store is read: no lifecycle poll runs in this test, the hook wrote it.
    await wait_until(lambda: rig.session().branch == "feat/from-the-agent", within=60, message="the hook's branch")
    assert "branchSwitchedAt" in rig.session().metadata
    assert run_git(Path(str(session.workspace_path)), "branch", "--show-current") == "feat/from-the-agent"


# --------------------------------------------------------------------------- (5) unattended first run


async def test_a_never_trusted_worktree_starts_working_without_any_keystroke(
    make_rig: RigFactory, claude_home: Path
) -> None:
    state = json.loads((claude_home / ".claude.json").read_text())
    assert "projects" not in state  # onboarded and API key approved, but no folder ever trusted
    rig = make_rig()
    rig.server.script(Turn(tool_calls=[write_file("first.txt", "first run\n")]), finish("Done."))
    started = time.monotonic()
    session = await rig.manager.spawn("app", prompt="Write first.txt")
    workspace = Path(str(session.workspace_path))
    assert session.metadata["promptDelivered"] is True
    await wait_until(lambda: (workspace / "first.txt").exists(), within=60, message="the agent's file")
    assert (workspace / "first.txt").read_text() == "first run\n"
    trusted = json.loads((claude_home / ".claude.json").read_text())["projects"]
    assert trusted[str(workspace)]["hasTrustDialogAccepted"] is True
    assert "trust this folder" not in await rig.screen()
    # The first model request came from the prompt ao typed, with nothing else typed before it.
    (first,) = rig.server.turn_requests[:1]
    assert first.contains("Write first.txt")
    print(f"spawn to file written: {time.monotonic() - started:.1f}s")


# --------------------------------------------------------------------------- encoding of long paths


def test_long_workspace_paths_are_encoded_like_claude_code(
    tmp_path: Path, claude_env: dict[str, str], claude_home: Path, model_server: ModelServer
) -> None:
    claude = require_executable("claude")
    model_server.script(finish("ok"))
    deep = tmp_path / ("long-directory-name." * 12) / "work_tree"
    deep.mkdir(parents=True)
    done = subprocess.run(
        [claude, "-p", "say ok", "--dangerously-skip-permissions"],
        cwd=deep,
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ.copy(),
    )
    assert done.returncode == 0, done.stderr
    projects = claude_home / ".claude" / "projects"
    assert [path.name for path in projects.iterdir()] == [encode_project_path(str(deep))]
    assert len(encode_project_path(str(deep))) > 200
