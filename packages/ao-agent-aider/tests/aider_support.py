"""Helpers shared by the tests: the recorded data of the pinned Aider version, sessions, histories."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ao_core.models import Session

AIDER_VERSION = "0.86.2"
"""The Aider version the package is tested with (pinned in CI)."""

DATA = Path(__file__).parent / "data" / f"aider-{AIDER_VERSION}"
SCREENS = DATA / "screens"
HISTORIES = DATA / "histories"
HISTORY_FILE = ".aider.chat.history.md"


def screen(name: str) -> str:
    """A recorded screen."""
    return (SCREENS / f"{name}.txt").read_text(encoding="utf-8")


def install_history(workspace: Path, name: str, *, modified_at: datetime | None = None) -> Path:
    """Copy a recorded history into ``workspace`` (with the given modification time)."""
    target = workspace / HISTORY_FILE
    shutil.copyfile(HISTORIES / f"{name}.md", target)
    if modified_at is not None:
        stamp = modified_at.timestamp()
        os.utime(target, (stamp, stamp))
    return target


def session_for(workspace: Path, *, created_at: datetime | None = None, **fields: Any) -> Session:
    """A session of the aider agent in ``workspace``."""
    return Session(
        id="app-1",
        project_id="app",
        workspace_path=str(workspace),
        agent="aider",
        created_at=created_at or datetime(2020, 1, 1, tzinfo=UTC),
        **fields,
    )
