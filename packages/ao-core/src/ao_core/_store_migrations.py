"""The numbered schema migrations of the state database, as SQL text.

Migration ``n`` turns a database at schema version ``n - 1`` into version ``n``. A migration is never
edited once released: a schema change is a new migration appended to :data:`MIGRATIONS`. Each runs inside
the one ``BEGIN IMMEDIATE`` transaction that applies all pending migrations, so it must not contain
``BEGIN``/``COMMIT`` (SQLite DDL is transactional: a failing migration leaves the database untouched).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["MIGRATIONS", "SCHEMA_MIGRATIONS_DDL", "Migration", "split_statements", "validate_migrations"]


@dataclass(frozen=True)
class Migration:
    """One schema change: the version it produces and the SQL statements that produce it."""

    version: int
    description: str
    sql: str

    @property
    def statements(self) -> list[str]:
        """The migration's SQL split into single statements."""
        return split_statements(self.sql)


SCHEMA_MIGRATIONS_DDL = """\
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    applied_at TEXT NOT NULL
)"""
"""The bookkeeping table itself: created before migration 1 so that every migration is recorded in it."""

_V1_INITIAL = """
-- One row per session. Columns mirror ao_core.models.Session; *_json columns hold pydantic's JSON dump.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    status TEXT NOT NULL,
    activity TEXT,
    branch TEXT,
    issue_id TEXT,
    pr TEXT,
    workspace_path TEXT,
    runtime_handle TEXT,
    agent TEXT,
    agent_info TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_activity_at TEXT,
    restored_at TEXT,
    status_evidence TEXT,
    metadata TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX sessions_project_id ON sessions (project_id);
CREATE INDEX sessions_status ON sessions (status);

-- Per session id prefix, the highest number ever handed out or stored ({prefix}-{n}): ids are never reused,
-- even after a delete. A migration that inserts sessions must raise it too.
CREATE TABLE session_ids (
    prefix TEXT PRIMARY KEY,
    last_number INTEGER NOT NULL
) WITHOUT ROWID;

-- Every event, kept after its session is deleted (history). seq orders events recorded in the same microsecond.
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    session_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    type TEXT NOT NULL,
    priority TEXT NOT NULL,
    message TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    results TEXT
);
CREATE INDEX events_created_at ON events (created_at, seq);
CREATE INDEX events_session_id ON events (session_id, created_at, seq);
CREATE INDEX events_project_id ON events (project_id, created_at, seq);

CREATE TABLE transitions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    old_status TEXT,
    new_status TEXT NOT NULL,
    evidence TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX transitions_session_id ON transitions (session_id, created_at, seq);

-- Reaction bookkeeping that must survive a daemon restart (retry counters, escalation timers, fingerprints).
CREATE TABLE reactions (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    reaction_key TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    first_triggered_at TEXT NOT NULL,
    last_attempt_at TEXT,
    last_fingerprint TEXT,
    escalated_at TEXT,
    PRIMARY KEY (session_id, reaction_key)
) WITHOUT ROWID;
"""

MIGRATIONS: tuple[Migration, ...] = (Migration(1, "initial schema", _V1_INITIAL),)
"""Every migration, in order; ``MIGRATIONS[-1].version`` is the schema version this ao writes."""


def split_statements(sql: str) -> list[str]:
    """Split SQL text into complete statements (semicolons inside literals or triggers stay put).

    ``executescript`` cannot be used: it commits the open transaction before it runs.
    """
    statements: list[str] = []
    pending = ""
    for line in sql.splitlines(keepends=True):
        if not pending and (not line.strip() or line.lstrip().startswith("--")):
            continue
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip():
        statements.append(pending.strip())
    return statements


def validate_migrations(migrations: Sequence[Migration]) -> None:
    """Check that migration versions run 1, 2, 3... without gaps; raise ``ValueError`` otherwise."""
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise ValueError(f"migration versions must be 1..{len(versions)} in order, got {versions}")
