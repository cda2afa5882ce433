"""The state store: one SQLite database holding sessions, events, transitions and reaction bookkeeping.

The database is written concurrently by separate processes (the CLI, the daemon, agent hooks), so:

- it runs in WAL mode (readers never block the one writer), with ``synchronous=NORMAL`` and foreign keys on;
- a writer waits for the write lock (up to ``busy_timeout``, 10 s by default) instead of failing. The wait
  is a loop of short SQLite busy timeouts (2 ms) separated by sub-millisecond random pauses, not one long
  SQLite busy timeout: SQLite's own busy handler sleeps 100 ms between tries after the first 0.2 s, and
  under sustained contention a writer could then lose every try for seconds (measured: 8.4 s with four
  processes writing flat out, against 0.2 s with this loop). Polling every millisecond or two keeps the
  slowest write short;
- every write is one short transaction begun with ``BEGIN IMMEDIATE``, which takes the write lock before
  anything is read, so read-then-write operations (id reservation, metadata merges, counter increments)
  are atomic across processes and never hit a stale snapshot;
- every read is a single statement in autocommit mode (its own consistent snapshot).

Threads: a :class:`Store` may be shared by the threads of a process (for example anyio worker threads).
Each thread gets its own SQLite connection, opened on first use and kept until :meth:`Store.close`; SQLite
serializes the writers, and WAL lets readers in different threads run in parallel. Call :meth:`Store.close`
only when no other thread is still using the store. After a ``fork`` the child opens new connections.

The methods block (on disk I/O and on the write lock); async code calls them through
``anyio.to_thread.run_sync``.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import pydantic_core
from pydantic import ValidationError

from ao_core._store_codec import (
    EVENT_COLUMNS,
    SESSION_COLUMNS,
    dump_json,
    event_from_row,
    event_row,
    results_from_text,
    session_from_row,
    session_row,
    ts,
    ts_parse,
    ts_parse_or_none,
)
from ao_core._store_migrations import MIGRATIONS, SCHEMA_MIGRATIONS_DDL, Migration, validate_migrations
from ao_core.errors import SessionError, SessionNotFoundError, StoreError
from ao_core.models import (
    TERMINAL_STATUSES,
    ActivityState,
    NotifyResult,
    OrchestratorEvent,
    Session,
    SessionStatus,
    utc_now,
)
from ao_core.paths import database_path

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Migration", "ReactionState", "Store", "Transition"]

SCHEMA_VERSION: int = MIGRATIONS[-1].version
"""The schema version this ao writes."""

DEFAULT_BUSY_TIMEOUT: float = 10.0
"""Seconds a write waits for another process's write transaction before it fails."""

_BUSY_SLICE = 0.002
"""SQLite's own busy timeout per try, in seconds; the store retries until ``busy_timeout`` is spent."""
_BUSY_PAUSE = 0.001
"""Upper bound of the random pause between tries, in seconds (desynchronizes competing processes)."""

_T = TypeVar("_T")

_INHERITED_CONNECTIONS: list[sqlite3.Connection] = []
"""Connections a forked child inherited: never used, never closed (closing is a use), kept from the GC."""

_PREFIX_RE = re.compile(r"[A-Za-z0-9_-]+")
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26

_SESSION_SELECT = f"SELECT {', '.join(SESSION_COLUMNS)} FROM sessions"
_SESSION_INSERT = (
    f"INSERT INTO sessions ({', '.join(SESSION_COLUMNS)}) VALUES ({', '.join('?' * len(SESSION_COLUMNS))})"
)
_SESSION_UPSERT = (
    f"{_SESSION_INSERT} ON CONFLICT (id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in SESSION_COLUMNS[1:])}"
)
_TERMINAL_VALUES = tuple(sorted(s.value for s in TERMINAL_STATUSES))
_NOT_TERMINAL = (
    f"status NOT IN ({', '.join('?' * len(_TERMINAL_VALUES))}) "
    f"AND (activity IS NULL OR activity != '{ActivityState.EXITED.value}')"
)
_EVENT_SELECT = f"SELECT {', '.join(EVENT_COLUMNS)} FROM events"
_EVENT_INSERT = f"INSERT INTO events ({', '.join(EVENT_COLUMNS[:-1])}) VALUES ({', '.join('?' * 8)})"
_REACTION_SELECT = (
    "SELECT session_id, reaction_key, attempts, first_triggered_at, last_attempt_at, last_fingerprint, escalated_at "
    "FROM reactions"
)
_SESSION_FIELDS = frozenset(Session.model_fields)


