"""Helpers shared by the tests: the recorded data of the pinned OpenCode version, databases, sessions."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ao_core.models import Session

OPENCODE_VERSION = "1.18.33"
"""The OpenCode version the package is tested with (pinned in CI)."""

DATA = Path(__file__).parent / "data" / f"opencode-{OPENCODE_VERSION}"
SCREENS = DATA / "screens"
DATABASE = DATA / "database"
CLI = DATA / "cli"


def screen(name: str) -> str:
    """A recorded screen."""
    return (SCREENS / f"{name}.txt").read_text(encoding="utf-8")


def recorded_rows(moment: str) -> dict[str, list[dict[str, Any]]]:
    """The recorded rows of the session's tables at a moment."""
    rows: dict[str, list[dict[str, Any]]] = json.loads((DATABASE / f"{moment}.json").read_text(encoding="utf-8"))
    return rows


def recorded_session_id() -> str:
    """The id of the recorded session of the permissionless scenario."""
    return str(recorded_rows("turn-complete")["session"][0]["id"])


def install_database(
    data_dir: Path,
    *moments: str,
    newest_at: datetime | None = None,
    directory: str | None = None,
) -> Path:
    """Build ``data_dir/opencode.db`` afresh with OpenCode's recorded schema holding the rows of ``moments``.

    Times are shifted so that the newest ``time_updated`` of all rows is ``newest_at``; ``directory`` replaces
    the sessions' recorded directory.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "opencode.db"
    path.unlink(missing_ok=True)
    tables = [recorded_rows(moment) for moment in moments]
    newest = max(
        int(row["time_updated"]) for rows in tables for table in rows.values() for row in table if "time_updated" in row
    )
    shift = 0 if newest_at is None else int(newest_at.timestamp() * 1000) - newest
    with sqlite3.connect(path) as db:
        db.executescript((DATABASE / "schema.sql").read_text(encoding="utf-8"))
        for rows in tables:
            for table in ("session", "message", "part"):
                for row in rows[table]:
                    values = dict(row)
                    for key in ("time_created", "time_updated"):
                        if isinstance(values.get(key), int):
                            values[key] += shift
                    if table == "session" and directory is not None:
                        values["directory"] = directory
                    columns = ", ".join(f"`{name}`" for name in values)
                    marks = ", ".join("?" for _ in values)
                    db.execute(f"INSERT OR REPLACE INTO `{table}` ({columns}) VALUES ({marks})", list(values.values()))
    return path


def session_for(workspace: Path, *, created_at: datetime | None = None, **fields: Any) -> Session:
    """A session of the opencode agent in ``workspace``."""
    return Session(
        id="app-1",
        project_id="app",
        workspace_path=str(workspace),
        agent="opencode",
        created_at=created_at or datetime(2020, 1, 1, tzinfo=UTC),
        **fields,
    )
