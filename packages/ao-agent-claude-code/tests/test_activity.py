"""get_activity_state: recorded transcripts (shifted in time) and hook-recorded states."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ao_agent_claude_code import ClaudeCodeAgentConfig
from ao_agent_claude_code._agent import ClaudeCodeAgent
from ao_core.models import ActivityState
from claude_support import install_transcript, session_for

pytestmark = pytest.mark.anyio

THRESHOLD_MS = 300_000


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "work.tree"
    path.mkdir()
    return path


def ago(seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)


def hook(state: str, event: str, at: datetime, detail: str | None = None) -> dict[str, Any]:
    return {"hookActivity": {"state": state, "event": event, "detail": detail, "at": at.isoformat()}}


async def test_no_transcript_and_no_hook_is_no_signal(isolated_home: Path, workspace: Path) -> None:
    assert await ClaudeCodeAgent().get_activity_state(session_for(workspace), THRESHOLD_MS) is None


async def test_no_conversation_id_is_no_signal(isolated_home: Path, workspace: Path) -> None:
    install_transcript(isolated_home, workspace, "turn-complete", newest_at=ago(2))
    session = session_for(workspace)
    session.metadata.pop("agentSessionId")
    assert await ClaudeCodeAgent().get_activity_state(session, THRESHOLD_MS) is None


@pytest.mark.parametrize(
    ("transcript", "age_s", "state", "evidence"),
    [
        ("turn-complete", 2, ActivityState.READY, "transcript tail: system turn_duration"),
        ("turn-complete", 400, ActivityState.IDLE, "transcript tail: system turn_duration"),
        ("api-error", 3, ActivityState.READY, "transcript tail: system turn_duration"),
        ("user-prompt-pending", 1, ActivityState.ACTIVE, "transcript tail: user prompt"),
        ("tool-running", 5, ActivityState.ACTIVE, "transcript tail: assistant tool_use (Bash)"),
        ("permission-pending", 2, ActivityState.ACTIVE, "transcript tail: assistant tool_use (Write)"),
    ],
)
async def test_state_from_the_transcript_tail(
    isolated_home: Path, workspace: Path, transcript: str, age_s: float, state: ActivityState, evidence: str
) -> None:
    newest = ago(age_s)
    install_transcript(isolated_home, workspace, transcript, newest_at=newest)
    detection = await ClaudeCodeAgent().get_activity_state(session_for(workspace), THRESHOLD_MS)
    assert detection is not None
    assert detection.state is state
    assert detection.evidence is not None
    assert re.fullmatch(re.escape(evidence) + r" \d+[sm] ago", detection.evidence), detection.evidence
    assert detection.timestamp is not None
    assert abs((detection.timestamp - newest).total_seconds()) < 0.002


@pytest.mark.parametrize("transcript", ["tool-running", "user-prompt-pending", "permission-pending"])
async def test_a_turn_in_progress_beyond_the_active_window_is_left_to_the_screen(
    isolated_home: Path, workspace: Path, transcript: str
) -> None:
    # A tool running for minutes and a permission prompt look the same in the transcript.
    install_transcript(isolated_home, workspace, transcript, newest_at=ago(45))
    assert await ClaudeCodeAgent().get_activity_state(session_for(workspace), THRESHOLD_MS) is None
    short = ClaudeCodeAgent(ClaudeCodeAgentConfig(active_window_ms=1000))
    install_transcript(isolated_home, workspace, transcript, newest_at=ago(2))
    assert await short.get_activity_state(session_for(workspace), THRESHOLD_MS) is None


async def test_entries_from_before_a_restore_are_ignored(isolated_home: Path, workspace: Path) -> None:
    install_transcript(isolated_home, workspace, "after-kill-resumed", newest_at=ago(10))
    session = session_for(workspace)
    detection = await ClaudeCodeAgent().get_activity_state(session, THRESHOLD_MS)
    assert detection is not None
    assert detection.state is ActivityState.ACTIVE  # the dangling tool use of the killed process
    session.restored_at = ago(5)
    assert await ClaudeCodeAgent().get_activity_state(session, THRESHOLD_MS) is None


async def test_a_newer_hook_state_wins_over_the_transcript(isolated_home: Path, workspace: Path) -> None:
    install_transcript(isolated_home, workspace, "permission-pending", newest_at=ago(8))
    session = session_for(workspace, **hook("waiting_input", "Notification", ago(2), "permission_prompt"))
    detection = await ClaudeCodeAgent().get_activity_state(session, THRESHOLD_MS)
    assert detection is not None
    assert detection.state is ActivityState.WAITING_INPUT
    assert detection.evidence is not None
    assert detection.evidence.startswith("hook Notification (permission_prompt) ")


async def test_an_older_hook_state_loses_to_the_transcript(isolated_home: Path, workspace: Path) -> None:
    install_transcript(isolated_home, workspace, "turn-complete", newest_at=ago(2))
    session = session_for(workspace, **hook("waiting_input", "PermissionRequest", ago(20), "Bash"))
    detection = await ClaudeCodeAgent().get_activity_state(session, THRESHOLD_MS)
    assert detection is not None
    assert detection.state is ActivityState.READY


async def test_a_hook_state_without_a_transcript(isolated_home: Path, workspace: Path) -> None:
    session = session_for(workspace, **hook("ready", "Stop", ago(1)))
    detection = await ClaudeCodeAgent().get_activity_state(session, THRESHOLD_MS)
    assert detection is not None
    assert detection.state is ActivityState.READY
    assert detection.evidence is not None
    assert detection.evidence.startswith("hook Stop ")
    session = session_for(workspace, **hook("ready", "Stop", ago(600)))
    detection = await ClaudeCodeAgent().get_activity_state(session, THRESHOLD_MS)
    assert detection is not None
    assert detection.state is ActivityState.IDLE


async def test_a_hook_state_from_an_earlier_launch_is_ignored(isolated_home: Path, workspace: Path) -> None:
    session = session_for(workspace, **hook("waiting_input", "Notification", ago(30), "permission_prompt"))
    session.restored_at = ago(10)
    assert await ClaudeCodeAgent().get_activity_state(session, THRESHOLD_MS) is None


@pytest.mark.parametrize("record", [{"state": "bogus", "at": "x"}, "not a dict", {"state": "ready"}])
async def test_malformed_hook_records_are_ignored(isolated_home: Path, workspace: Path, record: Any) -> None:
    session = session_for(workspace, hookActivity=record)
    assert await ClaudeCodeAgent().get_activity_state(session, THRESHOLD_MS) is None


async def test_the_configured_config_dir_is_read(tmp_path: Path, workspace: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    install_transcript(elsewhere, workspace, "turn-complete", newest_at=ago(1))
    assert await ClaudeCodeAgent().get_activity_state(session_for(workspace), THRESHOLD_MS) is None
    agent = ClaudeCodeAgent(ClaudeCodeAgentConfig(config_dir=str(elsewhere / ".claude")))
    detection = await agent.get_activity_state(session_for(workspace), THRESHOLD_MS)
    assert detection is not None
    assert detection.state is ActivityState.READY