@dataclass(frozen=True, slots=True)
class Transition:
    """One recorded change of a session's status, with the evidence for it.

    Attributes:
        session_id: The session that changed.
        old_status: The status before (``None`` for the first status a session got).
        new_status: The status after.
        evidence: Why the lifecycle manager decided so, for humans.
        at: When it was recorded (UTC).
    """

    session_id: str
    old_status: SessionStatus | None
    new_status: SessionStatus
    evidence: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ReactionState:
    """The persisted bookkeeping of one reaction of one session; it survives daemon restarts.

    Attributes:
        session_id: The session the reaction belongs to.
        reaction_key: The reaction's config key (``ci-failed``, ``changes-requested``...).
        attempts: How many times the reaction ran since it was last cleared.
        first_triggered_at: When it first ran (or was escalated) since it was last cleared: the start of
            ``escalateAfter`` durations.
        last_attempt_at: When it last ran (``None`` if it was escalated without running).
        last_fingerprint: What the last run sent (CI run id, review comment ids...), to never send the
            same content twice.
        escalated_at: When it was escalated to a human, ``None`` if it was not.
    """

    session_id: str
    reaction_key: str
    attempts: int
    first_triggered_at: datetime
    last_attempt_at: datetime | None
    last_fingerprint: str | None
    escalated_at: datetime | None

    @property
    def escalated(self) -> bool:
        """Whether the reaction has been escalated to a human."""
        return self.escalated_at is not None


def _reaction_from_row(row: Sequence[Any]) -> ReactionState:
    session_id, key, attempts, first, last, fingerprint, escalated = row
    return ReactionState(
        session_id=session_id,
        reaction_key=key,
        attempts=attempts,
        first_triggered_at=ts_parse(first),
        last_attempt_at=ts_parse_or_none(last),
        last_fingerprint=fingerprint,
        escalated_at=ts_parse_or_none(escalated),
    )


def _burn_session_number(conn: sqlite3.Connection, session_id: str) -> None:
    """Make sure ``reserve_session_id`` never hands out ``session_id`` (``{prefix}-{n}``) again."""
    prefix, sep, number = session_id.rpartition("-")
    if sep and prefix and number.isascii() and number.isdigit() and len(number) <= 18:  # fits SQLite's int64
        conn.execute(
            "INSERT INTO session_ids (prefix, last_number) VALUES (?, ?) "
            "ON CONFLICT (prefix) DO UPDATE SET last_number = max(last_number, excluded.last_number)",
            (prefix, int(number)),
        )


def _error_code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


