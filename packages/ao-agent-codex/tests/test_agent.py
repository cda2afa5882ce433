"""The agent against recorded rollouts, a real config.toml, a real store and real processes (no Codex needed)."""

from __future__ import annotations

import itertools
import os
import shlex
import shutil
import sys
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest
from ao_agent_codex import (
    CodexAgent,
    CodexAgentConfig,
    CodexProvider,
    create,
    find_app_server_daemons,
    stop_app_server_daemons,
)
from ao_agent_codex._agent import THREAD_ID_KEY
from ao_core.config import ProjectConfig
from ao_core.errors import WorkspaceError
from ao_core.models import (
    ActivityState,
    AgentLaunchConfig,
    PermissionMode,
    RuntimeCreateConfig,
    RuntimeHandle,
    WorkspaceHooksConfig,
)
from ao_core.store import Store
from codex_support import MAIN_THREAD, declared_usage, install_rollout, rollout_entries, session_for

pytestmark = pytest.mark.anyio

PROVIDER = CodexProvider(id="ao-test", name="AO test", base_url="http://127.0.0.1:9/v1", env_key="AO_TEST_KEY")


def make_agent(tmp_path: Path, **options: object) -> CodexAgent:
    values: dict[str, object] = {"codexHome": str(tmp_path / "codex-home"), **options}
    agent = create(CodexAgentConfig.model_validate(values))
    assert isinstance(agent, CodexAgent)
    return agent


def launch_config(workspace: Path, **fields: object) -> AgentLaunchConfig:
    values: dict[str, object] = {"session_id": "app-1", "project_id": "app", "workspace_path": str(workspace)}
    values.update(fields)
    return AgentLaunchConfig.model_validate(values)


def argv(agent: CodexAgent, workspace: Path, **fields: object) -> list[str]:
    return shlex.split(agent.get_launch_command(launch_config(workspace, **fields)))


def override(words: list[str], key: str) -> object:
    """The value of ``-c key=value`` in an argv, parsed as TOML."""
    for flag, value in itertools.pairwise(words):
        if flag == "-c" and value.startswith(f"{key}="):
            return tomllib.loads(value)[key]
    raise AssertionError(f"no -c {key}=... in {words}")


def workspace_dir(tmp_path: Path) -> Path:
    path = tmp_path / "worktrees" / "app-1"
    path.mkdir(parents=True)
    return path


# --------------------------------------------------------------------------- launch


@pytest.mark.parametrize(
    ("mode", "flags"),
    [
        (PermissionMode.PERMISSIONLESS, ["--dangerously-bypass-approvals-and-sandbox"]),
        (PermissionMode.AUTO_EDIT, ["--ask-for-approval", "never"]),
        (PermissionMode.SUGGEST, ["--ask-for-approval", "on-request", "--sandbox", "read-only"]),
        (PermissionMode.DEFAULT, []),
    ],
)
async def test_launch_command_by_permission_mode(tmp_path: Path, mode: PermissionMode, flags: list[str]) -> None:
    words = argv(make_agent(tmp_path), tmp_path, permissions=mode, model="gpt-5", prompt="Fix the parser")
    fixed = ["codex", "--no-daemon", "-c", "check_for_update_on_startup=false", "-c", "disable_paste_burst=true"]
    assert words == [*fixed, *flags, "--model", "gpt-5", "--", "Fix the parser"]


async def test_a_prompt_that_names_a_subcommand_stays_a_prompt(tmp_path: Path) -> None:
    for prompt in ("resume", "--help", "-c model=x"):
        words = argv(make_agent(tmp_path), tmp_path, prompt=prompt)
        assert words[-2:] == ["--", prompt]


async def test_no_prompt_means_no_separator(tmp_path: Path) -> None:
    assert "--" not in argv(make_agent(tmp_path), tmp_path)


