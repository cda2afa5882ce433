"""Several processes (and threads) writing one state database at once, as the CLI, daemon and hooks do."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from ao_core.models import EventPriority, EventType, OrchestratorEvent, Session
from ao_core.store import MIGRATIONS, Store

PROJECT = "proj"
PREFIX = "race"
SHARED = "shared-1"
REACTION = "ci-failed"

# Runs in each worker process: open the store, say "ready", wait for "go", then hammer the store for the
# given number of seconds, and print what it got as JSON. Any exception is reported, not swallowed.
WORKER = r"""
import json, sys, time
from pathlib import Path

from ao_core.models import EventPriority, EventType, OrchestratorEvent
from ao_core.store import Store

db, name, duration = sys.argv[1], sys.argv[2], float(sys.argv[3])
store = Store(Path(db))
print("ready", flush=True)
sys.stdin.readline()
ids, events, errors = [], [], []
attempts, last_meta, slowest, iteration = 0, None, 0.0, 0
deadline = time.monotonic() + duration
while time.monotonic() < deadline:
    iteration += 1
    started = time.perf_counter()
    try:
        session_id = store.reserve_session_id("proj", "race")
        ids.append(session_id)
        event = OrchestratorEvent(
            type=EventType.SESSION_SPAWNED, priority=EventPriority.INFO, session_id=session_id,
            project_id="proj", message=f"{name} {iteration}", data={"worker": name, "i": iteration},
        )
        store.record_event(event)
        events.append(event.id)
        store.set_metadata("shared-1", name, iteration)
        last_meta = iteration
        store.record_reaction_attempt("shared-1", "ci-failed", fingerprint=f"{name}-{iteration}")
        attempts += 1
        if iteration % 20 == 0:
            assert store.get_session(session_id) is not None
            store.list_events(session_id=session_id, limit=5)
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
        break
    slowest = max(slowest, time.perf_counter() - started)
store.close()
print(json.dumps({"name": name, "ids": ids, "events": events, "attempts": attempts,
                  "last_meta": last_meta, "slowest": slowest, "errors": errors}), flush=True)