class Store:
    """The SQLite state store of ao (see the module docstring for the concurrency model).

    Opening creates the database's directory and the database if needed and applies pending migrations.

    Args:
        path: The database file; ``ao_core.paths.database_path(state_dir)`` is the usual one.
        migrations: The schema migrations to apply (tests pass their own list; the default is the real one).
        busy_timeout: Seconds a write waits for other processes' write transactions before it fails.

    Raises:
        StoreError: The database cannot be opened, is damaged, cannot be upgraded, or was written by a
            newer ao.
    """

    def __init__(
        self,
        path: Path,
        *,
        migrations: Sequence[Migration] = MIGRATIONS,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    ) -> None:
        validate_migrations(migrations)
        self._path = Path(path)
        self._migrations = tuple(migrations)
        self._busy_timeout = busy_timeout
        self._lock = threading.Lock()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        self._closed = False
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the directory {self._path.parent} of the state database: {exc.strerror}; "
                "make it writable or set AO_STATE_DIR to a writable directory"
            ) from exc
        try:
            self._migrate(self._conn())
        except BaseException:
            self.close()
            raise

    @classmethod
    def open(cls, state_dir: Path) -> Store:
        """Open the store of a state directory (``<state_dir>/ao.db``).

        Args:
            state_dir: The state directory (``ao_core.paths.state_dir()``).

        Returns:
            The opened, migrated store.
        """
        return cls(database_path(state_dir))

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    def close(self) -> None:
        """Close every connection of this store; using it afterwards raises :class:`StoreError`."""
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ connections and transactions

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self._path,
                timeout=_BUSY_SLICE,
                isolation_level=None,  # autocommit: transactions are begun explicitly
                check_same_thread=False,  # only so that close() may run in another thread
            )
        except sqlite3.Error as exc:
            raise self._open_error(exc) from exc
        try:
            # journal_mode=WAL is persistent in the file; switching needs a lock, so only ask when it is not on.
            if self._retry_busy(lambda: conn.execute("PRAGMA journal_mode").fetchone()[0]) != "wal":
                mode = self._retry_busy(lambda: conn.execute("PRAGMA journal_mode=WAL").fetchone()[0])
                if mode != "wal":
                    raise StoreError(
                        f"the state database {self._path} cannot use write-ahead logging (journal mode "
                        f"stays '{mode}'); put the state directory on a local file system (AO_STATE_DIR)"
                    )
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as exc:
            conn.close()
            raise self._open_error(exc) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        pid = os.getpid()
        if pid != self._pid:
            # A forked child must not use its parent's connections, not even to close them (SQLite forbids
            # it): keep them referenced, unclosed, and open new ones.
            with self._lock:
                if pid != self._pid:
                    self._pid = pid
                    _INHERITED_CONNECTIONS.extend(self._connections)
                    self._connections = []
                    self._local = threading.local()
        local = self._local
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        if conn is not None and not self._closed:
            return conn
        if not self._closed:
            conn = self._connect()
            if self._register(conn):
                local.conn = conn
                return conn
            conn.close()  # closed by another thread meanwhile
        raise StoreError(f"the state store {self._path} is closed; open a new Store")

    def _register(self, conn: sqlite3.Connection) -> bool:
        with self._lock:
            if self._closed:
                return False
            self._connections.append(conn)
            return True

    def _retry_busy(self, attempt: Callable[[], _T]) -> _T:
        """Run ``attempt`` until it does not meet a busy database or ``busy_timeout`` is spent."""
        deadline = time.monotonic() + self._busy_timeout
        while True:
            try:
                return attempt()
            except sqlite3.OperationalError as exc:
                if _error_code(exc) != _SQLITE_BUSY or time.monotonic() >= deadline:
                    raise
            time.sleep(random.uniform(0, _BUSY_PAUSE))

    @contextlib.contextmanager
    def _write(self, action: str) -> Iterator[sqlite3.Connection]:
        """One write transaction: ``BEGIN IMMEDIATE`` (waits for the write lock), commit or roll back."""
        conn = self._conn()
        try:
            self._retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"))
        except sqlite3.Error as exc:
            raise self._error(action, exc) from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self._error(action, exc) from exc
            raise

    def _fetchall(self, action: str, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run one read statement (its own snapshot) and return its rows."""
        conn = self._conn()
        try:
            return self._retry_busy(lambda: conn.execute(sql, params).fetchall())
        except sqlite3.Error as exc:
            raise self._error(action, exc) from exc

    def _fetchone(self, action: str, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self._fetchall(action, sql, params)
        return rows[0] if rows else None

    def _error(self, action: str, exc: sqlite3.Error) -> StoreError:
        code = _error_code(exc)
        if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
            return StoreError(
                f"cannot {action}: the state database {self._path} stayed locked by another ao process for "
                f"more than {self._busy_timeout:g} s; retry, and if it persists look for a hung ao process"
            )
        if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
            return self._open_error(exc)
        return StoreError(f"cannot {action} in the state database {self._path}: {exc}")

    def _open_error(self, exc: sqlite3.Error) -> StoreError:
        if _error_code(exc) in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
            return StoreError(
                f"the state database {self._path} is damaged or is not an ao database ({exc}); move it aside "
                "(ao then starts with an empty one) or restore it from a backup"
            )
        return StoreError(
            f"cannot open the state database {self._path}: {exc}; check that it is a file this user can read "
            "and write, in a writable directory, or set AO_STATE_DIR to another directory"
        )

    # ------------------------------------------------------------------ migrations

    def _schema_version(self, conn: sqlite3.Connection) -> int:
        try:
            row = self._retry_busy(lambda: conn.execute("SELECT max(version) FROM schema_migrations").fetchone())
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return 0
            raise
        return int(row[0] or 0)

    def _newer_error(self, found: int) -> StoreError:
        return StoreError(
            f"the state database {self._path} has schema version {found}, but this ao only knows versions up "
            f"to {len(self._migrations)}: it was written by a newer ao; upgrade ao (pip install -U ao-core), "
            "or set AO_STATE_DIR to another directory"
        )

    def _migrate(self, conn: sqlite3.Connection) -> None:
        target = len(self._migrations)
        try:
            current = self._schema_version(conn)
        except sqlite3.Error as exc:
            raise self._open_error(exc) from exc
        if current == target:
            return
        if current > target:
            raise self._newer_error(current)
        applying: Migration | None = None
        try:
            self._retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"))
            try:
                conn.execute(SCHEMA_MIGRATIONS_DDL)
                current = self._schema_version(conn)  # again under the write lock: another process may have won
                if current > target:
                    raise self._newer_error(current)
                for applying in self._migrations[current:]:
                    for statement in applying.statements:
                        conn.execute(statement)
                    conn.execute(
                        "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                        (applying.version, ts(utc_now())),
                    )
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            if _error_code(exc) in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
                raise self._open_error(exc) from exc
            step = f" (migration {applying.version}: {applying.description})" if applying is not None else ""
            raise StoreError(
                f"cannot upgrade the state database {self._path} from schema version {current} to {target}"
                f"{step}: {exc}; the database was left unchanged"
            ) from exc

    # ------------------------------------------------------------------ sessions

    def reserve_session_id(self, project_id: str, prefix: str, *, at_least: int = 1) -> str:
        """Reserve the next session id ``{prefix}-{n}`` and insert a placeholder session for it.

        ``n`` is one more than the highest number ever used with ``prefix`` (by a reservation or by a
        stored session, including deleted ones), and at least ``at_least``. The placeholder has status
        ``spawning``; the caller fills it in with :meth:`save_session` or removes it with
        :meth:`delete_session`. Safe across processes: no two callers ever get the same id.

        Args:
            project_id: The project the session belongs to.
            prefix: The project's session prefix (letters, digits, ``-`` and ``_``).
            at_least: The lowest acceptable number, e.g. one above what remote ``session/{prefix}-N``
                branches already use.

        Returns:
            The reserved session id.

        Raises:
            SessionError: ``prefix`` is not a valid session id prefix.
        """
        if not _PREFIX_RE.fullmatch(prefix):
            raise SessionError(
                f"invalid session id prefix {prefix!r}: use only letters, digits, '-' and '_' (sessionPrefix)"
            )
        with self._write(f"reserve a session id with prefix '{prefix}'") as conn:
            # session_ids holds, per prefix, at least the number of every id ever stored (save_session keeps
            # it up to date for ids it did not hand out), so one indexed lookup suffices.
            row = conn.execute("SELECT last_number FROM session_ids WHERE prefix = ?", (prefix,)).fetchone()
            number = max(0 if row is None else int(row[0]), at_least - 1) + 1
            conn.execute(
                "INSERT INTO session_ids (prefix, last_number) VALUES (?, ?) "
                "ON CONFLICT (prefix) DO UPDATE SET last_number = excluded.last_number",
                (prefix, number),
            )
            now = utc_now()
            placeholder = Session(id=f"{prefix}-{number}", project_id=project_id, created_at=now)
            conn.execute(_SESSION_INSERT, session_row(placeholder, ts(now)))
        return placeholder.id

    def save_session(self, session: Session) -> None:
        """Insert or replace the whole session.

        Args:
            session: The session to store; every field is written.

        Raises:
            StoreError: A metadata value cannot be stored as JSON, or the write failed.
        """
        row = self._session_row(session)
        with self._write(f"save session '{session.id}'") as conn:
            _burn_session_number(conn, session.id)
            conn.execute(_SESSION_UPSERT, row)

    def get_session(self, session_id: str) -> Session | None:
        """The session with this id, or ``None``."""
        row = self._fetchone(f"read session '{session_id}'", f"{_SESSION_SELECT} WHERE id = ?", (session_id,))
        return None if row is None else session_from_row(row)

    def list_sessions(self, project_id: str | None = None, *, include_terminal: bool = True) -> list[Session]:
        """Sessions, oldest first.

        Args:
            project_id: Only this project's sessions; ``None`` for every project.
            include_terminal: Whether to include sessions that are over (see ``Session.is_terminal``).

        Returns:
            The sessions, ordered by creation time.
        """
        clauses: list[str] = []
        params: list[Any] = []
        if project_id is not None:
            clauses.append("project_id = ?")
            params.append(project_id)
        if not include_terminal:
            clauses.append(_NOT_TERMINAL)
            params.extend(_TERMINAL_VALUES)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._fetchall("list sessions", f"{_SESSION_SELECT}{where} ORDER BY created_at, id", params)
        return [session_from_row(row) for row in rows]

    def update_session(self, session_id: str, **fields: Any) -> Session:
        """Change some fields of a session atomically and return the updated session.

        Args:
            session_id: The session to change.
            **fields: ``Session`` fields and their new values, validated by the model.

        Returns:
            The session as stored after the update.

        Raises:
            SessionNotFoundError: No session has this id.
            StoreError: A field is unknown or a value is invalid.
        """
        unknown = sorted(set(fields) - _SESSION_FIELDS)
        if unknown:
            raise StoreError(
                f"cannot update session '{session_id}': unknown field(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(_SESSION_FIELDS - {'id'}))}"
            )
        if fields.get("id", session_id) != session_id:
            raise StoreError(f"cannot update session '{session_id}': its id cannot change")
        with self._write(f"update session '{session_id}'") as conn:
            row = conn.execute(f"{_SESSION_SELECT} WHERE id = ?", (session_id,)).fetchone()
            if row is None:
                raise SessionNotFoundError(session_id)
            try:
                updated = Session.model_validate({**session_from_row(row).model_dump(), **fields})
            except ValidationError as exc:
                raise StoreError(f"cannot update session '{session_id}': {exc}") from exc
            conn.execute(_SESSION_UPSERT, self._session_row(updated))
        return updated

    def set_metadata(self, session_id: str, key: str, value: Any) -> None:
        """Set (or, with ``None``, delete) one metadata key of a session, keeping the other keys.

        The read-merge-write is one transaction, so concurrent writers of different keys (agent hooks in
        other processes, the daemon) never lose each other's updates.

        Args:
            session_id: The session to change.
            key: The metadata key.
            value: Any JSON-serializable value (pydantic JSON mode: datetimes, enums and models work);
                ``None`` deletes the key.

        Raises:
            SessionNotFoundError: No session has this id.
            StoreError: ``value`` cannot be stored as JSON.
        """
        encoded: Any = None
        if value is not None:
            try:
                encoded = pydantic_core.to_jsonable_python(value)
            except (TypeError, ValueError) as exc:
                raise StoreError(
                    f"cannot set metadata '{key}' of session '{session_id}': the value is not JSON-serializable "
                    f"({type(value).__name__})"
                ) from exc
        with self._write(f"set metadata '{key}' of session '{session_id}'") as conn:
            row = conn.execute("SELECT metadata FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if row is None:
                raise SessionNotFoundError(session_id)
            metadata: dict[str, Any] = json.loads(row[0])
            if encoded is None:
                if key not in metadata:
                    return
                del metadata[key]
            else:
                metadata[key] = encoded
            conn.execute(
                "UPDATE sessions SET metadata = ?, updated_at = ? WHERE id = ?",
                (dump_json(metadata), ts(utc_now()), session_id),
            )

    def delete_session(self, session_id: str) -> None:
        """Delete a session with its transitions and reactions (its events stay, as history).

        Its id is never handed out again by :meth:`reserve_session_id`. Deleting a missing session does
        nothing.

        Args:
            session_id: The session to delete.
        """
        with self._write(f"delete session '{session_id}'") as conn:
            conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    def _session_row(self, session: Session) -> tuple[Any, ...]:
        try:
            return session_row(session, ts(utc_now()))
        except (TypeError, ValueError) as exc:
            raise StoreError(f"cannot store session '{session.id}': {exc}") from exc

    # ------------------------------------------------------------------ events and transitions

    def record_event(self, event: OrchestratorEvent) -> None:
        """Record an event (its delivery results come later, from :meth:`set_event_results`).

        Raises:
            StoreError: An event with this id is already recorded, or ``event.data`` is not JSON-serializable.
        """
        try:
            row = event_row(event)
        except (TypeError, ValueError) as exc:
            raise StoreError(f"cannot record event '{event.id}': {exc}") from exc
        with self._write(f"record event '{event.id}'") as conn:
            try:
                conn.execute(_EVENT_INSERT, row)
            except sqlite3.IntegrityError as exc:
                raise StoreError(f"event '{event.id}' is already recorded; give each event a new id") from exc

    def set_event_results(self, event_id: str, results: list[NotifyResult]) -> None:
        """Record the outcome of delivering an event to notifiers (replaces earlier results).

        Raises:
            StoreError: No event has this id.
        """
        with self._write(f"record delivery results of event '{event_id}'") as conn:
            changed = conn.execute(
                "UPDATE events SET results = ? WHERE id = ?", (dump_json(results), event_id)
            ).rowcount
        if not changed:
            raise StoreError(f"no event '{event_id}' in the state database {self._path}; record the event first")

    def list_events(
        self,
        *,
        session_id: str | None = None,
        project_id: str | None = None,
        limit: int = 100,
    ) -> list[tuple[OrchestratorEvent, list[NotifyResult]]]:
        """The newest events with their delivery results, oldest of them first (newest last).

        Args:
            session_id: Only this session's events.
            project_id: Only this project's events.
            limit: At most this many (the newest ones).

        Returns:
            ``(event, results)`` pairs ordered by event time; ``results`` is empty until recorded.
        """
        if limit <= 0:
            return []
        clauses: list[str] = []
        params: list[Any] = []
        if session_id is not None:
            clauses.append("session_id = ?")
            params.append(session_id)
        if project_id is not None:
            clauses.append("project_id = ?")
            params.append(project_id)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._fetchall(
            "list events", f"{_EVENT_SELECT}{where} ORDER BY created_at DESC, seq DESC LIMIT ?", [*params, limit]
        )
        rows.reverse()
        return [(event_from_row(row), results_from_text(row[-1])) for row in rows]

    def record_transition(
        self,
        session_id: str,
        old: SessionStatus | None,
        new: SessionStatus,
        evidence: str,
        at: datetime | None = None,
    ) -> None:
        """Record that a session's status changed, with the evidence for the decision.

        Raises:
            SessionNotFoundError: No session has this id.
        """
        when = ts(at if at is not None else utc_now())
        old_value = None if old is None else SessionStatus(old).value
        with self._write(f"record a transition of session '{session_id}'") as conn:
            self._require_session(conn, session_id)
            conn.execute(
                "INSERT INTO transitions (session_id, old_status, new_status, evidence, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (session_id, old_value, SessionStatus(new).value, evidence, when),
            )

    def list_transitions(self, session_id: str) -> list[Transition]:
        """A session's status transitions, oldest first."""
        rows = self._fetchall(
            f"list transitions of session '{session_id}'",
            "SELECT old_status, new_status, evidence, created_at FROM transitions WHERE session_id = ? "
            "ORDER BY created_at, seq",
            (session_id,),
        )
        return [
            Transition(
                session_id=session_id,
                old_status=None if old is None else SessionStatus(old),
                new_status=SessionStatus(new),
                evidence=evidence,
                at=ts_parse(created_at),
            )
            for old, new, evidence, created_at in rows
        ]

    @staticmethod
    def _require_session(conn: sqlite3.Connection, session_id: str) -> None:
        if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
            raise SessionNotFoundError(session_id)

    # ------------------------------------------------------------------ reactions

    def get_reaction(self, session_id: str, key: str) -> ReactionState | None:
        """The bookkeeping of reaction ``key`` of a session, ``None`` if it has not run since last cleared."""
        row = self._fetchone(
            f"read reaction '{key}' of session '{session_id}'",
            f"{_REACTION_SELECT} WHERE session_id = ? AND reaction_key = ?",
            (session_id, key),
        )
        return None if row is None else _reaction_from_row(row)

    def record_reaction_attempt(
        self,
        session_id: str,
        key: str,
        *,
        fingerprint: str | None,
        at: datetime | None = None,
    ) -> ReactionState:
        """Count one run of a reaction, atomically, and return the new state.

        The first attempt sets ``first_triggered_at``; every attempt sets ``last_attempt_at`` and
        ``last_fingerprint`` (to ``fingerprint``, even when it is ``None``).

        Args:
            session_id: The session.
            key: The reaction key.
            fingerprint: What this run sends (CI run id, sorted review comment ids), or ``None``.
            at: When it ran (default: now).

        Returns:
            The state after counting this attempt.

        Raises:
            SessionNotFoundError: No session has this id.
        """
        when = ts(at if at is not None else utc_now())
        with self._write(f"record an attempt of reaction '{key}' of session '{session_id}'") as conn:
            self._require_session(conn, session_id)
            conn.execute(
                "INSERT INTO reactions (session_id, reaction_key, attempts, first_triggered_at, last_attempt_at, "
                "last_fingerprint) VALUES (?, ?, 1, ?, ?, ?) "
                "ON CONFLICT (session_id, reaction_key) DO UPDATE SET attempts = attempts + 1, "
                "last_attempt_at = excluded.last_attempt_at, last_fingerprint = excluded.last_fingerprint",
                (session_id, key, when, when, fingerprint),
            )
            row = conn.execute(
                f"{_REACTION_SELECT} WHERE session_id = ? AND reaction_key = ?", (session_id, key)
            ).fetchone()
        return _reaction_from_row(row)

    def mark_reaction_escalated(self, session_id: str, key: str, at: datetime | None = None) -> None:
        """Record that a reaction was escalated to a human (the first escalation time is kept).

        Raises:
            SessionNotFoundError: No session has this id.
        """
        when = ts(at if at is not None else utc_now())
        with self._write(f"mark reaction '{key}' of session '{session_id}' escalated") as conn:
            self._require_session(conn, session_id)
            conn.execute(
                "INSERT INTO reactions (session_id, reaction_key, attempts, first_triggered_at, escalated_at) "
                "VALUES (?, ?, 0, ?, ?) ON CONFLICT (session_id, reaction_key) "
                "DO UPDATE SET escalated_at = coalesce(escalated_at, excluded.escalated_at)",
                (session_id, key, when, when),
            )

    def clear_reaction(self, session_id: str, key: str) -> None:
        """Forget a reaction's bookkeeping (its retries start over); clearing a missing one does nothing."""
        with self._write(f"clear reaction '{key}' of session '{session_id}'") as conn:
            conn.execute("DELETE FROM reactions WHERE session_id = ? AND reaction_key = ?", (session_id, key))

    def list_reactions(self, session_id: str) -> list[ReactionState]:
        """Every reaction's bookkeeping for a session, ordered by reaction key."""
        rows = self._fetchall(
            f"list reactions of session '{session_id}'",
            f"{_REACTION_SELECT} WHERE session_id = ? ORDER BY reaction_key",
            (session_id,),
        )
        return [_reaction_from_row(row) for row in rows]