async def test_the_system_prompt_file_becomes_developer_instructions(tmp_path: Path) -> None:
    text = "# Rules\nUse 'ao' and \"git\"; $(never) `run` \\ this.\n\tüñí\x01\n"
    prompt_file = tmp_path / "system prompt.md"
    prompt_file.write_text(text, encoding="utf-8")
    words = argv(make_agent(tmp_path), tmp_path, system_prompt_file=str(prompt_file), system_prompt="ignored")
    assert override(words, "developer_instructions") == text
    assert "model_instructions_file" not in " ".join(words)


async def test_replace_mode_names_the_instructions_file(tmp_path: Path) -> None:
    agent = make_agent(tmp_path, systemPromptMode="replace")
    words = argv(agent, tmp_path, system_prompt_file="/srv/a b/prompt.md")
    assert override(words, "model_instructions_file") == "/srv/a b/prompt.md"


async def test_inline_system_prompt_text(tmp_path: Path) -> None:
    words = argv(make_agent(tmp_path), tmp_path, system_prompt="Be brief.")
    assert override(words, "developer_instructions") == "Be brief."


async def test_a_huge_system_prompt_is_passed_as_a_file(tmp_path: Path) -> None:
    prompt_file = tmp_path / "big.md"
    prompt_file.write_text("x" * 200_000)
    words = argv(make_agent(tmp_path), tmp_path, system_prompt_file=str(prompt_file))
    assert override(words, "model_instructions_file") == str(prompt_file)


async def test_an_unreadable_system_prompt_file_is_left_out(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    words = argv(make_agent(tmp_path), tmp_path, system_prompt_file=str(tmp_path / "missing.md"))
    assert not any(word.startswith(("developer_instructions", "model_instructions_file")) for word in words)
    assert "cannot read the system prompt file" in caplog.text


async def test_provider_extra_args_and_daemon_option(tmp_path: Path) -> None:
    agent = make_agent(tmp_path, provider=PROVIDER.model_dump(), extraArgs=["--search", "a b"], noDaemon=False)
    words = argv(agent, tmp_path, prompt="p")
    assert "--no-daemon" not in words
    assert override(words, "model_provider") == "ao-test"
    assert words[-4:] == ["--search", "a b", "--", "p"]


async def test_environment_names_the_codex_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = launch_config(tmp_path)
    assert make_agent(tmp_path).get_environment(config) == {"CODEX_HOME": str(tmp_path / "codex-home")}
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "from-env"))
    assert create().get_environment(config) == {"CODEX_HOME": str(tmp_path / "from-env")}
    monkeypatch.delenv("CODEX_HOME")
    assert create().get_environment(config) == {"CODEX_HOME": str(Path.home() / ".codex")}


# --------------------------------------------------------------------------- before launch


async def test_setup_trusts_the_workspace_and_writes_the_provider(tmp_path: Path) -> None:
    agent = make_agent(tmp_path, provider=PROVIDER.model_dump())
    home = tmp_path / "codex-home"
    home.mkdir()
    (home / "config.toml").write_text('# mine\nmodel = "gpt-5"\n')
    real = workspace_dir(tmp_path)
    link = tmp_path / "link"
    link.symlink_to(real.parent)
    hooks = WorkspaceHooksConfig(session_id="app-1", data_dir=str(tmp_path / "state"))
    await agent.setup_workspace_hooks(str(link / "app-1"), hooks)
    await agent.setup_workspace_hooks(str(link / "app-1"), hooks)
    text = (home / "config.toml").read_text()
    assert text.startswith('# mine\nmodel = "gpt-5"\n')
    doc = tomllib.loads(text)
    assert doc["projects"] == {
        str(link / "app-1"): {"trust_level": "trusted"},
        str(real): {"trust_level": "trusted"},
    }
    assert doc["model_providers"]["ao-test"] == {
        "name": "AO test",
        "base_url": "http://127.0.0.1:9/v1",
        "env_key": "AO_TEST_KEY",
        "wire_api": "responses",
    }


async def test_setup_without_trust_leaves_the_config_alone(tmp_path: Path) -> None:
    agent = make_agent(tmp_path, trustWorkspace=False)
    await agent.setup_workspace_hooks(str(tmp_path), WorkspaceHooksConfig(session_id="a", data_dir=str(tmp_path)))
    assert not (tmp_path / "codex-home" / "config.toml").exists()


