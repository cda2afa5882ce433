from __future__ import annotations

import os
import sqlite3
import statistics
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from ao_core.errors import SessionError, SessionNotFoundError, StoreError
from ao_core.models import (
    ActivityState,
    AgentSessionInfo,
    CostEstimate,
    EventPriority,
    EventType,
    NotifyResult,
    OrchestratorEvent,
    PRInfo,
    RuntimeHandle,
    Session,
    SessionStatus,
)
from ao_core.paths import database_path
from ao_core.store import MIGRATIONS, SCHEMA_VERSION, Migration, ReactionState, Store, Transition

T0 = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "nested" / "ao.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    with Store(db_path) as opened:
        yield opened


def full_session(session_id: str = "app-1", project_id: str = "app", **overrides: object) -> Session:
    session = Session(
        id=session_id,
        project_id=project_id,
        status=SessionStatus.CI_FAILED,
        activity=ActivityState.READY,
        branch="feat/issue-42",
        issue_id="42",
        pr=PRInfo(
            number=7,
            url="https://github.com/o/r/pull/7",
            title="Fix the thing",
            owner="o",
            repo="r",
            branch="feat/issue-42",
            is_draft=True,
        ),
        workspace_path="/tmp/ws/app-1",
        runtime_handle=RuntimeHandle(id="app-1", runtime_name="tmux", data={"socket": "ao", "pid": 4242}),
        agent="claude-code",
        agent_info=AgentSessionInfo(
            summary="Fixing CI",
            agent_session_id="abc",
            cost=CostEstimate(input_tokens=1200, output_tokens=340, estimated_cost_usd=0.1234567, cache_read_tokens=9),
        ),
        created_at=T0,
        last_activity_at=T0 + timedelta(minutes=5),
        restored_at=T0 + timedelta(hours=1),
        status_evidence="check 'lint' failed",
        metadata={"prAutoDetect": False, "nested": {"list": [1, 2.5, "x", None]}, "unicode": "héllo ✓"},
    )
    return session.model_copy(update=overrides)


def raw(db_path: Path) -> sqlite3.Connection:
    """A plain connection, as another program would open the file."""
    return sqlite3.connect(db_path, isolation_level=None)


# ------------------------------------------------------------------ opening


