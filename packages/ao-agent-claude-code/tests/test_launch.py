from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from ao_agent_claude_code import ClaudeCodeAgentConfig
from ao_agent_claude_code._agent import ClaudeCodeAgent
from ao_core.config import ProjectConfig
from ao_core.models import AgentLaunchConfig, PermissionMode
from claude_support import AGENT_SESSION_ID, install_transcript, session_for

UUID = "0b5b2c1e-3a4d-4e55-9d7e-1f2a3b4c5d6e"


def launch(**fields: Any) -> AgentLaunchConfig:
    values: dict[str, Any] = {"session_id": "app-1", "project_id": "app", "workspace_path": "/w/app-1"}
    return AgentLaunchConfig(**{**values, **fields})


def words(command: str) -> list[str]:
    return shlex.split(command)


def test_permissionless_launch_with_everything() -> None:
    command = ClaudeCodeAgent().get_launch_command(
        launch(model="claude-sonnet-4-5", agent_session_id=UUID, system_prompt_file="/s/system prompt.md")
    )
    assert words(command) == [
        "claude",
        "--dangerously-skip-permissions",
        "--model",
        "claude-sonnet-4-5",
        "--session-id",
        UUID,
        "--append-system-prompt-file",
        "/s/system prompt.md",
    ]


@pytest.mark.parametrize(
    ("mode", "skips"),
    [
        (PermissionMode.PERMISSIONLESS, True),
        (PermissionMode.AUTO_EDIT, True),
        (PermissionMode.DEFAULT, False),
        (PermissionMode.SUGGEST, False),
    ],
)
def test_permission_flag(mode: PermissionMode, skips: bool) -> None:
    command = words(ClaudeCodeAgent().get_launch_command(launch(permissions=mode)))
    assert ("--dangerously-skip-permissions" in command) is skips


def test_the_task_prompt_is_never_on_the_command_line() -> None:
    command = ClaudeCodeAgent().get_launch_command(launch(prompt="Fix issue 42 please"))
    assert "Fix issue 42" not in command
    assert "-p" not in words(command)


def test_inline_system_prompt_is_one_quoted_word() -> None:
    text = "Be careful; $(rm -rf /) `x` 'quoted' \"double\"\nsecond line"
    command = ClaudeCodeAgent().get_launch_command(launch(system_prompt=text))
    assert words(command)[-2:] == ["--append-system-prompt", text]


def test_a_system_prompt_file_wins_over_inline_text() -> None:
    command = words(ClaudeCodeAgent().get_launch_command(launch(system_prompt="x", system_prompt_file="/f.md")))
    assert "--append-system-prompt" not in command
    assert command[-2:] == ["--append-system-prompt-file", "/f.md"]


def test_a_non_uuid_conversation_id_is_left_out() -> None:
    assert "--session-id" not in words(ClaudeCodeAgent().get_launch_command(launch(agent_session_id="not-a-uuid")))


def test_configured_command_and_extra_args() -> None:
    agent = ClaudeCodeAgent(ClaudeCodeAgentConfig(command="/opt/claude code/claude", extra_args=["--effort", "low"]))
    command = words(agent.get_launch_command(launch(permissions=PermissionMode.DEFAULT)))
    assert command == ["/opt/claude code/claude", "--effort", "low"]


def test_environment() -> None:
    assert ClaudeCodeAgent().get_environment(launch()) == {"CLAUDECODE": ""}
    configured = ClaudeCodeAgent(ClaudeCodeAgentConfig(config_dir="/srv/claude"))
    assert configured.get_environment(launch()) == {"CLAUDECODE": "", "CLAUDE_CONFIG_DIR": "/srv/claude"}


# --------------------------------------------------------------------------- restore


@pytest.mark.anyio
async def test_restore_resumes_the_recorded_conversation(isolated_home: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "w"
    workspace.mkdir()
    prompt = tmp_path / "system.md"
    prompt.write_text("rules")
    install_transcript(isolated_home, workspace, "turn-complete")
    session = session_for(workspace, systemPromptFile=str(prompt))
    project = ProjectConfig(path=str(tmp_path), agent_config={"permissions": "permissionless", "model": "opus"})
    command = await ClaudeCodeAgent().get_restore_command(session, project)
    assert command is not None
    assert words(command) == [
        "claude",
        "--dangerously-skip-permissions",
        "--model",
        "opus",
        "--resume",
        AGENT_SESSION_ID,
        "--append-system-prompt-file",
        str(prompt),
    ]
    # The workspace is trusted again, in case it was recreated.
    state = json.loads((isolated_home / ".claude.json").read_text())
    assert state["projects"][str(workspace)]["hasTrustDialogAccepted"] is True


@pytest.mark.anyio
async def test_restore_without_a_transcript_launches_afresh(isolated_home: Path, tmp_path: Path) -> None:
    session = session_for(tmp_path, systemPromptFile=str(tmp_path / "gone.md"))
    assert await ClaudeCodeAgent().get_restore_command(session, ProjectConfig(path=str(tmp_path))) is None
    session.metadata["agentSessionId"] = "../../etc/passwd"
    assert await ClaudeCodeAgent().get_restore_command(session, ProjectConfig(path=str(tmp_path))) is None


@pytest.mark.anyio
async def test_restore_skips_a_missing_system_prompt_file(isolated_home: Path, tmp_path: Path) -> None:
    install_transcript(isolated_home, tmp_path, "turn-complete")
    session = session_for(tmp_path, systemPromptFile=str(tmp_path / "gone.md"))
    project = ProjectConfig(path=str(tmp_path), agent_config={"permissions": "default"})
    command = await ClaudeCodeAgent().get_restore_command(session, project)
    assert command is not None
    assert words(command) == ["claude", "--resume", AGENT_SESSION_ID]