async def test_setup_reports_a_broken_config(tmp_path: Path) -> None:
    home = tmp_path / "codex-home"
    home.mkdir()
    (home / "config.toml").write_text("[projects\n")
    with pytest.raises(WorkspaceError, match="not valid TOML"):
        await make_agent(tmp_path).setup_workspace_hooks(
            str(tmp_path), WorkspaceHooksConfig(session_id="a", data_dir=str(tmp_path))
        )


# --------------------------------------------------------------------------- activity


async def test_no_rollout_means_no_native_signal(tmp_path: Path) -> None:
    assert await make_agent(tmp_path).get_activity_state(session_for(workspace_dir(tmp_path)), 60_000) is None


@pytest.mark.parametrize(
    ("name", "age_s", "expected"),
    [
        ("turn-complete", 1, ActivityState.READY),
        ("turn-complete", 120, ActivityState.IDLE),
        ("resumed", 1, ActivityState.READY),
        ("turn-in-progress", 1, ActivityState.ACTIVE),
        ("turn-in-progress", 45, None),  # a turn silent beyond the active window: the screen decides
        ("killed-mid-turn", 1, ActivityState.ACTIVE),
        ("tool-pending", 1, ActivityState.ACTIVE),  # the TUI has not drawn the dialog yet
        ("tool-pending", 5, None),  # running or awaiting approval: only the screen knows
        ("api-error", 1, ActivityState.BLOCKED),
        ("api-error", 3600, ActivityState.BLOCKED),
    ],
)
async def test_activity_from_a_recorded_rollout(
    tmp_path: Path, name: str, age_s: int, expected: ActivityState | None
) -> None:
    agent = make_agent(tmp_path)
    workspace = workspace_dir(tmp_path)
    install_rollout(tmp_path / "codex-home", workspace, name, newest=datetime.now(UTC) - timedelta(seconds=age_s))
    detection = await agent.get_activity_state(session_for(workspace), 60_000)
    if expected is None:
        assert detection is None
        return
    assert detection is not None
    assert detection.state is expected
    assert detection.evidence is not None
    assert f"rollout {read_meta_id(name)}: " in detection.evidence


async def test_a_tool_call_without_approvals_is_active_for_the_whole_window(tmp_path: Path) -> None:
    # Permissionless (approval policy "never"): a pending tool call is running, nothing can wait for approval.
    agent = make_agent(tmp_path)
    workspace = workspace_dir(tmp_path)
    install_rollout(
        tmp_path / "codex-home",
        workspace,
        "turn-complete",
        newest=datetime.now(UTC) - timedelta(seconds=10),
        through=lambda entry: entry["type"] == "response_item" and entry["payload"]["type"] == "function_call",
    )
    detection = await agent.get_activity_state(session_for(workspace), 60_000)
    assert detection is not None
    assert detection.state is ActivityState.ACTIVE
    assert detection.evidence is not None
    assert "tool call exec_command" in detection.evidence
    assert await make_agent(tmp_path, activeWindowMs=5_000).get_activity_state(session_for(workspace), 60_000) is None


async def test_a_session_launched_with_a_prompt_is_active_until_codex_starts(tmp_path: Path) -> None:
    workspace = workspace_dir(tmp_path)
    now = datetime.now(UTC)
    starting = session_for(workspace, created_at=now, metadata={"userPrompt": "Fix it"})
    detection = await make_agent(tmp_path).get_activity_state(starting, 60_000)
    assert detection is not None
    assert detection.state is ActivityState.ACTIVE
    assert await make_agent(tmp_path, trustWorkspace=False).get_activity_state(starting, 60_000) is None
    late = session_for(workspace, created_at=now - timedelta(minutes=2), metadata={"userPrompt": "Fix it"})
    assert await make_agent(tmp_path).get_activity_state(late, 60_000) is None
    silent = session_for(workspace, created_at=now)
    assert await make_agent(tmp_path).get_activity_state(silent, 60_000) is None
    restored = session_for(workspace, created_at=now, restored_at=now, metadata={"userPrompt": "Fix it"})
    assert await make_agent(tmp_path).get_activity_state(restored, 60_000) is None


