from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from ao_agent_claude_code._trust import is_trusted, trust_folder
from ao_core.errors import WorkspaceError


def test_trust_merges_into_an_existing_state_file(tmp_path: Path) -> None:
    state = tmp_path / ".claude.json"
    elsewhere = {"allowedTools": ["Bash"], "hasTrustDialogAccepted": False}
    original = {"hasCompletedOnboarding": True, "numStartups": 7, "projects": {"/elsewhere": elsewhere}}
    state.write_text(json.dumps(original))
    state.chmod(0o600)
    folder = tmp_path / "work"
    folder.mkdir()
    assert trust_folder(state, folder) is True
    data = json.loads(state.read_text())
    assert data["numStartups"] == 7
    assert data["hasCompletedOnboarding"] is True
    assert data["projects"]["/elsewhere"] == elsewhere
    assert data["projects"][str(folder)] == {"hasTrustDialogAccepted": True}
    assert state.stat().st_mode & 0o777 == 0o600
    assert not (tmp_path / ".claude.json.lock").exists()
    assert [path.name for path in tmp_path.iterdir() if path.name.endswith(".ao-tmp")] == []
    assert trust_folder(state, folder) is False  # idempotent: nothing to write


def test_trust_keeps_other_keys_of_the_folder(tmp_path: Path) -> None:
    state = tmp_path / ".claude.json"
    folder = tmp_path / "w"
    state.write_text(
        json.dumps({"projects": {str(folder): {"allowedTools": ["Read"], "hasTrustDialogAccepted": False}}})
    )
    trust_folder(state, folder)
    assert json.loads(state.read_text())["projects"][str(folder)] == {
        "allowedTools": ["Read"],
        "hasTrustDialogAccepted": True,
    }


def test_trust_creates_a_missing_state_file(tmp_path: Path) -> None:
    state = tmp_path / "home" / ".claude.json"
    trust_folder(state, tmp_path)
    assert is_trusted(state, tmp_path)
    assert state.stat().st_mode & 0o777 == 0o600


def test_a_trusted_parent_covers_its_children(tmp_path: Path) -> None:
    state = tmp_path / ".claude.json"
    state.write_text(json.dumps({"projects": {str(tmp_path): {"hasTrustDialogAccepted": True}}}))
    assert is_trusted(state, tmp_path / "a" / "b")
    assert trust_folder(state, tmp_path / "a" / "b") is False


def test_a_symlinked_folder_is_trusted_under_both_names(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    state = tmp_path / ".claude.json"
    trust_folder(state, link)
    assert set(json.loads(state.read_text())["projects"]) == {str(link), str(real)}


@pytest.mark.parametrize("content", ["{not json", "[1, 2]"])
def test_a_broken_state_file_is_reported_not_overwritten(tmp_path: Path, content: str) -> None:
    state = tmp_path / ".claude.json"
    state.write_text(content)
    with pytest.raises(WorkspaceError, match=r"\.claude\.json"):
        trust_folder(state, tmp_path)
    assert state.read_text() == content


def test_trust_waits_for_claude_codes_lock(tmp_path: Path) -> None:
    state = tmp_path / ".claude.json"
    state.write_text("{}")
    lock = tmp_path / ".claude.json.lock"
    lock.mkdir()  # Claude Code (proper-lockfile) holds it

    def release() -> None:
        time.sleep(0.3)
        state.write_text(json.dumps({"numStartups": 3}))  # the CLI's own write, under its lock
        lock.rmdir()

    releaser = threading.Thread(target=release)
    started = time.monotonic()
    releaser.start()
    trust_folder(state, tmp_path)
    releaser.join()
    assert time.monotonic() - started >= 0.3
    data = json.loads(state.read_text())
    assert data["numStartups"] == 3  # not lost
    assert data["projects"][str(tmp_path)]["hasTrustDialogAccepted"] is True


def test_a_stale_lock_is_taken_over(tmp_path: Path) -> None:
    state = tmp_path / ".claude.json"
    lock = tmp_path / ".claude.json.lock"
    lock.mkdir()
    old = time.time() - 60
    os.utime(lock, (old, old))
    trust_folder(state, tmp_path)
    assert is_trusted(state, tmp_path)
    assert not lock.exists()


def test_concurrent_trusts_lose_nothing(tmp_path: Path) -> None:
    state = tmp_path / ".claude.json"
    folders = [tmp_path / f"w{i}" for i in range(24)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda folder: trust_folder(state, folder), folders))
    projects = json.loads(state.read_text())["projects"]
    assert all(projects[str(folder)]["hasTrustDialogAccepted"] for folder in folders)
