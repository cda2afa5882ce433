"""The agent's configuration, commands, session id, activity and session info (no real OpenCode)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from ao_agent_opencode import OpenCodeAgent, OpenCodeAgentConfig
from ao_agent_opencode._agent import METADATA_KEY, info_from_export
from ao_core.config import ProjectConfig
from ao_core.models import (
    ActivityState,
    AgentLaunchConfig,
    PermissionMode,
    RuntimeCreateConfig,
    RuntimeHandle,
    WorkspaceHooksConfig,
)
from ao_core.paths import session_dir
from ao_core.store import Store
from ao_core.testing import require_executable, wait_until
from ao_runtime_tmux import TmuxRuntime, TmuxRuntimeConfig
from ao_testing.agent_fixtures import kill_tmux_server
from opencode_support import (
    CLI,
    install_database,
    recorded_rows,
    recorded_session_id,
    session_for,
)

pytestmark = pytest.mark.anyio

SESSION = recorded_session_id()


def now() -> datetime:
    """The current time, read when a test runs (not at collection: a long run would make "2 s ago" stale)."""
    return datetime.now(UTC)


def launch(workspace: Path, **fields: object) -> AgentLaunchConfig:
    values: dict[str, object] = {"session_id": "app-1", "project_id": "app", "workspace_path": str(workspace)}
    values.update(fields)
    return AgentLaunchConfig.model_validate(values)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "opencode-data"


@pytest.fixture
def agent(data_dir: Path) -> OpenCodeAgent:
    return OpenCodeAgent(
        OpenCodeAgentConfig(
            provider="anthropic", base_url="http://127.0.0.1:8765/v1", api_key="sk-ant-secret", data_dir=str(data_dir)
        )
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "work space"
    path.mkdir()
    return path


def opencode_config(agent: OpenCodeAgent, config: AgentLaunchConfig) -> dict[str, Any]:
    content: dict[str, Any] = json.loads(agent.get_environment(config)["OPENCODE_CONFIG_CONTENT"])
    return content


# ---------------------------------------------------------------------------- configuration and commands


def test_the_generated_configuration(agent: OpenCodeAgent, workspace: Path) -> None:
    config = launch(workspace, model="anthropic/claude-sonnet-4-5", system_prompt_file="/state/app-1/prompt.md")
    content = opencode_config(agent, config)
    assert content["model"] == "anthropic/claude-sonnet-4-5"
    assert content["provider"] == {
        "anthropic": {"options": {"baseURL": "http://127.0.0.1:8765/v1", "apiKey": "{env:AO_OPENCODE_API_KEY}"}}
    }
    assert content["permission"] == {"edit": "allow", "bash": "allow", "webfetch": "allow"}
    assert content["instructions"] == ["/state/app-1/prompt.md"]
    assert (content["autoupdate"], content["share"]) == (False, "disabled")


def test_the_key_is_only_in_its_own_variable(agent: OpenCodeAgent, workspace: Path) -> None:
    environment = agent.get_environment(launch(workspace))
    assert environment["AO_OPENCODE_API_KEY"] == "sk-ant-secret"
    assert "sk-ant-secret" not in environment["OPENCODE_CONFIG_CONTENT"]
    assert "sk-ant-secret" not in agent.get_launch_command(launch(workspace, prompt="go"))
    assert "AO_OPENCODE_API_KEY" not in OpenCodeAgent().get_environment(launch(workspace))


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (PermissionMode.PERMISSIONLESS, {"edit": "allow", "bash": "allow", "webfetch": "allow"}),
        (PermissionMode.AUTO_EDIT, {"edit": "allow", "bash": "ask", "webfetch": "ask"}),
        (PermissionMode.SUGGEST, {"edit": "ask", "bash": "ask", "webfetch": "ask"}),
        (PermissionMode.DEFAULT, None),
    ],
)
def test_permission_modes(agent: OpenCodeAgent, workspace: Path, mode: PermissionMode, expected: object) -> None:
    assert opencode_config(agent, launch(workspace, permissions=mode)).get("permission") == expected


def test_extra_config_merges_into_the_generated_one(workspace: Path) -> None:
    agent = OpenCodeAgent(
        OpenCodeAgentConfig(
            provider="anthropic",
            base_url="http://127.0.0.1:1/v1",
            extra_config={"provider": {"anthropic": {"models": {"x": {}}}}, "share": "manual", "lsp": False},
        )
    )
    content = opencode_config(agent, launch(workspace))
    assert content["provider"]["anthropic"] == {"options": {"baseURL": "http://127.0.0.1:1/v1"}, "models": {"x": {}}}
    assert (content["share"], content["lsp"]) == ("manual", False)


def test_launch_command_takes_the_prompt_inline(agent: OpenCodeAgent, workspace: Path) -> None:
    prompt = "Fix it'; rm -rf / #\nsecond line $(x)"
    assert shlex.split(agent.get_launch_command(launch(workspace, prompt=prompt))) == ["opencode", "--prompt", prompt]
    assert shlex.split(agent.get_launch_command(launch(workspace))) == ["opencode"]
    extra = OpenCodeAgent(OpenCodeAgentConfig(command="/opt/oc", extra_args=["--pure"]))
    assert shlex.split(extra.get_launch_command(launch(workspace, prompt="go"))) == [
        "/opt/oc",
        "--prompt",
        "go",
        "--pure",
    ]


def test_an_inline_system_prompt_is_written_to_a_private_file(
    agent: OpenCodeAgent, tmp_path: Path, workspace: Path
) -> None:
    # A stand-in opencode that prints its arguments and the instructions file its configuration names.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "opencode"
    stub.write_text(
        f"#!{sys.executable}\n"
        "import json, os, pathlib, sys\n"
        "config = json.loads(os.environ['OPENCODE_CONFIG_CONTENT'])\n"
        "name = config['instructions'][0].removeprefix('{env:').removesuffix('}')\n"
        "print(json.dumps(sys.argv[1:]))\n"
        "print(pathlib.Path(os.environ[name]).read_text(), end='')\n"
    )
    stub.chmod(0o755)
    text = "Be careful with 'quotes', $HOME, `ticks` and\nnew lines %s\\n"
    config = launch(workspace, system_prompt=text, prompt="the task")
    command = agent.get_launch_command(config)
    env = {
        **os.environ,
        **agent.get_environment(config),
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "TMPDIR": str(tmp_path),
    }
    done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, env=env, timeout=30, check=True)
    args, _, content = done.stdout.partition("\n")
    assert json.loads(args) == ["--prompt", "the task"]
    assert content == text + "\n"
    (written,) = tmp_path.glob("ao-opencode-system-prompt.*")
    assert oct(written.stat().st_mode & 0o777) == oct(0o600)


# ---------------------------------------------------------------------------- the OpenCode session id


async def test_the_session_is_found_by_its_workspace_and_recorded(
    agent: OpenCodeAgent, data_dir: Path, workspace: Path, tmp_path: Path
) -> None:
    created = datetime.fromtimestamp(recorded_rows("turn-complete")["session"][0]["time_created"] / 1000, UTC)
    install_database(data_dir, "turn-complete", directory=os.path.realpath(workspace))
    state = tmp_path / "state"
    session = session_for(workspace, created_at=created - timedelta(seconds=5))
    with Store.open(state) as store:
        store.save_session(session)
    await agent.setup_workspace_hooks(str(workspace), WorkspaceHooksConfig(session_id=session.id, data_dir=str(state)))
    assert await agent.opencode_session_id(session) == SESSION
    assert session.metadata[METADATA_KEY] == SESSION
    with Store.open(state) as store:
        stored = store.get_session(session.id)
    assert stored is not None
    assert stored.metadata[METADATA_KEY] == SESSION


async def test_the_store_is_found_from_the_system_prompt_file(data_dir: Path, workspace: Path, tmp_path: Path) -> None:
    # Another process (no setup_workspace_hooks call): the kernel's session directory leads to the store.
    agent = OpenCodeAgent(OpenCodeAgentConfig(data_dir=str(data_dir)))
    created = datetime.fromtimestamp(recorded_rows("turn-complete")["session"][0]["time_created"] / 1000, UTC)
    install_database(data_dir, "turn-complete", directory=os.path.realpath(workspace))
    state = tmp_path / "state"
    prompt_file = session_dir(state, "app", "app-1") / "system-prompt.md"
    session = session_for(workspace, created_at=created, metadata={"systemPromptFile": str(prompt_file)})
    with Store.open(state) as store:
        store.save_session(session)
    assert await agent.opencode_session_id(session) == SESSION
    with Store.open(state) as store:
        stored = store.get_session(session.id)
    assert stored is not None
    assert stored.metadata[METADATA_KEY] == SESSION


async def test_a_session_of_another_workspace_or_an_older_one_is_not_taken(
    agent: OpenCodeAgent, data_dir: Path, workspace: Path
) -> None:
    install_database(data_dir, "turn-complete", directory="/somewhere/else")
    assert await agent.opencode_session_id(session_for(workspace)) is None
    install_database(data_dir, "turn-complete", directory=os.path.realpath(workspace))
    assert await agent.opencode_session_id(session_for(workspace, created_at=now())) is None


def _unreadable_database(tmp_path: Path) -> Path:
    """A data directory whose opencode.db is not a database this plugin can read (another OpenCode version)."""
    data = tmp_path / "other-version"
    data.mkdir()
    with sqlite3.connect(data / "opencode.db") as db:
        db.execute("CREATE TABLE sessions_v9 (id TEXT)")
    return data


async def test_an_unreadable_database_falls_back_to_session_list(workspace: Path, tmp_path: Path) -> None:
    listing = json.loads((CLI / "session-list.json").read_text())
    listing[0]["directory"] = os.path.realpath(workspace)
    stub = _stub_opencode(tmp_path, {"session list --format json": json.dumps(listing)})
    agent = OpenCodeAgent(OpenCodeAgentConfig(command=str(stub), data_dir=str(_unreadable_database(tmp_path))))
    assert await agent.opencode_session_id(session_for(workspace)) == SESSION
    (tmp_path / "called").unlink()
    assert await agent.opencode_session_id(session_for(workspace, created_at=now())) is None
    assert (tmp_path / "called").read_text() == "session list --format json"


async def test_before_opencode_made_its_database_nothing_is_started(workspace: Path, tmp_path: Path) -> None:
    # A second OpenCode for 'session list' would race the first one's set-up in a fresh HOME.
    stub = _stub_opencode(tmp_path, {})
    agent = OpenCodeAgent(OpenCodeAgentConfig(command=str(stub), data_dir=str(tmp_path / "not-yet")))
    assert await agent.opencode_session_id(session_for(workspace)) is None
    assert await agent.get_activity_state(session_for(workspace), 60_000) is None
    assert not (tmp_path / "called").exists()


async def test_a_known_id_is_taken_from_the_metadata(agent: OpenCodeAgent, workspace: Path) -> None:
    session = session_for(workspace, metadata={METADATA_KEY: "ses_abc123"})
    assert await agent.opencode_session_id(session) == "ses_abc123"
    bad = session_for(workspace, metadata={METADATA_KEY: "ses_x; rm -rf /"})
    assert await agent.opencode_session_id(bad) is None


async def test_restore_resumes_the_session(agent: OpenCodeAgent, data_dir: Path, workspace: Path) -> None:
    project = ProjectConfig(path=str(workspace))
    install_database(data_dir, "turn-complete")
    session = session_for(workspace, metadata={METADATA_KEY: SESSION})
    command = await agent.get_restore_command(session, project)
    assert command is not None
    assert shlex.split(command) == ["opencode", "--session", SESSION]
    gone = session_for(workspace, metadata={METADATA_KEY: "ses_deleted1"})
    assert await agent.get_restore_command(gone, project) is None
    assert await agent.get_restore_command(session_for(workspace), project) is None


# ---------------------------------------------------------------------------- activity from the database

ACTIVITY = {
    # moment: (state when fresh, state when older than the active window / ready threshold)
    "turn-started": (ActivityState.ACTIVE, None),
    "tool-running": (ActivityState.ACTIVE, None),
    "permission-pending": (ActivityState.ACTIVE, None),
    "turn-complete": (ActivityState.READY, ActivityState.IDLE),
    "api-error": (ActivityState.READY, ActivityState.IDLE),
    "resumed": (ActivityState.READY, ActivityState.IDLE),
}


@pytest.mark.parametrize(("moment", "states"), sorted(ACTIVITY.items()))
async def test_activity_of_recorded_moments(
    agent: OpenCodeAgent, data_dir: Path, workspace: Path, moment: str, states: tuple[ActivityState, object]
) -> None:
    session_id = str(recorded_rows(moment)["session"][0]["id"])
    session = session_for(workspace, metadata={METADATA_KEY: session_id})
    install_database(data_dir, moment, newest_at=now() - timedelta(seconds=2))
    fresh = await agent.get_activity_state(session, 60_000)
    assert fresh is not None
    assert fresh.state is states[0]
    assert fresh.timestamp is not None
    assert abs((fresh.timestamp - (now() - timedelta(seconds=2))).total_seconds()) < 1
    install_database(data_dir, moment, newest_at=now() - timedelta(minutes=10))
    old = await agent.get_activity_state(session, 60_000)
    assert (old.state if old else None) is states[1]


async def test_records_from_before_this_launch_are_ignored(
    agent: OpenCodeAgent, data_dir: Path, workspace: Path
) -> None:
    session_id = str(recorded_rows("killed-mid-command")["session"][0]["id"])
    install_database(data_dir, "killed-mid-command", newest_at=now() - timedelta(seconds=20))
    session = session_for(workspace, metadata={METADATA_KEY: session_id}, restored_at=now() - timedelta(seconds=3))
    assert await agent.get_activity_state(session, 60_000) is None


async def test_no_session_or_database_means_no_native_signal(agent: OpenCodeAgent, workspace: Path) -> None:
    assert await agent.get_activity_state(session_for(workspace), 60_000) is None
    session = session_for(workspace, metadata={METADATA_KEY: SESSION})
    assert await agent.get_activity_state(session, 60_000) is None


# ---------------------------------------------------------------------------- session info


async def test_session_info_from_the_database(agent: OpenCodeAgent, data_dir: Path, workspace: Path) -> None:
    install_database(data_dir, "turn-complete")
    info = await agent.get_session_info(session_for(workspace, metadata={METADATA_KEY: SESSION}))
    assert info is not None
    recorded = recorded_rows("turn-complete")["session"][0]
    assert (info.summary, info.summary_is_fallback, info.agent_session_id) == (recorded["title"], False, SESSION)
    assert info.cost is not None
    assert (info.cost.input_tokens, info.cost.output_tokens) == (3300, 100)
    assert (info.cost.cache_read_tokens, info.cost.cache_creation_tokens) == (200, 300)
    assert info.cost.estimated_cost_usd == pytest.approx(recorded["cost"], abs=1e-6)


async def test_a_placeholder_title_falls_back_to_the_first_prompt(
    agent: OpenCodeAgent, data_dir: Path, workspace: Path
) -> None:
    database = install_database(data_dir, "turn-complete")
    with sqlite3.connect(database) as db:
        db.execute("UPDATE session SET title = 'New session - 2026-11-30T01:00:00.000Z'")
    info = await agent.get_session_info(session_for(workspace, metadata={METADATA_KEY: SESSION}))
    assert info is not None
    assert (info.summary, info.summary_is_fallback) == ("please write hello.txt", True)


async def test_session_info_from_export_when_the_database_is_unreadable(workspace: Path, tmp_path: Path) -> None:
    stub = _stub_opencode(tmp_path, {f"export {SESSION}": (CLI / "export.json").read_text()})
    agent = OpenCodeAgent(OpenCodeAgentConfig(command=str(stub), data_dir=str(_unreadable_database(tmp_path))))
    info = await agent.get_session_info(session_for(workspace, metadata={METADATA_KEY: SESSION}))
    assert info is not None
    assert info.summary == "Write hello file"
    assert info.cost is not None
    assert (info.cost.input_tokens, info.cost.output_tokens, info.cost.cache_read_tokens) == (3300, 100, 200)
    assert info.cost.estimated_cost_usd > 0


def test_info_from_export_with_a_placeholder_title() -> None:
    exported = json.loads((CLI / "export.json").read_text())
    exported["info"]["title"] = "New session - 2026-11-30"
    info = info_from_export(exported, SESSION)
    assert (info.summary, info.summary_is_fallback) == ("please write hello.txt", True)


async def test_no_session_info_before_opencode_made_a_session(agent: OpenCodeAgent, workspace: Path) -> None:
    assert await agent.get_session_info(session_for(workspace)) is None


# ---------------------------------------------------------------------------- process


async def test_is_process_running_for_other_runtimes(agent: OpenCodeAgent) -> None:
    assert await agent.is_process_running(RuntimeHandle(id="x", runtime_name="docker")) is True
    dead = RuntimeHandle(id="x", runtime_name="process", data={"pid": 2**22 + 12345})
    assert await agent.is_process_running(dead) is False
    # This test's own process is alive, but no opencode runs below it.
    assert not await agent.is_process_running(RuntimeHandle(id="x", runtime_name="process", data={"pid": os.getpid()}))


@pytest.mark.integration
async def test_is_process_running_finds_opencode_below_the_tmux_pane(
    agent: OpenCodeAgent, workspace: Path, tmp_path: Path
) -> None:
    require_executable("tmux")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # A program called opencode (a copy of sleep), as the npm package installs the native binary.
    shutil.copy(require_executable("sleep"), bin_dir / "opencode")
    socket = f"ao-oc-test-{uuid.uuid4().hex[:10]}"
    runtime = TmuxRuntime(TmuxRuntimeConfig(socket_name=socket))
    sdir = tmp_path / "sdir"
    sdir.mkdir()
    try:
        handle = await runtime.create(
            RuntimeCreateConfig(
                session_id="oc-1",
                workspace_path=str(workspace),
                launch_command=f"{shlex.quote(str(bin_dir / 'opencode'))} 60",
                session_dir=str(sdir),
            )
        )
        other = await runtime.create(
            RuntimeCreateConfig(
                session_id="oc-2", workspace_path=str(workspace), launch_command="exec sleep 60", session_dir=str(sdir)
            )
        )
        await wait_until(lambda: agent.is_process_running(handle), within=10, message="opencode below the pane")
        assert not await agent.is_process_running(other)
        await runtime.destroy(handle)
        assert not await agent.is_process_running(handle)
    finally:
        await anyio.to_thread.run_sync(kill_tmux_server, socket)


def _stub_opencode(tmp_path: Path, answers: dict[str, str]) -> Path:
    """An ``opencode`` that prints canned answers for some argument lists and records that it was called."""
    stub = tmp_path / "opencode-stub"
    stub.write_text(
        f"#!{sys.executable}\n"
        "import json, pathlib, sys\n"
        f"answers = json.loads({json.dumps(json.dumps(answers))})\n"
        f"pathlib.Path({json.dumps(str(tmp_path / 'called'))}).write_text(' '.join(sys.argv[1:]))\n"
        "key = ' '.join(sys.argv[1:])\n"
        "if key not in answers:\n"
        "    sys.exit(1)\n"
        "print(answers[key])\n"
    )
    stub.chmod(0o755)
    return stub