async def test_entries_of_the_process_before_a_restore_are_ignored(tmp_path: Path) -> None:
    agent = make_agent(tmp_path)
    workspace = workspace_dir(tmp_path)
    now = datetime.now(UTC)
    install_rollout(tmp_path / "codex-home", workspace, "killed-mid-turn", newest=now - timedelta(seconds=2))
    assert await agent.get_activity_state(session_for(workspace, restored_at=now), 60_000) is None
    detection = await agent.get_activity_state(session_for(workspace, restored_at=now - timedelta(seconds=30)), 60_000)
    assert detection is not None
    assert detection.state is ActivityState.ACTIVE


async def test_an_older_thread_in_the_same_folder_is_not_the_sessions(tmp_path: Path) -> None:
    agent = make_agent(tmp_path)
    workspace = workspace_dir(tmp_path)
    install_rollout(tmp_path / "codex-home", workspace, "turn-complete", newest=datetime.now(UTC) - timedelta(hours=2))
    assert await agent.get_activity_state(session_for(workspace), 60_000) is None


# --------------------------------------------------------------------------- the thread id


async def test_the_thread_id_is_remembered_in_the_session_and_the_store(tmp_path: Path) -> None:
    workspace = workspace_dir(tmp_path)
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    session = session_for(workspace)
    with Store.open(state_dir) as store:
        store.save_session(session)
    agent = make_agent(tmp_path)
    await agent.setup_workspace_hooks(str(workspace), WorkspaceHooksConfig(session_id="app-1", data_dir=str(state_dir)))
    install_rollout(tmp_path / "codex-home", workspace, "turn-complete")
    assert await agent.get_activity_state(session, 60_000) is not None
    assert session.metadata[THREAD_ID_KEY] == MAIN_THREAD
    with Store.open(state_dir) as store:
        stored = store.get_session("app-1")
    assert stored is not None
    assert stored.metadata[THREAD_ID_KEY] == MAIN_THREAD


async def test_a_store_without_the_session_is_not_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = workspace_dir(tmp_path)
    other_state = tmp_path / "other-state"
    other_state.mkdir()
    with Store.open(other_state) as store:
        store.save_session(session_for(tmp_path / "elsewhere"))  # same id, another workspace
    monkeypatch.setenv("AO_STATE_DIR", str(other_state))
    install_rollout(tmp_path / "codex-home", workspace, "turn-complete")
    session = session_for(workspace)
    assert await make_agent(tmp_path).get_activity_state(session, 60_000) is not None
    assert session.metadata[THREAD_ID_KEY] == MAIN_THREAD
    with Store.open(other_state) as store:
        stored = store.get_session("app-1")
    assert stored is not None
    assert THREAD_ID_KEY not in stored.metadata


async def test_a_known_thread_id_wins_over_the_folder(tmp_path: Path) -> None:
    # Another thread started later in the same folder (someone ran codex there by hand) does not matter.
    agent = make_agent(tmp_path)
    workspace = workspace_dir(tmp_path)
    home = tmp_path / "codex-home"
    install_rollout(home, workspace, "api-error", newest=datetime.now(UTC))
    install_rollout(home, workspace, "turn-complete", newest=datetime.now(UTC) - timedelta(minutes=1), thread_id=_id(7))
    session = session_for(workspace, metadata={THREAD_ID_KEY: MAIN_THREAD})
    detection = await agent.get_activity_state(session, 60_000)
    assert detection is not None
    assert detection.state is ActivityState.BLOCKED


