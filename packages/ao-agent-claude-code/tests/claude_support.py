"""Helpers shared by the tests: the recorded data of the pinned Claude Code version, sessions, transcripts."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ao_agent_claude_code._paths import encode_project_path
from ao_core.models import Session

CLAUDE_CODE_VERSION = "2.1.197"
"""The Claude Code version the package is tested with (pinned in CI)."""

DATA = Path(__file__).parent / "data" / f"claude-code-{CLAUDE_CODE_VERSION}"
SCREENS = DATA / "screens"
TRANSCRIPTS = DATA / "transcripts"
HOOKS = DATA / "hooks"

AGENT_SESSION_ID = "6f2d3c1e-8a4b-4c5d-9e6f-0a1b2c3d4e5f"


def screen(name: str) -> str:
    """A recorded screen."""
    return (SCREENS / f"{name}.txt").read_text(encoding="utf-8")


def hook_payload(event: str) -> dict[str, Any]:
    """A recorded hook payload."""
    payload: dict[str, Any] = json.loads((HOOKS / f"{event}.json").read_text(encoding="utf-8"))
    return payload


def transcript_lines(name: str) -> list[dict[str, Any]]:
    """The entries of a recorded transcript."""
    text = (TRANSCRIPTS / f"{name}.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def newest_timestamp(name: str) -> datetime:
    """The latest ``timestamp`` of a recorded transcript."""
    stamps = [entry["timestamp"] for entry in transcript_lines(name) if isinstance(entry.get("timestamp"), str)]
    return max(datetime.fromisoformat(stamp.replace("Z", "+00:00")) for stamp in stamps)


def install_transcript(
    home: Path,
    workspace: Path,
    name: str,
    *,
    newest_at: datetime | None = None,
    session_id: str = AGENT_SESSION_ID,
) -> Path:
    """Copy a recorded transcript to where Claude Code keeps the one of ``workspace`` under ``home``.

    With ``newest_at``, every timestamp is shifted so that the newest entry is at that time (the lines are
    otherwise kept byte for byte).
    """
    target = home / ".claude" / "projects" / encode_project_path(str(workspace)) / f"{session_id}.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    if newest_at is None:
        shutil.copyfile(TRANSCRIPTS / f"{name}.jsonl", target)
        return target
    shift = newest_at - newest_timestamp(name)
    lines = []
    for line in (TRANSCRIPTS / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        stamp = entry.get("timestamp")
        if isinstance(stamp, str):
            moved = datetime.fromisoformat(stamp.replace("Z", "+00:00")) + shift
            line = line.replace(f'"timestamp":"{stamp}"', f'"timestamp":"{iso_z(moved)}"', 1)
        lines.append(line)
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def iso_z(moment: datetime) -> str:
    """``2026-11-30T00:43:27.581Z``, the way Claude Code writes timestamps."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def session_for(workspace: Path, *, created_at: datetime | None = None, **metadata: Any) -> Session:
    """A session in ``workspace`` whose agent conversation is :data:`AGENT_SESSION_ID`."""
    return Session(
        id="app-1",
        project_id="app",
        workspace_path=str(workspace),
        agent="claude-code",
        created_at=created_at or datetime(2020, 1, 1, tzinfo=UTC),
        metadata={"agentSessionId": AGENT_SESSION_ID, **metadata},
    )
