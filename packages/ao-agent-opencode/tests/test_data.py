"""Reading OpenCode's session database, built from the recorded schema and rows of the real OpenCode."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from ao_agent_opencode._data import (
    DatabaseUnreadable,
    database_path,
    find_session,
    first_user_text,
    last_message,
    last_part_update,
    read_session,
)
from opencode_support import install_database, recorded_rows, recorded_session_id

SESSION = recorded_session_id()

# The newest message of the session at each recorded moment: (role, finished, finish, error).
NEWEST = {
    "turn-started": ("assistant", False, None, None),
    "tool-running": ("assistant", False, None, None),
    "turn-complete": ("assistant", True, "stop", None),
    "api-error": ("assistant", True, None, "APIError"),
}


@pytest.mark.parametrize(("moment", "expected"), sorted(NEWEST.items()))
def test_newest_message_at_each_moment(tmp_path: Path, moment: str, expected: tuple[object, ...]) -> None:
    database = install_database(tmp_path, moment)
    message = last_message(database, SESSION)
    assert message is not None
    assert (message.role, message.completed_ms is not None, message.finish, message.error) == expected


def test_an_aborted_turn_after_resume(tmp_path: Path) -> None:
    killed = install_database(tmp_path / "killed", "killed-mid-command")
    resumed = install_database(tmp_path / "resumed", "resumed")
    session_id = str(recorded_rows("resumed")["session"][0]["id"])
    before = last_message(killed, session_id)
    after = last_message(resumed, session_id)
    assert before is not None
    assert after is not None
    assert (before.role, before.completed_ms, before.error) == ("assistant", None, None)
    assert after.error == "MessageAbortedError"
    assert after.updated_ms > before.updated_ms


def test_session_totals(tmp_path: Path) -> None:
    row = read_session(install_database(tmp_path, "turn-complete"), SESSION)
    assert row is not None
    recorded = recorded_rows("turn-complete")["session"][0]
    assert row.title == recorded["title"]
    assert (row.tokens_input, row.tokens_output) == (recorded["tokens_input"], recorded["tokens_output"])
    assert (row.tokens_cache_read, row.tokens_cache_write) == (200, 300)
    assert row.cost == pytest.approx(recorded["cost"])
    assert row.cost > 0


def test_first_user_text_and_part_updates(tmp_path: Path) -> None:
    database = install_database(tmp_path, "tool-running")
    assert first_user_text(database, SESSION) == "please write hello.txt\nand commit it"
    parts = recorded_rows("tool-running")["part"]
    assert last_part_update(database, SESSION) == max(part["time_updated"] for part in parts)


def test_find_session_by_directory_and_time(tmp_path: Path) -> None:
    database = install_database(tmp_path, "turn-complete", directory="/work/app-1")
    created = recorded_rows("turn-complete")["session"][0]["time_created"]
    assert find_session(database, "/work/app-1", created - 1000) == SESSION
    assert find_session(database, "/work/app-1", created + 1) is None
    assert find_session(database, "/work/app-2", 0) is None


def test_unknown_session(tmp_path: Path) -> None:
    database = install_database(tmp_path, "turn-complete")
    assert read_session(database, "ses_unknown") is None
    assert last_message(database, "ses_unknown") is None
    assert first_user_text(database, "ses_unknown") is None
    assert last_part_update(database, "ses_unknown") is None


def test_a_missing_or_foreign_database_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(DatabaseUnreadable):
        read_session(tmp_path / "absent.db", SESSION)
    (tmp_path / "garbage.db").write_bytes(b"not a database at all" * 100)
    with pytest.raises(DatabaseUnreadable):
        last_message(tmp_path / "garbage.db", SESSION)
    with sqlite3.connect(tmp_path / "other.db") as db:
        db.execute("CREATE TABLE session (id TEXT)")
    with pytest.raises(DatabaseUnreadable):
        read_session(tmp_path / "other.db", SESSION)


def test_database_path_rules(tmp_path: Path) -> None:
    home = {"HOME": "/home/me"}
    assert database_path(None, home) == Path("/home/me/.local/share/opencode/opencode.db")
    assert database_path(None, {**home, "XDG_DATA_HOME": "/xdg"}) == Path("/xdg/opencode/opencode.db")
    assert database_path("/srv/oc", home) == Path("/srv/oc/opencode.db")
    assert database_path(None, {**home, "OPENCODE_DB": "/db/x.db"}) == Path("/db/x.db")
    assert database_path("/srv/oc", {**home, "OPENCODE_DB": "mine.db"}) == Path("/srv/oc/mine.db")
    assert database_path(None, {**home, "OPENCODE_DB": ":memory:"}) is None