async def test_post_launch_setup_waits_for_the_thread(tmp_path: Path) -> None:
    agent = make_agent(tmp_path)
    workspace = workspace_dir(tmp_path)
    session = session_for(workspace, created_at=datetime.now(UTC), metadata={"userPrompt": "Fix it"})

    async def codex_starts() -> None:
        await anyio.sleep(0.3)
        install_rollout(tmp_path / "codex-home", workspace, "turn-in-progress")

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(codex_starts)
            await agent.post_launch_setup(session)
    assert session.metadata[THREAD_ID_KEY] == MAIN_THREAD


async def test_post_launch_setup_does_not_wait_without_a_prompt(tmp_path: Path) -> None:
    session = session_for(workspace_dir(tmp_path), created_at=datetime.now(UTC))
    with anyio.fail_after(1):
        await make_agent(tmp_path, threadWaitS=30).post_launch_setup(session)
    assert THREAD_ID_KEY not in session.metadata


# --------------------------------------------------------------------------- session info and restore


async def test_session_info_reports_the_declared_usage_and_its_cost(tmp_path: Path) -> None:
    agent = make_agent(tmp_path)
    workspace = workspace_dir(tmp_path)
    install_rollout(tmp_path / "codex-home", workspace, "turn-complete")
    info = await agent.get_session_info(session_for(workspace))
    assert info is not None
    assert info.agent_session_id == MAIN_THREAD
    assert (info.summary, info.summary_is_fallback) == ("Create hello.txt and commit it", True)
    turns = declared_usage()
    uncached = sum(t["input_tokens"] for t in turns)
    cached = sum(t["cache_read_tokens"] for t in turns)
    output = sum(t["output_tokens"] for t in turns)
    assert info.cost is not None
    assert (info.cost.input_tokens, info.cost.cache_read_tokens, info.cost.output_tokens) == (uncached, cached, output)
    assert info.cost.estimated_cost_usd == pytest.approx((uncached * 2.5 + cached * 0.625 + output * 10) / 1e6)


async def test_session_info_uses_the_thread_title_and_price_overrides(tmp_path: Path) -> None:
    agent = make_agent(tmp_path, pricing={"fake": {"input": 1, "cachedInput": 0, "output": 0}})
    workspace = workspace_dir(tmp_path)
    home = tmp_path / "codex-home"
    install_rollout(home, workspace, "turn-complete")
    (home / "session_index.jsonl").write_text(
        f'{{"id":"{MAIN_THREAD}","thread_name":"Old title","updated_at":"x"}}\n'
        f'{{"id":"{_id(1)}","thread_name":"Other","updated_at":"x"}}\n'
        f'{{"id":"{MAIN_THREAD}","thread_name":"Add hello.txt","updated_at":"y"}}\n'
    )
    info = await agent.get_session_info(session_for(workspace))
    assert info is not None
    assert (info.summary, info.summary_is_fallback) == ("Add hello.txt", False)
    assert info.cost is not None
    assert info.cost.estimated_cost_usd == pytest.approx(info.cost.input_tokens / 1e6)


async def test_no_session_info_before_a_thread(tmp_path: Path) -> None:
    assert await make_agent(tmp_path).get_session_info(session_for(workspace_dir(tmp_path))) is None


async def test_restore_resumes_the_thread_with_the_same_flags(tmp_path: Path) -> None:
    agent = make_agent(tmp_path, provider=PROVIDER.model_dump())
    workspace = workspace_dir(tmp_path)
    home = tmp_path / "codex-home"
    install_rollout(home, workspace, "killed-mid-turn")
    prompt_file = tmp_path / "system.md"
    prompt_file.write_text("Rules.")
    session = session_for(workspace, metadata={"systemPromptFile": str(prompt_file)})
    project = ProjectConfig.model_validate(
        {"path": str(tmp_path), "agentConfig": {"permissions": "auto-edit", "model": "gpt-5"}}
    )
    command = await agent.get_restore_command(session, project)
    assert command is not None
    words = shlex.split(command)
    assert words[:3] == ["codex", "resume", "--no-daemon"]
    assert words[-2:] == ["--", MAIN_THREAD]
    assert words[words.index("--ask-for-approval") :][:4] == ["--ask-for-approval", "never", "--model", "gpt-5"]
    assert override(words, "developer_instructions") == "Rules."
    assert override(words, "model_provider") == "ao-test"
    # The workspace is trusted again (its entry may have been removed with the folder).
    assert tomllib.loads((home / "config.toml").read_text())["projects"][str(workspace)] == {"trust_level": "trusted"}


