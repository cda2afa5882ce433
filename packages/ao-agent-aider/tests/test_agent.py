"""The agent's launch command, environment, workspace hooks, activity and session info (no real Aider)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aider_support import SCREENS, install_history, session_for
from ao_agent_aider import AiderAgent, AiderAgentConfig
from ao_core.config import ProjectConfig
from ao_core.models import (
    ActivityState,
    AgentLaunchConfig,
    PermissionMode,
    RuntimeCreateConfig,
    RuntimeHandle,
    WorkspaceHooksConfig,
)
from ao_core.testing import init_git_repo, require_executable, run_git, wait_until
from ao_runtime_tmux import TmuxRuntime, TmuxRuntimeConfig
from ao_testing.agent_fixtures import kill_tmux_server

pytestmark = pytest.mark.anyio


def now() -> datetime:
    """The current time, read when a test runs (not at collection: a long run would make "2 s ago" stale)."""
    return datetime.now(UTC)


def launch(workspace: Path, **fields: object) -> AgentLaunchConfig:
    values: dict[str, object] = {"session_id": "app-1", "project_id": "app", "workspace_path": str(workspace)}
    values.update(fields)
    return AgentLaunchConfig.model_validate(values)


@pytest.fixture
def agent() -> AiderAgent:
    return AiderAgent(AiderAgentConfig(openai_api_base="http://127.0.0.1:8765/v1", openai_api_key="sk-secret-key"))


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "work space"
    path.mkdir()
    return path


# ---------------------------------------------------------------------------- launch


@pytest.mark.parametrize(
    ("permissions", "yes"),
    [
        (PermissionMode.PERMISSIONLESS, True),
        (PermissionMode.AUTO_EDIT, True),
        (PermissionMode.DEFAULT, False),
        (PermissionMode.SUGGEST, False),
    ],
)
def test_permissions_decide_yes_always(
    agent: AiderAgent, workspace: Path, permissions: PermissionMode, yes: bool
) -> None:
    words = shlex.split(agent.get_launch_command(launch(workspace, permissions=permissions)))
    assert ("--yes-always" in words) is yes


def test_launch_command_words(agent: AiderAgent, workspace: Path) -> None:
    command = agent.get_launch_command(
        launch(workspace, model="openai/fake-model", system_prompt_file="/state/app-1/system prompt.md", prompt="x")
    )
    words = shlex.split(command)
    assert words[0] == "aider"
    assert words[words.index("--model") + 1] == "openai/fake-model"
    assert words[words.index("--openai-api-base") + 1] == "http://127.0.0.1:8765/v1"
    assert words[words.index("--chat-history-file") + 1] == str(workspace / ".aider.chat.history.md")
    assert words[-2:] == ["--read", "/state/app-1/system prompt.md"]
    for flag in ("--no-check-update", "--no-show-release-notes", "--no-analytics", "--no-show-model-warnings"):
        assert flag in words
    assert "--no-gitignore" in words
    # One message and exit is not what ao wants: the task is typed in after launch.
    assert "--message" not in words
    assert "x" not in words
    assert "sk-secret-key" not in command


def test_options_reach_the_command(workspace: Path) -> None:
    agent = AiderAgent(
        AiderAgentConfig(
            command="/opt/aider/bin/aider",
            edit_format="diff",
            auto_commits=False,
            exclude_aider_files=False,
            extra_args=["--map-tokens", "0"],
        )
    )
    words = shlex.split(agent.get_launch_command(launch(workspace)))
    assert words[0] == "/opt/aider/bin/aider"
    assert words[words.index("--edit-format") + 1] == "diff"
    assert "--no-auto-commits" in words
    assert "--no-gitignore" not in words
    assert "--openai-api-base" not in words
    assert words[-2:] == ["--map-tokens", "0"]


def test_the_key_goes_into_the_environment_only(agent: AiderAgent, workspace: Path) -> None:
    assert agent.get_environment(launch(workspace)) == {"OPENAI_API_KEY": "sk-secret-key"}
    assert AiderAgent().get_environment(launch(workspace)) == {}


def test_an_inline_system_prompt_is_written_to_a_private_file(
    agent: AiderAgent, tmp_path: Path, workspace: Path
) -> None:
    # A stand-in aider that prints its arguments and the file given with --read.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "aider"
    stub.write_text(
        f"#!{sys.executable}\n"
        "import pathlib, sys\n"
        "args = sys.argv[1:]\n"
        "print(args[-2])\n"
        "print(pathlib.Path(args[-1]).read_text(), end='')\n"
    )
    stub.chmod(0o755)
    text = "Be careful with 'quotes', $HOME, `ticks` and\nnew lines %s %d\\n"
    command = agent.get_launch_command(launch(workspace, system_prompt=text))
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "TMPDIR": str(tmp_path)}
    done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, env=env, timeout=30, check=True)
    flag, _, content = done.stdout.partition("\n")
    assert flag == "--read"
    assert content == text + "\n"
    written = list(tmp_path.glob("ao-aider-system-prompt.*"))
    assert len(written) == 1
    assert oct(written[0].stat().st_mode & 0o777) == oct(0o600)


async def test_restore_launches_afresh(agent: AiderAgent, workspace: Path) -> None:
    project = ProjectConfig(path=str(workspace))
    assert await agent.get_restore_command(session_for(workspace), project) is None


# ---------------------------------------------------------------------------- workspace hooks


async def test_aider_files_are_excluded_from_git(agent: AiderAgent, tmp_path: Path) -> None:
    repo = init_git_repo(tmp_path)
    worktree = tmp_path / "wt"
    run_git(repo, "worktree", "add", "-q", "-b", "feat/x", str(worktree))
    hooks = WorkspaceHooksConfig(session_id="app-1", data_dir=str(tmp_path / "state"))
    await agent.setup_workspace_hooks(str(worktree), hooks)
    await agent.setup_workspace_hooks(str(worktree), hooks)
    exclude = Path(run_git(worktree, "rev-parse", "--path-format=absolute", "--git-path", "info/exclude"))
    assert exclude.read_text().splitlines().count(".aider*") == 1
    for name in (".aider.chat.history.md", ".aider.input.history", ".aider.tags.cache.v4/x"):
        (worktree / name).parent.mkdir(parents=True, exist_ok=True)
        (worktree / name).write_text("x")
    assert run_git(worktree, "status", "--porcelain") == ""


async def test_workspace_hooks_outside_git_do_nothing(agent: AiderAgent, workspace: Path) -> None:
    await agent.setup_workspace_hooks(str(workspace), WorkspaceHooksConfig(session_id="app-1", data_dir="/x"))
    assert list(workspace.iterdir()) == []


# ---------------------------------------------------------------------------- activity from the history


async def test_no_history_means_no_native_signal(agent: AiderAgent, workspace: Path) -> None:
    assert await agent.get_activity_state(session_for(workspace), 60_000) is None


async def test_a_history_from_before_this_launch_is_ignored(agent: AiderAgent, workspace: Path) -> None:
    install_history(workspace, "message-pending", modified_at=now() - timedelta(seconds=5))
    session = session_for(workspace, created_at=now() - timedelta(hours=1), restored_at=now() - timedelta(seconds=1))
    assert await agent.get_activity_state(session, 60_000) is None


async def test_a_submitted_message_without_answer_is_active(agent: AiderAgent, workspace: Path) -> None:
    install_history(workspace, "message-pending", modified_at=now() - timedelta(seconds=2))
    detection = await agent.get_activity_state(session_for(workspace), 60_000)
    assert detection is not None
    assert detection.state is ActivityState.ACTIVE
    assert detection.timestamp is not None
    assert abs((detection.timestamp - (now() - timedelta(seconds=2))).total_seconds()) < 1
    assert "no answer yet" in (detection.evidence or "")


async def test_an_unanswered_message_past_the_active_window_leaves_it_to_the_screen(workspace: Path) -> None:
    # Aider may be asking a question (URL or file to add) before it sends the message.
    agent = AiderAgent(AiderAgentConfig(active_window_ms=1000))
    install_history(workspace, "message-pending", modified_at=now() - timedelta(seconds=5))
    assert await agent.get_activity_state(session_for(workspace), 60_000) is None


@pytest.mark.parametrize("name", ["turn-complete", "question-pending", "api-error", "started"])
async def test_a_recent_answer_leaves_it_to_the_screen(agent: AiderAgent, workspace: Path, name: str) -> None:
    install_history(workspace, name, modified_at=now() - timedelta(seconds=3))
    assert await agent.get_activity_state(session_for(workspace), 60_000) is None


async def test_a_stale_answer_without_a_readable_screen_says_nothing(agent: AiderAgent, workspace: Path) -> None:
    install_history(workspace, "turn-complete", modified_at=now() - timedelta(hours=2))
    assert await agent.get_activity_state(session_for(workspace), 60_000) is None


async def test_a_recent_commit_counts_as_activity(agent: AiderAgent, tmp_path: Path) -> None:
    repo = init_git_repo(tmp_path)
    install_history(repo, "turn-complete", modified_at=now() - timedelta(hours=2))
    handle = RuntimeHandle(id="app-1", runtime_name="tmux", data={"socket_name": f"ao-none-{uuid.uuid4().hex[:8]}"})
    session = session_for(repo, runtime_handle=handle)
    # The repository's commit is seconds old: not idle, whatever the screen would say.
    assert await agent.get_activity_state(session, 60_000) is None


# ---------------------------------------------------------------------------- the screen when stale (real tmux)


@pytest.fixture
def tmux_runtime() -> Iterator[TmuxRuntime]:
    require_executable("tmux")
    socket = f"ao-aider-test-{uuid.uuid4().hex[:10]}"
    yield TmuxRuntime(TmuxRuntimeConfig(socket_name=socket))
    kill_tmux_server(socket)


@pytest.fixture
async def showing(
    tmux_runtime: TmuxRuntime, workspace: Path, tmp_path: Path
) -> AsyncIterator[dict[str, RuntimeHandle]]:
    """tmux sessions whose panes show recorded screens, by screen name."""
    handles: dict[str, RuntimeHandle] = {}
    for index, name in enumerate(("ready-after-turn", "question-create-file", "busy-waiting-for-model")):
        sdir = tmp_path / f"session-{index}"
        sdir.mkdir()
        handles[name] = await tmux_runtime.create(
            RuntimeCreateConfig(
                session_id=f"show-{index}",
                workspace_path=str(workspace),
                launch_command=f"cat {shlex.quote(str(SCREENS / f'{name}.txt'))}; exec sleep 60",
                session_dir=str(sdir),
            )
        )
    for name, handle in handles.items():
        last = (SCREENS / f"{name}.txt").read_text().splitlines()[-1]

        async def shown(handle: RuntimeHandle = handle, last: str = last) -> bool:
            return (await tmux_runtime.get_output(handle)).endswith(last)

        await wait_until(shown, within=10, message=f"screen {name} in its pane")
    yield handles
    for handle in handles.values():
        await tmux_runtime.destroy(handle)


@pytest.mark.integration
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ready-after-turn", ActivityState.IDLE),
        ("question-create-file", ActivityState.WAITING_INPUT),
        ("busy-waiting-for-model", None),
    ],
)
async def test_a_stale_answer_is_decided_by_the_screen(
    agent: AiderAgent, workspace: Path, showing: dict[str, RuntimeHandle], name: str, expected: ActivityState | None
) -> None:
    last = now() - timedelta(minutes=10)
    install_history(workspace, "turn-complete", modified_at=last)
    detection = await agent.get_activity_state(session_for(workspace, runtime_handle=showing[name]), 60_000)
    if expected is None:
        assert detection is None
        return
    assert detection is not None
    assert detection.state is expected
    assert detection.timestamp is not None
    assert abs((detection.timestamp - last).total_seconds()) < 1


@pytest.mark.integration
async def test_is_process_running_finds_aider_below_the_pane(
    agent: AiderAgent, tmux_runtime: TmuxRuntime, workspace: Path, tmp_path: Path
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # A Python console script called aider, like the real one (run by an interpreter found through env).
    (bin_dir / "aider").write_text("#!/usr/bin/env python3\nimport time\ntime.sleep(60)\n")
    (bin_dir / "aider").chmod(0o755)
    sdir = tmp_path / "sdir"
    sdir.mkdir()
    handle = await tmux_runtime.create(
        RuntimeCreateConfig(
            session_id="proc-1",
            workspace_path=str(workspace),
            launch_command=f"{shlex.quote(str(bin_dir / 'aider'))}; exec sleep 60",
            session_dir=str(sdir),
        )
    )
    other = await tmux_runtime.create(
        RuntimeCreateConfig(
            session_id="proc-2", workspace_path=str(workspace), launch_command="exec sleep 60", session_dir=str(sdir)
        )
    )
    try:
        await wait_until(lambda: agent.is_process_running(handle), within=10, message="aider below the pane")
        assert not await agent.is_process_running(other)
    finally:
        await tmux_runtime.destroy(handle)
        await tmux_runtime.destroy(other)
    assert not await agent.is_process_running(handle)


async def test_is_process_running_for_other_runtimes(agent: AiderAgent) -> None:
    assert await agent.is_process_running(RuntimeHandle(id="x", runtime_name="docker")) is True
    dead = RuntimeHandle(id="x", runtime_name="process", data={"pid": 2**22 + 12345})
    assert await agent.is_process_running(dead) is False


# ---------------------------------------------------------------------------- session info


async def test_session_info_from_the_recorded_history(agent: AiderAgent, workspace: Path) -> None:
    install_history(workspace, "api-error")
    info = await agent.get_session_info(session_for(workspace))
    assert info is not None
    assert info.summary == "please create hello.txt"
    assert info.summary_is_fallback is True
    assert info.agent_session_id is None
    assert info.cost is not None
    assert info.cost.input_tokens > 0
    assert info.cost.output_tokens > 0
    assert info.cost.estimated_cost_usd > 0


async def test_session_info_without_history_or_prices(agent: AiderAgent, workspace: Path) -> None:
    assert await agent.get_session_info(session_for(workspace)) is None
    history = "#### " + "x" * 300 + "  \n\nok\n\n> Tokens: 5 sent, 1 received.  \n"
    (workspace / ".aider.chat.history.md").write_text(history)
    info = await agent.get_session_info(session_for(workspace))
    assert info is not None
    assert info.cost is None
    assert info.summary is not None
    assert len(info.summary) == 120
    assert info.summary.endswith("…")
