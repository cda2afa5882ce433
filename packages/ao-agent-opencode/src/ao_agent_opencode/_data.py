"""Reading OpenCode's session database (``opencode.db``, SQLite) read-only.

OpenCode 1.18 keeps every session in ``<data dir>/opencode.db`` (WAL mode): table ``session`` (``id``
``ses_...``, ``directory``, ``title``, ``parent_id`` for sub-agent sessions, running totals ``cost``,
``tokens_input``, ``tokens_output``, ``tokens_reasoning``, ``tokens_cache_read``, ``tokens_cache_write``,
``time_created``/``time_updated`` in ms), table ``message`` (``session_id``, ``time_created``/``time_updated``,
``data``: JSON with ``role``, ``time.completed``, ``finish`` (``tool-calls`` between the steps of a turn,
``stop`` at its end), ``error``) and table ``part`` (``message_id``, ``data``: JSON with ``type`` ``text``,
``tool``, ``step-start``, ``step-finish``...). The recorded schema and rows are in the tests'
``data/opencode-<version>/``; ``opencode session list`` and ``opencode export`` are the slower public
equivalents (see ``_cli``).

Every function raises :class:`DatabaseUnreadable` when the database is missing, locked beyond its timeout, or
shaped differently (another OpenCode version): callers then fall back to the CLI or the screen.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

__all__ = [
    "SESSION_ID",
    "DatabaseUnreadable",
    "MessageRow",
    "SessionRow",
    "database_path",
    "find_session",
    "first_user_text",
    "last_message",
    "last_part_update",
    "read_session",
]

log = logging.getLogger("ao.agent.opencode")

SESSION_ID = re.compile(r"^ses_[A-Za-z0-9]+$")
"""What an OpenCode session id looks like."""

_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class SessionRow:
    """One OpenCode session and its running totals."""

    id: str
    title: str
    directory: str
    created_ms: int
    updated_ms: int
    cost: float
    tokens_input: int
    tokens_output: int
    tokens_reasoning: int
    tokens_cache_read: int
    tokens_cache_write: int


@dataclass(frozen=True)
class MessageRow:
    """One message of a session: who wrote it and whether (and how) it is finished."""

    id: str
    role: str
    created_ms: int
    updated_ms: int
    completed_ms: int | None
    finish: str | None
    error: str | None


def database_path(data_dir: str | None, env: Mapping[str, str] | None = None) -> Path | None:
    """Where OpenCode keeps its sessions (``None`` for an in-memory database).

    ``$OPENCODE_DB`` (absolute, or relative to the data directory) wins; the data directory is ``data_dir``,
    else ``$XDG_DATA_HOME/opencode``, else ``~/.local/share/opencode``.
    """
    env = os.environ if env is None else env
    if data_dir:
        data = Path(data_dir).expanduser()
    else:
        base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "share")
        data = Path(base) / "opencode"
    override = env.get("OPENCODE_DB")
    if override == ":memory:":
        return None
    if override:
        return Path(override) if Path(override).is_absolute() else data / override
    return data / "opencode.db"


class DatabaseUnreadable(Exception):
    """Raised when OpenCode's database is missing or cannot be read as this OpenCode version lays it out."""


def _query(path: Path, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    if not path.is_file():
        raise DatabaseUnreadable(f"{path} does not exist")
    try:
        connection = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=_TIMEOUT_S)
    except sqlite3.Error as exc:
        raise DatabaseUnreadable(f"cannot open {path}: {exc}") from exc
    try:
        rows: list[tuple[Any, ...]] = connection.execute(sql, params).fetchall()
    except sqlite3.Error as exc:
        log.debug("cannot read %s: %s", path, exc)
        raise DatabaseUnreadable(f"cannot read {path}: {exc}") from exc
    finally:
        connection.close()
    return rows


def find_session(path: Path, directory: str, created_after_ms: int) -> str | None:
    """The first top-level session created in ``directory`` at or after ``created_after_ms`` (ms since 1970)."""
    rows = _query(
        path,
        "SELECT id FROM session WHERE directory = ? AND parent_id IS NULL AND time_created >= ? "
        "ORDER BY time_created, id LIMIT 1",
        (directory, created_after_ms),
    )
    if not rows:
        return None
    found = rows[0][0]
    return found if isinstance(found, str) and SESSION_ID.fullmatch(found) else None


def read_session(path: Path, session_id: str) -> SessionRow | None:
    """The session's row (``None`` when it does not exist or cannot be read)."""
    rows = _query(
        path,
        "SELECT id, title, directory, time_created, time_updated, cost, tokens_input, tokens_output, "
        "tokens_reasoning, tokens_cache_read, tokens_cache_write FROM session WHERE id = ?",
        (session_id,),
    )
    if not rows:
        return None
    row = rows[0]
    try:
        return SessionRow(
            id=str(row[0]),
            title=str(row[1] or ""),
            directory=str(row[2] or ""),
            created_ms=int(row[3]),
            updated_ms=int(row[4]),
            cost=float(row[5] or 0),
            tokens_input=int(row[6] or 0),
            tokens_output=int(row[7] or 0),
            tokens_reasoning=int(row[8] or 0),
            tokens_cache_read=int(row[9] or 0),
            tokens_cache_write=int(row[10] or 0),
        )
    except (TypeError, ValueError) as exc:
        raise DatabaseUnreadable(f"unexpected session row in {path}: {exc}") from exc


def _json(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def last_message(path: Path, session_id: str) -> MessageRow | None:
    """The session's newest message (``None`` when it has none or it cannot be read)."""
    rows = _query(
        path,
        "SELECT id, time_created, time_updated, data FROM message WHERE session_id = ? "
        "ORDER BY time_created DESC, id DESC LIMIT 1",
        (session_id,),
    )
    if not rows:
        return None
    message_id, created, updated, raw = rows[0]
    data = _json(raw)
    times = data.get("time") if isinstance(data.get("time"), dict) else {}
    completed = times.get("completed") if isinstance(times, dict) else None
    error = data.get("error")
    error_name = None
    if isinstance(error, dict):
        error_name = str(error.get("name") or "error")
    elif error:
        error_name = str(error)
    return MessageRow(
        id=str(message_id),
        role=str(data.get("role") or ""),
        created_ms=int(created),
        updated_ms=int(updated),
        completed_ms=int(completed) if isinstance(completed, int | float) else None,
        finish=str(data["finish"]) if isinstance(data.get("finish"), str) else None,
        error=error_name,
    )


def first_user_text(path: Path, session_id: str) -> str | None:
    """The text of the session's first user message (its text parts joined), ``None`` when there is none."""
    rows = _query(
        path,
        "SELECT part.data FROM part JOIN message ON part.message_id = message.id "
        "WHERE message.session_id = ? AND message.id = ("
        "  SELECT id FROM message WHERE session_id = ? AND json_extract(data, '$.role') = 'user' "
        "  ORDER BY time_created, id LIMIT 1"
        ") ORDER BY part.time_created, part.id",
        (session_id, session_id),
    )
    if not rows:
        return None
    texts = []
    for (raw,) in rows:
        data = _json(raw)
        if data.get("type") == "text" and isinstance(data.get("text"), str) and not data.get("synthetic"):
            texts.append(data["text"])
    text = "\n".join(texts).strip()
    return text or None


def last_part_update(path: Path, session_id: str) -> int | None:
    """When a part of the session last changed (ms since 1970): a running tool updates its part, not its message."""
    rows = _query(path, "SELECT MAX(time_updated) FROM part WHERE session_id = ?", (session_id,))
    value = rows[0][0] if rows else None
    return int(value) if isinstance(value, int | float) else None