async def test_restore_without_a_thread_launches_afresh(tmp_path: Path) -> None:
    agent = make_agent(tmp_path)
    session = session_for(workspace_dir(tmp_path))
    assert await agent.get_restore_command(session, ProjectConfig(path=str(tmp_path))) is None
    gone = session_for(workspace_dir(tmp_path / "x"), metadata={THREAD_ID_KEY: _id(9)})
    assert await agent.get_restore_command(gone, ProjectConfig(path=str(tmp_path))) is None


# --------------------------------------------------------------------------- processes


@pytest.mark.integration
async def test_is_process_running_looks_below_the_tmux_pane(tmp_path: Path) -> None:
    from ao_core.testing import require_executable, wait_until
    from ao_runtime_tmux import TmuxRuntime, TmuxRuntimeConfig

    require_executable("tmux")
    fake_codex = tmp_path / "bin" / "codex"
    fake_codex.parent.mkdir()
    fake_codex.write_text("#!/bin/sh\nsleep 30\n")
    fake_codex.chmod(0o755)
    socket = f"ao-codex-test-{os.getpid()}"
    runtime = TmuxRuntime(TmuxRuntimeConfig(socket_name=socket))
    agent = make_agent(tmp_path)
    try:
        codex = await runtime.create(
            RuntimeCreateConfig(session_id="codex-1", workspace_path=str(tmp_path), launch_command=str(fake_codex))
        )
        other = await runtime.create(
            RuntimeCreateConfig(session_id="other-1", workspace_path=str(tmp_path), launch_command="sleep 30")
        )
        await wait_until(lambda: agent.is_process_running(codex), within=10, message="codex runs in the pane")
        assert not await agent.is_process_running(other)
        await runtime.destroy(codex)
        assert not await agent.is_process_running(codex)
    finally:
        await anyio.run_process(["tmux", "-L", socket, "kill-server"], check=False)


async def test_is_process_running_for_other_runtimes(tmp_path: Path) -> None:
    agent = make_agent(tmp_path)
    assert await agent.is_process_running(RuntimeHandle(id="c", runtime_name="docker")) is True
    assert await agent.is_process_running(RuntimeHandle(id="p", runtime_name="process", data={"pid": 0})) is False
    me = RuntimeHandle(id="p", runtime_name="process", data={"pid": os.getpid()})
    assert await agent.is_process_running(me) is False  # pytest is not codex


async def test_app_server_daemons_are_found_by_their_home_and_stopped(tmp_path: Path) -> None:
    home = tmp_path / "codex-home"
    program = home / "packages" / "app-server-daemon" / "releases" / "0.171.0-x" / "bin" / "codex"
    program.parent.mkdir(parents=True)
    shutil.copy(shutil.which("sleep") or "/bin/sleep", program)
    daemon = await anyio.open_process([str(program), "30"])
    bystander = await anyio.open_process([sys.executable, "-c", "import time; time.sleep(30)", "app-server"])
    try:
        found = [entry.pid for entry in find_app_server_daemons(home)]
        assert found == [daemon.pid]
        assert find_app_server_daemons(tmp_path / "another-home") == []
        assert stop_app_server_daemons(home) == [daemon.pid]
        with anyio.fail_after(5):
            await daemon.wait()
        assert find_app_server_daemons(home) == []
        assert bystander.returncode is None
    finally:
        for process in (daemon, bystander):
            if process.returncode is None:
                process.kill()
            await process.wait()


def read_meta_id(name: str) -> str:
    thread_id: str = rollout_entries(name)[0]["payload"]["id"]
    return thread_id


def _id(n: int) -> str:
    return f"01a229f4-0000-7000-8000-{n:012d}"