"""


@dataclass
class WorkerReport:
    name: str
    ids: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    attempts: int = 0
    last_meta: int | None = None
    slowest: float = 0.0
    errors: list[str] = field(default_factory=list)


def prepare(db_path: Path) -> None:
    with Store(db_path) as store:
        store.save_session(Session(id=SHARED, project_id=PROJECT))


def verify(db_path: Path, reports: list[WorkerReport]) -> int:
    """Compare what every worker says it got with what the database holds; return the reservation count."""
    assert [r.errors for r in reports if r.errors] == []
    all_ids = [session_id for r in reports for session_id in r.ids]
    duplicates = [session_id for session_id, n in Counter(all_ids).items() if n > 1]
    assert duplicates == []
    assert all(r.ids for r in reports), "every worker got at least one id"
    with Store(db_path) as store:
        stored = {s.id for s in store.list_sessions(PROJECT)} - {SHARED}
        assert stored == set(all_ids)  # no lost row, no extra row
        numbers = sorted(int(session_id.rsplit("-", 1)[1]) for session_id in all_ids)
        assert numbers == list(range(1, len(all_ids) + 1))  # no gaps either: every reservation committed
        recorded = {e.id for e, _ in store.list_events(limit=10 * len(all_ids) + 10)}
        assert recorded == {event_id for r in reports for event_id in r.events}
        reaction = store.get_reaction(SHARED, REACTION)
        assert reaction is not None
        assert reaction.attempts == sum(r.attempts for r in reports)  # no lost increment
        shared = store.get_session(SHARED)
        assert shared is not None
        assert shared.metadata == {r.name: r.last_meta for r in reports}  # no lost metadata merge
    return len(all_ids)


def run_processes(db_path: Path, *, processes: int, duration: float) -> list[WorkerReport]:
    prepare(db_path)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(db_path), f"p{n}", str(duration)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(processes)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            line = proc.stdout.readline()  # bounded by the test's timeout
            assert line == "ready\n", proc.stderr.read() if proc.stderr else line
        for proc in procs:  # start them together
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        reports = []
        for proc in procs:
            out, err = proc.communicate(timeout=duration + 60)
            assert proc.returncode == 0, err
            reports.append(WorkerReport(**json.loads(out)))
        return reports
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def report(kind: str, reports: list[WorkerReport], reservations: int, duration: float) -> None:
    slowest = max(r.slowest for r in reports)
    print(
        f"\n[store] {len(reports)} {kind} x {duration:g} s: {reservations} ids reserved "
        f"({reservations / duration:.0f} reservations/s, each with 3 more writes), "
        f"slowest iteration {slowest * 1e3:.0f} ms, per worker {[len(r.ids) for r in reports]}"
    )


def check_processes(db_path: Path, capsys: pytest.CaptureFixture[str], *, processes: int, duration: float) -> None:
    reports = run_processes(db_path, processes=processes, duration=duration)
    reservations = verify(db_path, reports)
    with capsys.disabled():
        report("processes", reports, reservations, duration)


@pytest.mark.timeout(120)
def test_processes_reserve_ids_and_write_concurrently(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    check_processes(tmp_path / "ao.db", capsys, processes=4, duration=10.0)


def thread_worker(store: Store, name: str, duration: float, start: threading.Event, out: list[WorkerReport]) -> None:
    result = WorkerReport(name=name)
    out.append(result)
    start.wait(timeout=30)
    deadline = time.monotonic() + duration
    iteration = 0
    while time.monotonic() < deadline:
        iteration += 1
        started = time.perf_counter()
        try:
            session_id = store.reserve_session_id(PROJECT, PREFIX)
            result.ids.append(session_id)
            event = OrchestratorEvent(
                type=EventType.SESSION_SPAWNED,
                priority=EventPriority.INFO,
                session_id=session_id,
                project_id=PROJECT,
                message=f"{name} {iteration}",
            )
            store.record_event(event)
            result.events.append(event.id)
            store.set_metadata(SHARED, name, iteration)
            result.last_meta = iteration
            store.record_reaction_attempt(SHARED, REACTION, fingerprint=f"{name}-{iteration}")
            result.attempts += 1
        except Exception as exc:  # reported and checked by verify()
            result.errors.append(f"{type(exc).__name__}: {exc}")
            break
        result.slowest = max(result.slowest, time.perf_counter() - started)


@pytest.mark.timeout(60)
def test_threads_share_one_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db_path = tmp_path / "ao.db"
    prepare(db_path)
    duration = 3.0
    reports: list[WorkerReport] = []
    start = threading.Event()
    with Store(db_path) as store:
        threads = [
            threading.Thread(target=thread_worker, args=(store, f"t{n}", duration, start, reports)) for n in range(6)
        ]
        for thread in threads:
            thread.start()
        start.set()
        for thread in threads:
            thread.join(timeout=duration + 30)
        assert not any(thread.is_alive() for thread in threads)
        assert len(store._connections) == 1 + len(threads)  # one connection per thread (and the opener's)
    reservations = verify(db_path, reports)
    with capsys.disabled():
        report("threads", reports, reservations, duration)


@pytest.mark.timeout(60)
def test_concurrent_first_open_of_a_new_database(tmp_path: Path) -> None:
    """Processes that create and migrate the same new database at once all succeed, and it is migrated once."""
    db_path = tmp_path / "fresh" / "ao.db"
    code = (
        "import sys; from pathlib import Path; from ao_core.store import Store; "
        "print('ready', flush=True); sys.stdin.readline(); Store(Path(sys.argv[1])).close()"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(db_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    errors: list[Any] = []
    try:
        for proc in procs:  # all imported, none opened yet
            assert proc.stdout is not None
            assert proc.stdout.readline() == "ready\n"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        for proc in procs:
            _, err = proc.communicate(timeout=30)
            if proc.returncode != 0:
                errors.append(err)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert errors == []
    with Store(db_path) as store:
        assert store.reserve_session_id(PROJECT, PREFIX) == "race-1"
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT version FROM schema_migrations").fetchall() == [(m.version,) for m in MIGRATIONS]
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()
