"""Sessions end to end: the `ao` CLI as a process, real git worktrees, real tmux, the echo agent."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from e2e_support import AoEnv, git, need

pytestmark = pytest.mark.integration


def inbox(workspace: str) -> list[dict[str, object]]:
    path = Path(workspace) / ".echo-agent" / "inbox.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def wait_for(predicate, timeout: float = 20.0, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def session(env: AoEnv, session_id: str) -> dict[str, object]:
    sessions = {s["id"]: s for s in env.ao_json("status", "--all")}
    return sessions[session_id]


def test_batch_spawn_ten_then_kill_one(ao_env: AoEnv) -> None:
    need("tmux")
    env = ao_env
    out = env.ao("batch-spawn", "app", *[str(n) for n in range(1, 11)]).stdout
    assert "10 created, 0 skipped, 0 failed" in out

    sessions = env.ao_json("status")
    ids = sorted(s["id"] for s in sessions)
    assert len(ids) == 10
    assert set(ids) == {f"app-{n}" for n in range(1, 11)}
    assert env.tmux_sessions() == set(ids)
    assert len(env.worktrees()) == 10
    for s in sessions:
        assert s["branch"] == f"feat/issue-{s['issue_id']}"
        assert git(Path(s["workspace_path"]), "branch", "--show-current") == s["branch"]

    # Every agent got its first prompt once it was ready.
    for s in sessions:
        wait_for(lambda s=s: inbox(s["workspace_path"]), what=f"first prompt of {s['id']}")
        assert inbox(s["workspace_path"])[0]["text"] == f"Work on issue {s['issue_id']}."

    # Spawning the same issues again skips them all.
    again = env.ao("batch-spawn", "app", "1", "2").stdout
    assert "0 created, 2 skipped" in again

    victim = next(s for s in sessions if s["id"] == "app-3")
    env.ao("session", "kill", "app-3")
    assert "app-3" not in env.tmux_sessions()
    assert not Path(victim["workspace_path"]).exists()
    assert victim["workspace_path"] not in env.worktrees()
    assert "feat/issue-3" in env.branches()
    assert git(env.repo, "status", "--porcelain") == ""
    assert git(env.repo, "branch", "--show-current") == "main"
    assert session(env, "app-3")["status"] == "killed"
    # Killing again is not an error.
    assert "already ended" in env.ao("session", "kill", "app-3").stdout


def test_send_long_message_byte_for_byte_exactly_once(ao_env: AoEnv) -> None:
    need("tmux")
    env = ao_env
    env.ao("spawn", "app", "--prompt", "start")
    workspace = session(env, "app-1")["workspace_path"]
    wait_for(lambda: inbox(workspace), what="first prompt")

    unit = "line with 'single' \"double\" $(echo pwned) `uname` \t tab \\ backslash % ; é 日本 🚀\n"
    message = (unit * (5000 // len(unit) + 1))[:4999] + "!"
    assert len(message) == 5000
    msg_file = env.root / "message.txt"
    msg_file.write_text(message, encoding="utf-8")
    env.ao("send", "app-1", "-f", str(msg_file))

    records = wait_for(lambda: [r for r in inbox(workspace) if r["n"] == 2], what="second message")
    assert records[0]["text"] == message
    time.sleep(0.5)  # a duplicate would arrive within this time
    assert [r["text"] for r in inbox(workspace)].count(message) == 1
    assert len(inbox(workspace)) == 2
    assert not (env.repo / "pwned").exists()


def test_dead_tmux_server_then_restore_and_send(ao_env: AoEnv) -> None:
    need("tmux")
    env = ao_env
    env.ao("spawn", "app", "7")
    before = session(env, "app-1")
    wait_for(lambda: inbox(before["workspace_path"]), what="first prompt")

    subprocess.run(["tmux", "-L", env.socket, "kill-server"], check=True)
    dead = session(env, "app-1")
    assert dead["status"] == "killed"
    assert dead["activity"] == "exited"

    env.ao("session", "restore", "app-1")
    restored = session(env, "app-1")
    assert restored["status"] == "working"
    assert restored["workspace_path"] == before["workspace_path"]
    assert restored["branch"] == before["branch"] == "feat/issue-7"
    assert "app-1" in env.tmux_sessions()
    assert git(Path(restored["workspace_path"]), "branch", "--show-current") == "feat/issue-7"

    # A send to a dead session restores it first, then delivers.
    subprocess.run(["tmux", "-L", env.socket, "kill-server"], check=True)
    env.ao("send", "app-1", "are you there?")
    assert "app-1" in env.tmux_sessions()
    wait_for(lambda: any(r["text"] == "are you there?" for r in inbox(before["workspace_path"])), what="message")


def test_process_runtime_across_ao_processes(ao_env: AoEnv) -> None:
    env = ao_env
    env.write_config(runtime="process")
    env.ao("spawn", "app", "--prompt", "hello from the first process")  # this ao process exits here
    s = session(env, "app-1")
    assert s["status"] == "spawning"
    handle = s["runtime_handle"]
    assert handle["runtime_name"] == "process"

    env.ao("send", "app-1", "second message from another process")
    wait_for(lambda: "received message 2" in env.ao("session", "output", "app-1").stdout, what="output")
    assert [r["text"] for r in inbox(s["workspace_path"])] == [
        "hello from the first process",
        "second message from another process",
    ]
    env.ao("session", "kill", "app-1")
    assert session(env, "app-1")["status"] == "killed"
    assert not Path(s["workspace_path"]).exists()


def _snapshot(env: AoEnv) -> tuple[set[str], list[str], set[str], int]:
    rows = json.loads(env.ao("session", "ls", "--all", "--json").stdout)["data"]
    return env.tmux_sessions(), env.worktrees(), env.branches(), len(rows)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["spawn", "nope", "1"], "unknown project 'nope'"),
        (["send", "app-99", "hi"], "no session 'app-99'"),
        (["session", "kill", "app-99"], "no session 'app-99'"),
        (["spawn", "app", "$(touch pwned)"], "invalid issue id"),
        (["spawn", "app", "../../etc"], "invalid issue id"),
        (["spawn", "app", "--prompt", "x", "--branch", "bad..branch"], "cannot use branch name"),
    ],
)
def test_bad_input_leaves_nothing(ao_env: AoEnv, args: list[str], expected: str) -> None:
    need("tmux")
    env = ao_env
    before = _snapshot(env)
    result = env.ao(*args, check=False)
    assert result.returncode != 0
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert _snapshot(env) == before
    assert not (env.repo / "pwned").exists()


def test_existing_branch_is_refused_and_rolled_back(ao_env: AoEnv) -> None:
    need("tmux")
    env = ao_env
    git(env.repo, "branch", "feat/issue-5")
    before = _snapshot(env)
    result = env.ao("spawn", "app", "5", check=False)
    assert result.returncode != 0
    assert "feat/issue-5" in result.stderr
    assert _snapshot(env) == before


def test_unwritable_worktree_directory_is_a_clear_error(ao_env: AoEnv) -> None:
    need("tmux")
    env = ao_env
    blocker = env.state / "projects" / "app"
    blocker.mkdir(parents=True)
    (blocker / "worktrees").write_text("a file where the worktrees directory should be\n")
    before = _snapshot(env)
    result = env.ao("spawn", "app", "8", check=False)
    assert result.returncode != 0
    assert "worktrees" in result.stderr
    assert _snapshot(env) == before


def test_failing_post_create_rolls_back(ao_env: AoEnv) -> None:
    need("tmux")
    env = ao_env
    env.write_config(project_extra="    postCreate:\n      - echo setting up; exit 3\n")
    before = _snapshot(env)
    result = env.ao("spawn", "app", "9", check=False)
    assert result.returncode != 0
    assert "echo setting up; exit 3" in result.stderr
    assert _snapshot(env) == before  # no tmux session, worktree, new branch or store row
