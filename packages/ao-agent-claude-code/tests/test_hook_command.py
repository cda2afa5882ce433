"""``ao hook claude <Event>`` run as Claude Code runs it: a process, the payload on stdin, the session's env.

The payloads are the ones the real Claude Code sent (recorded by record_claude_code.py), adjusted where the
test needs another working directory or output.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ao_core.cli.commands.hook import parse_command
from ao_core.models import ActivityState, Session, SessionStatus
from ao_core.paths import session_dir
from ao_core.store import Store
from ao_core.testing import init_git_repo, run_git
from claude_support import hook_payload

pytestmark = pytest.mark.integration

AO = [sys.executable, "-m", "ao_core"]


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return init_git_repo(tmp_path)


@pytest.fixture
def store(state_dir: Path, repo: Path) -> Store:
    store = Store.open(state_dir)
    store.save_session(
        Session(
            id="app-1",
            project_id="app",
            status=SessionStatus.WORKING,
            activity=ActivityState.ACTIVE,
            branch="session/abc",
            workspace_path=str(repo),
            agent="claude-code",
        )
    )
    return store


def run_hook(
    event: str, payload: dict[str, Any] | str, state_dir: Path, *, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {
        "PATH": "/usr/bin:/bin",
        "AO_SESSION_ID": "app-1",
        "AO_PROJECT_ID": "app",
        "AO_STATE_DIR": str(state_dir),
        **(env or {}),
    }
    stdin = payload if isinstance(payload, str) else json.dumps(payload)
    return subprocess.run(
        [*AO, "hook", "claude", event], input=stdin, capture_output=True, text=True, env=environment, timeout=30
    )


def session(store: Store) -> Session:
    found = store.get_session("app-1")
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("event", "state", "detail"),
    [
        ("Stop", ActivityState.READY, None),
        ("UserPromptSubmit", ActivityState.ACTIVE, None),
        ("PermissionRequest", ActivityState.WAITING_INPUT, "Bash"),  # the recorded one asked for Bash
        ("Notification", ActivityState.WAITING_INPUT, "permission_prompt"),
    ],
)
def test_activity_events(store: Store, state_dir: Path, event: str, state: ActivityState, detail: str | None) -> None:
    if state is ActivityState.ACTIVE:
        store.update_session("app-1", activity=ActivityState.READY)
    done = run_hook(event, hook_payload(event), state_dir)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    found = session(store)
    assert found.activity is state
    record = found.metadata["hookActivity"]
    assert (record["state"], record["event"], record["detail"]) == (state.value, event, detail)
    assert found.metadata["hookActivityAt"] == record["at"]
    assert found.last_activity_at is not None


def test_branch_switch_is_recorded(store: Store, state_dir: Path, repo: Path) -> None:
    payload = hook_payload("PostToolUse")  # git checkout -q -b feat/recorded && git add ... && git commit ...
    assert "checkout -q -b feat/recorded" in payload["tool_input"]["command"]
    run_git(repo, "checkout", "-q", "-b", "feat/recorded")
    done = run_hook("PostToolUse", {**payload, "cwd": str(repo)}, state_dir)
    assert (done.returncode, done.stdout) == (0, "")
    found = session(store)
    assert found.branch == "feat/recorded"
    assert "branchSwitchedAt" in found.metadata


def test_a_branch_switch_git_does_not_confirm_is_ignored(store: Store, state_dir: Path, repo: Path) -> None:
    payload = {**hook_payload("PostToolUse"), "cwd": str(repo)}  # HEAD is still main
    assert run_hook("PostToolUse", payload, state_dir).returncode == 0
    assert session(store).branch == "session/abc"
    log = (session_dir(state_dir, "app", "app-1") / "hooks.log").read_text()
    assert "HEAD is 'main'" in log


def test_a_command_run_outside_the_workspace_is_ignored(store: Store, state_dir: Path, tmp_path: Path) -> None:
    other = init_git_repo(tmp_path / "other")
    run_git(other, "checkout", "-q", "-b", "feat/recorded")
    assert run_hook("PostToolUse", {**hook_payload("PostToolUse"), "cwd": str(other)}, state_dir).returncode == 0
    assert session(store).branch == "session/abc"


def test_pull_request_url_is_recorded(store: Store, state_dir: Path, repo: Path) -> None:
    payload = hook_payload("PostToolUse")
    payload["cwd"] = str(repo)
    payload["tool_input"] = {"command": "cd /x && gh pr create --draft --title 'Fix' --body 'b'"}
    payload["tool_response"] = {
        "stdout": "\nCreating draft pull request for feat/x into main in acme/app\n\n"
        "\x1b[1mhttps://github.com/acme/app/pull/42\x1b[0m\n",
        "stderr": "",
        "interrupted": False,
    }
    assert run_hook("PostToolUse", payload, state_dir).returncode == 0
    found = session(store)
    assert found.pr is not None
    assert (found.pr.number, found.pr.owner, found.pr.repo, found.pr.is_draft) == (42, "acme", "app", True)
    assert found.pr.url == "https://github.com/acme/app/pull/42"
    assert found.metadata["agentReportedPrUrl"] == "https://github.com/acme/app/pull/42"
    assert found.metadata["agentReportedPrNumber"] == 42
    assert found.metadata["agentReportedPrIsDraft"] is True


def test_outside_an_ao_session_nothing_happens(store: Store, state_dir: Path) -> None:
    done = run_hook("Stop", hook_payload("Stop"), state_dir, env={"AO_SESSION_ID": "", "AO_STATE_DIR": ""})
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert session(store).activity is ActivityState.ACTIVE


@pytest.mark.parametrize("payload", ["{not json", "[1]"])
def test_bad_input_exits_zero_and_is_logged(store: Store, state_dir: Path, payload: str) -> None:
    done = run_hook("Stop", payload, state_dir)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert "Stop: failed" in (session_dir(state_dir, "app", "app-1") / "hooks.log").read_text()
    assert session(store).activity is ActivityState.ACTIVE


def test_unknown_session_or_missing_store_exit_zero(store: Store, state_dir: Path, tmp_path: Path) -> None:
    done = run_hook("Stop", hook_payload("Stop"), state_dir, env={"AO_SESSION_ID": "app-9"})
    assert (done.returncode, done.stdout) == (0, "")
    assert "no session app-9" in (session_dir(state_dir, "app", "app-9") / "hooks.log").read_text()
    done = run_hook("Stop", hook_payload("Stop"), tmp_path / "nowhere")
    assert (done.returncode, done.stdout) == (0, "")
    assert not (tmp_path / "nowhere" / "ao.db").exists()


def test_a_session_that_is_over_is_left_alone(store: Store, state_dir: Path) -> None:
    store.update_session("app-1", status=SessionStatus.KILLED, activity=ActivityState.EXITED)
    assert run_hook("Stop", hook_payload("Stop"), state_dir).returncode == 0
    assert session(store).activity is ActivityState.EXITED


def test_a_notification_that_is_not_a_question_changes_nothing(store: Store, state_dir: Path) -> None:
    payload = {**hook_payload("Notification"), "notification_type": "idle_prompt", "message": "Claude is waiting"}
    assert run_hook("Notification", payload, state_dir).returncode == 0
    assert session(store).activity is ActivityState.ACTIVE


def test_ao_help_does_not_list_the_hook_command() -> None:
    done = subprocess.run([*AO, "--help"], capture_output=True, text=True, check=True, timeout=30)
    assert " hook " not in done.stdout


@pytest.mark.parametrize(
    ("command", "branches", "pr", "draft"),
    [
        ("git checkout -b feat/x", [("feat/x", True)], False, False),
        ("cd /w && git switch -c fix-1 origin/main", [("fix-1", True)], False, False),
        ("git -C /w switch --create=feat/y", [("feat/y", True)], False, False),
        ("GIT_TRACE=0 git checkout feat/existing; make", [("feat/existing", False)], False, False),
        ("git checkout main", [], False, False),
        ("git checkout -- src/app.py", [], False, False),
        ("echo 'git checkout -b nope' | cat", [], False, False),
        ("git add -A && git commit -m 'x' && gh pr create --fill", [], True, False),
        ("gh pr create -d --title 'a; b'", [], True, True),
        ("gh pr view 3", [], False, False),
        ("git checkout -b 'unbalanced", [], False, False),
    ],
)
def test_parse_command(command: str, branches: list[tuple[str, bool]], pr: bool, draft: bool) -> None:
    assert parse_command(command) == (branches, pr, draft)