def test_open_creates_parent_dirs_in_wal_mode(db_path: Path) -> None:
    with Store(db_path) as store:
        assert store.path == db_path
    assert db_path.is_file()
    conn = raw(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    versions = conn.execute("SELECT version, applied_at FROM schema_migrations").fetchall()
    conn.close()
    assert [v for v, _ in versions] == [m.version for m in MIGRATIONS]
    assert versions[-1][0] == SCHEMA_VERSION
    assert datetime.fromisoformat(versions[0][1]).tzinfo is not None


def test_store_open_uses_the_state_dirs_database(tmp_path: Path) -> None:
    with Store.open(tmp_path / "state") as store:
        assert store.path == database_path(tmp_path / "state")
    assert (tmp_path / "state" / "ao.db").is_file()


def test_connection_settings(store: Store) -> None:
    conn = store._conn()  # the settings are per connection, so look at one
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_write_waits_for_another_processs_write_transaction(store: Store, db_path: Path) -> None:
    other = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO session_ids VALUES ('held', 1)")
    committed = threading.Event()

    def commit_later() -> None:
        time.sleep(0.3)  # hold the write lock while the store tries to write
        committed.set()
        other.execute("COMMIT")

    holder = threading.Thread(target=commit_later)
    holder.start()
    assert store.get_session("app-1") is None  # readers are not blocked by the writer (WAL)
    store.save_session(full_session())
    assert committed.is_set()
    holder.join()
    other.close()
    assert store.get_session("app-1") == full_session()
    assert store.reserve_session_id("app", "held") == "held-2"


def test_write_gives_up_after_the_busy_timeout(db_path: Path) -> None:
    Store(db_path).close()
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with Store(db_path, busy_timeout=0.2) as store, pytest.raises(StoreError) as info:
            store.save_session(full_session())
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert "stayed locked by another ao process for more than 0.2 s" in str(info.value)
    assert str(db_path) in str(info.value)
    assert isinstance(info.value.__cause__, sqlite3.OperationalError)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_uses_its_own_connection(store: Store) -> None:
    assert store.reserve_session_id("app", "app") == "app-1"  # the parent's connection exists and was used
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report what it reserved, never return into pytest
        code = 1
        try:
            os.write(write_end, store.reserve_session_id("app", "app").encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    child_got = os.read(read_end, 100).decode()
    os.close(read_end)
    assert os.waitstatus_to_exitcode(status) == 0
    assert child_got == "app-2"
    assert store.reserve_session_id("app", "app") == "app-3"


def test_reopening_keeps_data_and_does_not_migrate_again(db_path: Path) -> None:
    with Store(db_path) as store:
        store.save_session(full_session())
    with Store(db_path) as store:
        assert store.get_session("app-1") == full_session()
    conn = raw(db_path)
    assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == len(MIGRATIONS)
    conn.close()


def test_use_after_close_raises(db_path: Path) -> None:
    store = Store(db_path)
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.get_session("app-1")


def test_corrupt_database_raises_store_error_naming_path(tmp_path: Path) -> None:
    path = tmp_path / "ao.db"
    path.write_bytes(b"this is not a database, it is just some text" * 100)
    with pytest.raises(StoreError) as info:
        Store(path)
    assert str(path) in str(info.value)
    assert "move it aside" in str(info.value)


def test_unopenable_path_raises_store_error(tmp_path: Path) -> None:
    directory = tmp_path / "ao.db"
    directory.mkdir()
    with pytest.raises(StoreError) as info:
        Store(directory)
    assert str(directory) in str(info.value)
    assert "AO_STATE_DIR" in str(info.value)


def test_uncreatable_parent_directory_raises_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where the state directory should be")
    with pytest.raises(StoreError, match="cannot create the directory"):
        Store(blocker / "ao.db")


# ------------------------------------------------------------------ migrations


def test_database_from_a_newer_ao_is_refused(db_path: Path) -> None:
    Store(db_path).close()
    conn = raw(db_path)
    conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (SCHEMA_VERSION + 1, T0.isoformat()))
    conn.close()
    with pytest.raises(StoreError) as info:
        Store(db_path)
    message = str(info.value)
    assert str(db_path) in message
    assert f"schema version {SCHEMA_VERSION + 1}" in message
    assert "upgrade ao" in message


V2_ADD_NOTES = Migration(
    2,
    "notes on sessions",
    """
    -- a comment; with a semicolon
    ALTER TABLE sessions ADD COLUMN note TEXT DEFAULT 'none;yet';
    CREATE TABLE notes (session_id TEXT NOT NULL, body TEXT NOT NULL);
    INSERT INTO notes SELECT id, 'migrated' FROM sessions;
    """,
)


def test_older_database_is_upgraded_on_open(db_path: Path) -> None:
    with Store(db_path, migrations=MIGRATIONS[:1]) as store:
        store.save_session(full_session())
    with Store(db_path, migrations=[*MIGRATIONS[:1], V2_ADD_NOTES]) as store:
        assert store.get_session("app-1") == full_session()
    conn = raw(db_path)
    assert [v for (v,) in conn.execute("SELECT version FROM schema_migrations ORDER BY version")] == [1, 2]
    assert conn.execute("SELECT note FROM sessions").fetchall() == [("none;yet",)]
    assert conn.execute("SELECT session_id, body FROM notes").fetchall() == [("app-1", "migrated")]
    conn.close()
    # ...and an ao that only knows version 1 now refuses it
    with pytest.raises(StoreError, match="newer ao"):
        Store(db_path, migrations=MIGRATIONS[:1])


def test_failing_migration_leaves_database_unchanged(db_path: Path) -> None:
    Store(db_path, migrations=MIGRATIONS[:1]).close()
    broken = Migration(2, "broken", "CREATE TABLE half_done (x INTEGER);\nINSERT INTO no_such_table VALUES (1);")
    with pytest.raises(StoreError) as info:
        Store(db_path, migrations=[*MIGRATIONS[:1], broken])
    assert "migration 2: broken" in str(info.value)
    conn = raw(db_path)
    assert conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'").fetchone()[0] == 0
    conn.close()
    with Store(db_path, migrations=MIGRATIONS[:1]) as store:
        assert store.list_sessions() == []


def test_migration_versions_must_be_consecutive(db_path: Path) -> None:
    with pytest.raises(ValueError, match="migration versions"):
        Store(db_path, migrations=[MIGRATIONS[0], Migration(3, "gap", "SELECT 1;")])


# ------------------------------------------------------------------ sessions


def test_session_round_trip_every_field(store: Store) -> None:
    session = full_session()
    store.save_session(session)
    assert store.get_session("app-1") == session


def test_minimal_session_round_trip(store: Store) -> None:
    session = Session(id="app-2", project_id="app")
    store.save_session(session)
    assert store.get_session("app-2") == session


def test_get_missing_session_is_none(store: Store) -> None:
    assert store.get_session("nope-1") is None


def test_datetimes_are_stored_as_utc_text(store: Store, db_path: Path) -> None:
    plus_two = timezone(timedelta(hours=2))
    session = Session(id="app-3", project_id="app", created_at=datetime(2025, 1, 1, 14, 0, tzinfo=plus_two))
    store.save_session(session)
    assert store.get_session("app-3") == session
    conn = raw(db_path)
    (text,) = conn.execute("SELECT created_at FROM sessions WHERE id = 'app-3'").fetchone()
    conn.close()
    assert text == "2025-01-01T12:00:00.000000+00:00"


def test_save_session_replaces_the_whole_session(store: Store) -> None:
    store.save_session(full_session())
    changed = full_session(status=SessionStatus.MERGED, pr=None, metadata={"only": "this"}, activity=None)
    store.save_session(changed)
    assert store.get_session("app-1") == changed
    assert len(store.list_sessions()) == 1


def test_list_sessions_filters_by_project_and_terminal(store: Store) -> None:
    sessions = [
        Session(id="a-1", project_id="a", created_at=T0 + timedelta(seconds=3)),
        Session(id="a-2", project_id="a", status=SessionStatus.MERGED, created_at=T0 + timedelta(seconds=1)),
        Session(id="a-3", project_id="a", activity=ActivityState.EXITED, created_at=T0 + timedelta(seconds=2)),
        Session(id="b-1", project_id="b", status=SessionStatus.WORKING, created_at=T0),
        Session(id="b-2", project_id="b", status=SessionStatus.KILLED, created_at=T0 + timedelta(seconds=4)),
    ]
    for session in sessions:
        store.save_session(session)
    assert [s.id for s in store.list_sessions()] == ["b-1", "a-2", "a-3", "a-1", "b-2"]
    assert [s.id for s in store.list_sessions("a")] == ["a-2", "a-3", "a-1"]
    assert [s.id for s in store.list_sessions(include_terminal=False)] == ["b-1", "a-1"]
    assert [s.id for s in store.list_sessions("b", include_terminal=False)] == ["b-1"]
    assert [s.id for s in store.list_sessions("c")] == []
    assert {s.id for s in store.list_sessions(include_terminal=False)} == {s.id for s in sessions if not s.is_terminal}


def test_update_session_changes_only_the_given_fields(store: Store) -> None:
    store.save_session(full_session())
    handle = RuntimeHandle(id="other", runtime_name="process")
    updated = store.update_session("app-1", status=SessionStatus.WORKING, runtime_handle=handle, branch=None)
    expected = full_session(status=SessionStatus.WORKING, runtime_handle=handle, branch=None)
    assert updated == expected
    assert store.get_session("app-1") == expected


def test_update_session_validates_through_the_model(store: Store) -> None:
    store.save_session(full_session())
    updated = store.update_session(
        "app-1", status="merged", pr={"number": 8, "url": "u", "owner": "o", "repo": "r", "branch": "b"}
    )
    assert updated.status is SessionStatus.MERGED
    assert updated.pr == PRInfo(number=8, url="u", owner="o", repo="r", branch="b")
    with pytest.raises(StoreError, match="app-1"):
        store.update_session("app-1", status="not-a-status")
    with pytest.raises(StoreError, match="unknown field"):
        store.update_session("app-1", colour="blue")
    with pytest.raises(StoreError, match="id cannot change"):
        store.update_session("app-1", id="app-99")
    assert store.get_session("app-1") == updated


def test_update_missing_session_raises(store: Store) -> None:
    with pytest.raises(SessionNotFoundError):
        store.update_session("nope-1", status=SessionStatus.WORKING)


# ------------------------------------------------------------------ session ids


def test_reserve_session_id_increments_per_prefix(store: Store) -> None:
    assert [store.reserve_session_id("app", "app") for _ in range(3)] == ["app-1", "app-2", "app-3"]
    assert store.reserve_session_id("other", "ot") == "ot-1"
    assert store.reserve_session_id("app", "app") == "app-4"
    placeholder = store.get_session("app-2")
    assert placeholder is not None
    assert placeholder.project_id == "app"
    assert placeholder.status is SessionStatus.SPAWNING


def test_session_ids_are_never_reused_after_delete(db_path: Path) -> None:
    with Store(db_path) as store:
        ids = [store.reserve_session_id("app", "app") for _ in range(3)]
        store.delete_session("app-3")
        assert store.reserve_session_id("app", "app") == "app-4"
        for session_id in [*ids, "app-4"]:
            store.delete_session(session_id)
        assert store.list_sessions() == []
    with Store(db_path) as store:
        assert store.reserve_session_id("app", "app") == "app-5"


def test_reserve_counts_sessions_saved_without_a_reservation(store: Store) -> None:
    store.save_session(Session(id="app-7", project_id="app"))
    store.save_session(Session(id="app-orchestrator", project_id="app"))
    store.save_session(Session(id="app-x-40", project_id="app"))  # prefix "app-x", not "app"
    store.save_session(Session(id="appx-50", project_id="app"))
    store.save_session(Session(id="app-123456789012345678901234567890", project_id="app"))  # beyond int64: ignored
    assert store.reserve_session_id("app", "app") == "app-8"
    store.save_session(Session(id="app-12", project_id="app"))
    store.delete_session("app-12")  # never reserved, but its number is burned when deleted
    assert store.reserve_session_id("app", "app") == "app-13"
    assert store.reserve_session_id("app", "app-x") == "app-x-41"


def test_reserve_with_a_lower_bound(store: Store) -> None:
    assert store.reserve_session_id("app", "app", at_least=10) == "app-10"
    assert store.reserve_session_id("app", "app", at_least=3) == "app-11"


@pytest.mark.parametrize("prefix", ["", "a b", "../etc", "a/b", "ü"])
def test_reserve_rejects_an_invalid_prefix(store: Store, prefix: str) -> None:
    with pytest.raises(SessionError, match="invalid session id prefix"):
        store.reserve_session_id("app", prefix)


def test_delete_session_removes_its_transitions_and_reactions_but_keeps_events(store: Store) -> None:
    session_id = store.reserve_session_id("app", "app")
    store.record_transition(session_id, None, SessionStatus.SPAWNING, "spawned")
    store.record_reaction_attempt(session_id, "ci-failed", fingerprint="run-1")
    event = OrchestratorEvent(
        type=EventType.SESSION_ERRORED,
        priority=EventPriority.URGENT,
        session_id=session_id,
        project_id="app",
        message="x",
    )
    store.record_event(event)
    store.delete_session(session_id)
    assert store.get_session(session_id) is None
    assert store.list_transitions(session_id) == []
    assert store.list_reactions(session_id) == []
    assert [e for e, _ in store.list_events(session_id=session_id)] == [event]


def test_delete_missing_session_does_nothing(store: Store) -> None:
    store.delete_session("app-99")
    assert store.reserve_session_id("app", "app") == "app-1"


# ------------------------------------------------------------------ metadata


def test_set_metadata_merges_one_key(db_path: Path, store: Store) -> None:
    store.save_session(full_session())
    store.set_metadata("app-1", "pr", "https://github.com/o/r/pull/7")
    store.set_metadata("app-1", "seenAt", T0)
    store.set_metadata("app-1", "status", SessionStatus.PR_OPEN)
    store.set_metadata("app-1", "prAutoDetect", None)  # deletes
    store.set_metadata("app-1", "absent", None)  # deleting a missing key is fine
    # another Store on the same file (as an agent hook in another process) sees it and merges into it
    with Store(db_path) as other:
        other.set_metadata("app-1", "fromHook", {"n": 1})
    session = store.get_session("app-1")
    assert session is not None
    assert session.metadata == {
        "nested": {"list": [1, 2.5, "x", None]},
        "unicode": "héllo ✓",
        "pr": "https://github.com/o/r/pull/7",
        "seenAt": "2025-03-01T12:00:00.123456Z",
        "status": "pr_open",
        "fromHook": {"n": 1},
    }
    assert session.model_copy(update={"metadata": full_session().metadata}) == full_session()


def test_set_metadata_errors(store: Store) -> None:
    with pytest.raises(SessionNotFoundError):
        store.set_metadata("nope-1", "k", "v")
    store.save_session(full_session())
    with pytest.raises(StoreError, match="not JSON-serializable"):
        store.set_metadata("app-1", "k", object())


# ------------------------------------------------------------------ events


def make_event(n: int, session_id: str = "app-1", project_id: str = "app", **overrides: object) -> OrchestratorEvent:
    event = OrchestratorEvent(
        type=EventType.CI_FAILING,
        priority=EventPriority.WARNING,
        session_id=session_id,
        project_id=project_id,
        timestamp=T0 + timedelta(seconds=n),
        message=f"event {n}",
        data={"n": n, "checks": ["lint", "test"], "nested": {"ok": False}},
    )
    return event.model_copy(update=overrides)


def test_event_round_trip_with_results(store: Store) -> None:
    event = make_event(1)
    store.record_event(event)
    assert store.list_events() == [(event, [])]
    results = [
        NotifyResult(notifier="desktop", ok=True, duration_ms=12),
        NotifyResult(notifier="slack", ok=False, error="channel_not_found", duration_ms=340),
    ]
    store.set_event_results(event.id, results)
    assert store.list_events() == [(event, results)]
    store.set_event_results(event.id, results[:1])
    assert store.list_events() == [(event, results[:1])]


def test_list_events_filters_and_returns_the_newest_last(store: Store) -> None:
    events = [make_event(n, session_id=f"app-{n % 2}", project_id="app" if n < 8 else "other") for n in range(10)]
    for event in reversed(events):  # recorded out of time order
        store.record_event(event)
    assert [e for e, _ in store.list_events()] == events
    assert [e for e, _ in store.list_events(limit=3)] == events[-3:]
    assert [e for e, _ in store.list_events(session_id="app-1")] == events[1::2]
    assert [e for e, _ in store.list_events(project_id="other")] == events[8:]
    assert [e for e, _ in store.list_events(session_id="app-0", project_id="app", limit=2)] == [events[4], events[6]]
    assert store.list_events(limit=0) == []


def test_events_with_the_same_time_keep_recording_order(store: Store) -> None:
    events = [make_event(0, message=f"same time {i}") for i in range(5)]
    for event in events:
        store.record_event(event)
    assert [e for e, _ in store.list_events()] == events


def test_recording_an_event_twice_raises(store: Store) -> None:
    event = make_event(1)
    store.record_event(event)
    with pytest.raises(StoreError, match="already recorded"):
        store.record_event(event)


def test_results_of_an_unknown_event_raise(store: Store) -> None:
    with pytest.raises(StoreError, match="no event 'missing'"):
        store.set_event_results("missing", [])


# ------------------------------------------------------------------ transitions


def test_transitions_round_trip_in_order(store: Store) -> None:
    store.save_session(full_session())
    store.record_transition("app-1", None, SessionStatus.SPAWNING, "spawned", at=T0)
    store.record_transition("app-1", SessionStatus.SPAWNING, SessionStatus.WORKING, "agent active", at=T0)
    store.record_transition("app-1", SessionStatus.WORKING, SessionStatus.PR_OPEN, "PR #7 found")
    transitions = store.list_transitions("app-1")
    assert transitions[:2] == [
        Transition("app-1", None, SessionStatus.SPAWNING, "spawned", T0),
        Transition("app-1", SessionStatus.SPAWNING, SessionStatus.WORKING, "agent active", T0),
    ]
    last = transitions[2]
    assert (last.old_status, last.new_status, last.evidence) == (
        SessionStatus.WORKING,
        SessionStatus.PR_OPEN,
        "PR #7 found",
    )
    assert abs(datetime.now(UTC) - last.at) < timedelta(minutes=1)
    assert store.list_transitions("other-1") == []


def test_transition_of_a_missing_session_raises(store: Store) -> None:
    with pytest.raises(SessionNotFoundError):
        store.record_transition("nope-1", None, SessionStatus.WORKING, "x")


# ------------------------------------------------------------------ reactions


def test_reaction_attempts_increment(store: Store) -> None:
    store.save_session(full_session())
    assert store.get_reaction("app-1", "ci-failed") is None
    first = store.record_reaction_attempt("app-1", "ci-failed", fingerprint="run-1", at=T0)
    assert first == ReactionState("app-1", "ci-failed", 1, T0, T0, "run-1", None)
    assert not first.escalated
    later = T0 + timedelta(minutes=3)
    second = store.record_reaction_attempt("app-1", "ci-failed", fingerprint="run-2", at=later)
    assert second == ReactionState("app-1", "ci-failed", 2, T0, later, "run-2", None)
    third = store.record_reaction_attempt("app-1", "ci-failed", fingerprint=None)
    assert (third.attempts, third.first_triggered_at, third.last_fingerprint) == (3, T0, None)
    assert store.get_reaction("app-1", "ci-failed") == third


def test_reaction_state_survives_reopening(db_path: Path) -> None:
    escalated_at = T0 + timedelta(minutes=30)
    with Store(db_path) as store:
        store.save_session(full_session())
        store.record_reaction_attempt("app-1", "ci-failed", fingerprint="run-1", at=T0)
        store.record_reaction_attempt("app-1", "ci-failed", fingerprint="run-2", at=T0 + timedelta(minutes=10))
        store.record_reaction_attempt("app-1", "changes-requested", fingerprint="c1,c2", at=T0)
        store.mark_reaction_escalated("app-1", "ci-failed", at=escalated_at)
        before = store.list_reactions("app-1")
    with Store(db_path) as store:
        assert store.list_reactions("app-1") == before
        state = store.get_reaction("app-1", "ci-failed")
        assert state == ReactionState("app-1", "ci-failed", 2, T0, T0 + timedelta(minutes=10), "run-2", escalated_at)
        assert state.escalated
        assert store.record_reaction_attempt("app-1", "ci-failed", fingerprint="run-3").attempts == 3


def test_escalation_keeps_the_first_time_and_works_without_attempts(store: Store) -> None:
    store.save_session(full_session())
    store.mark_reaction_escalated("app-1", "agent-stuck", at=T0)
    store.mark_reaction_escalated("app-1", "agent-stuck", at=T0 + timedelta(hours=1))
    assert store.get_reaction("app-1", "agent-stuck") == ReactionState("app-1", "agent-stuck", 0, T0, None, None, T0)


def test_clear_reaction_starts_over(store: Store) -> None:
    store.save_session(full_session())
    store.record_reaction_attempt("app-1", "ci-failed", fingerprint="a", at=T0)
    store.record_reaction_attempt("app-1", "agent-stuck", fingerprint=None, at=T0)
    store.clear_reaction("app-1", "ci-failed")
    store.clear_reaction("app-1", "never-ran")
    assert store.get_reaction("app-1", "ci-failed") is None
    assert [r.reaction_key for r in store.list_reactions("app-1")] == ["agent-stuck"]
    later = T0 + timedelta(days=1)
    again = store.record_reaction_attempt("app-1", "ci-failed", fingerprint="b", at=later)
    assert (again.attempts, again.first_triggered_at) == (1, later)


def test_reaction_of_a_missing_session_raises(store: Store) -> None:
    with pytest.raises(SessionNotFoundError):
        store.record_reaction_attempt("nope-1", "ci-failed", fingerprint=None)
    with pytest.raises(SessionNotFoundError):
        store.mark_reaction_escalated("nope-1", "ci-failed")


# ------------------------------------------------------------------ performance (measured, not asserted)


def test_open_and_list_200_sessions(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Store(db_path) as store:
        sessions = []
        for n in range(200):
            session = full_session(store.reserve_session_id("app", "app"), created_at=T0 + timedelta(seconds=n))
            store.save_session(session)
            sessions.append(session)
    opens: list[float] = []
    for _ in range(20):
        started = time.perf_counter()
        store = Store(db_path)
        opens.append(time.perf_counter() - started)
        store.close()
    with Store(db_path) as store:
        lists: list[float] = []
        for _ in range(20):
            started = time.perf_counter()
            listed = store.list_sessions()
            lists.append(time.perf_counter() - started)
        assert listed == sessions
    with capsys.disabled():
        print(
            f"\n[store] open+migration check: median {statistics.median(opens) * 1e3:.2f} ms, "
            f"max {max(opens) * 1e3:.2f} ms; list_sessions() of 200: median {statistics.median(lists) * 1e3:.2f} ms, "
            f"max {max(lists) * 1e3:.2f} ms"
        )
