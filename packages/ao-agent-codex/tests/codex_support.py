"""Helpers shared by the tests: the recorded data of the pinned Codex version, sessions, rollouts."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ao_core.models import Session

CODEX_VERSION = "0.171.0"
"""The Codex CLI version the package is tested with (pinned in CI)."""

DATA = Path(__file__).parent / "data" / f"codex-{CODEX_VERSION}"
SCREENS = DATA / "screens"
ROLLOUTS = DATA / "rollouts"
RECORDED_ROOT = "/tmp/ao-codex-record"
"""The temporary directory of the recording, as the recorded files name it."""

MAIN_WORKSPACE = f"{RECORDED_ROOT}/main/worktrees/s-1"
"""The workspace of the recording's main scenario (``turn-*``, ``api-error``, ``killed-mid-turn``, ``resumed``)."""


def screen(name: str) -> str:
    """A recorded screen."""
    return (SCREENS / f"{name}.txt").read_text(encoding="utf-8")


def rollout_entries(name: str) -> list[dict[str, Any]]:
    """The entries of a recorded rollout."""
    text = (ROLLOUTS / f"{name}.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _main_thread() -> str:
    first = (ROLLOUTS / "turn-complete.jsonl").read_text(encoding="utf-8").split("\n", 1)[0]
    thread_id: str = json.loads(first)["payload"]["id"]
    return thread_id


MAIN_THREAD = _main_thread()
"""The Codex thread id of the recording's main scenario."""


def declared_usage() -> list[dict[str, int]]:
    """The usage the recording's script declared for each turn of ``turn-complete.jsonl``."""
    turns: list[dict[str, int]] = json.loads((ROLLOUTS / "usage.json").read_text(encoding="utf-8"))["turns"]
    return turns


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _format(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def install_rollout(
    codex_home: Path,
    workspace: Path,
    name: str,
    *,
    newest: datetime | None = None,
    thread_id: str | None = None,
    through: Callable[[dict[str, Any]], bool] | None = None,
) -> Path:
    """Copy a recorded rollout into ``codex_home`` as the thread of ``workspace``.

    Timestamps are shifted so that the newest entry is at ``newest`` (default now); ``session_meta.cwd``
    becomes ``workspace``; the file goes to ``sessions/YYYY/MM/DD/`` of its (shifted) start. With ``through``,
    only the entries up to the first one it accepts are kept (the rollout as it was at that moment).
    """
    entries = rollout_entries(name)
    if through is not None:
        end = next(index for index, entry in enumerate(entries) if through(entry))
        entries = entries[: end + 1]
    stamps = [_parse(entry["timestamp"]) for entry in entries]
    shift = (newest or datetime.now(UTC)) - max(stamps)
    lines = []
    for entry in entries:
        entry["timestamp"] = _format(_parse(entry["timestamp"]) + shift)
        if entry["type"] == "session_meta":
            entry["payload"]["timestamp"] = _format(_parse(entry["payload"]["timestamp"]) + shift)
            entry["payload"]["cwd"] = str(workspace)
            if thread_id is not None:
                entry["payload"]["id"] = entry["payload"]["session_id"] = thread_id
        lines.append(json.dumps(entry, ensure_ascii=False))
    meta = json.loads(lines[0])["payload"]
    start = _parse(meta["timestamp"])
    folder = codex_home / "sessions" / f"{start:%Y}" / f"{start:%m}" / f"{start:%d}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"rollout-{start:%Y-%m-%dT%H-%M-%S}-{meta['id']}.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def session_for(workspace: Path, *, created_at: datetime | None = None, **fields: Any) -> Session:
    """A session of the ``codex`` agent in ``workspace``, created an hour ago unless told otherwise."""
    return Session(
        id="app-1",
        project_id="app",
        workspace_path=str(workspace),
        agent="codex",
        created_at=created_at or datetime.now(UTC) - timedelta(hours=1),
        **fields,
    )
