"""The daemon as a real process: SIGKILL and restart, one instance per state directory, ao start/stop.

Plugins that keep their state in files (tests/data/lifecycle: a runtime whose sessions are JSON files and
whose agent "inbox" records every message; an SCM whose pull requests are a JSON file the test writes) let
the test, the CLI and the daemon see the same world across processes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from ao_core.daemon import DaemonInfo, is_ao_daemon_process, running_daemon
from ao_core.models import EventType
from ao_core.store import Store
from ao_core.testing.plugins import PLUGIN_FILES

DATA = Path(__file__).parent / "data" / "lifecycle"
AO = [sys.executable, "-m", "ao_core"]

pytestmark = pytest.mark.timeout(120)

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], what: str, timeout: float = 20.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@dataclass
class World:
    root: Path
    state: Path
    runtime_dir: Path
    scm_file: Path
    config: Path
    daemons: list[subprocess.Popen[bytes]]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AO_")}
        env.update(AO_STATE_DIR=str(self.state), AO_CONFIG_PATH=str(self.config))
        return env

    def ao(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*AO, *args], env=self.env(), cwd=self.root, capture_output=True, text=True, timeout=60, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(f"ao {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def start_foreground(self) -> subprocess.Popen[bytes]:
        with (self.root / f"daemon-{len(self.daemons)}.out").open("wb") as log:
            process = subprocess.Popen(
                [*AO, "start", "--foreground", "--port", "0"], env=self.env(), cwd=self.root, stdout=log, stderr=log
            )
        self.daemons.append(process)
        found = wait_for(lambda: self.daemon_info(process.pid), f"daemon {process.pid} to listen")
        assert found is not None
        info = found
        wait_for(lambda: self.health(info) is not None, "the health endpoint")
        return process

    def daemon_info(self, pid: int) -> DaemonInfo | None:
        info = running_daemon(self.state)
        return info if info is not None and info.pid == pid else None

    def health(self, info: DaemonInfo) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(f"{info.url}/api/health", timeout=2) as response:  # loopback
                data: dict[str, Any] = json.loads(response.read())
                return data
        except OSError:
            return None

    def wait_polls(self, process: subprocess.Popen[bytes], count: int) -> None:
        info = self.daemon_info(process.pid)
        assert info is not None
        wait_for(lambda: (self.health(info) or {}).get("polls", 0) >= count, f"{count} polls")

    def set_prs(self, *prs: dict[str, Any]) -> None:
        tmp = self.scm_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"prs": list(prs)}))
        tmp.replace(self.scm_file)

    def inbox(self, session_id: str = "app-1") -> list[str]:
        path = self.runtime_dir / f"{session_id}.inbox.jsonl"
        if not path.exists():
            return []
        return [json.loads(line)["text"] for line in path.read_text().splitlines()]

    def ci_messages(self) -> list[str]:
        return [m for m in self.inbox() if m.startswith("CI is failing")]

    def store(self) -> Store:
        return Store(self.state / "ao.db")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    repo = tmp_path / "repo"
    repo.mkdir()
    w = World(
        root=tmp_path,
        state=tmp_path / "state",
        runtime_dir=tmp_path / "runtime",
        scm_file=tmp_path / "scm.json",
        config=tmp_path / "agent-orchestrator.yaml",
        daemons=[],
    )
    w.config.write_text(
        f"""\
plugins:
  - path: {DATA / "file_runtime.py"}
  - path: {DATA / "file_scm.py"}
  - path: {PLUGIN_FILES["agent"]}
  - path: {PLUGIN_FILES["workspace"]}
  - path: {PLUGIN_FILES["notifier"]}
  - path: {PLUGIN_FILES["tracker"]}
pollIntervalMs: 1000
defaults:
  runtime: {{plugin: file, root: {w.runtime_dir}}}
  agent: fake
  workspace: {{plugin: fake, baseDir: {tmp_path / "workspaces"}}}
  notifiers: [recorder]
notifiers:
  recorder: {{plugin: fake}}
projects:
  app:
    path: {repo}
    repo: acme/app
    sessionPrefix: app
    tracker: {{plugin: fake}}
    scm: {{plugin: file, stateFile: {w.scm_file}, webhookSecret: s3cret}}
reactions:
  ci-failed: {{retries: 2}}
"""
    )
    w.set_prs()
    yield w
    for process in w.daemons:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    detached = running_daemon(w.state)  # started by 'ao start' in a test that failed before 'ao stop'
    if detached is not None and detached.pid > 0 and is_ao_daemon_process(detached.pid):
        os.kill(detached.pid, signal.SIGTERM)
        wait_for(lambda: running_daemon(w.state) is None, "the detached daemon to stop")


def failing_pr(sha: str, run: int) -> dict[str, Any]:
    return {
        "number": 1,
        "branch": "feat/issue-1",
        "headSha": sha,
        "checks": [
            {"name": "lint", "status": "failed", "conclusion": "failure", "url": f"https://ci.test/runs/{run}"},
            {"name": "unit", "status": "passed"},
        ],
    }


def test_sigkill_then_restart_never_resends_and_keeps_counting(world: World) -> None:
    world.ao("spawn", "app", "--prompt", "fix the bug", "--branch", "feat/issue-1")
    world.set_prs(failing_pr("a1", 1))

    first = world.start_foreground()
    assert is_ao_daemon_process(first.pid)
    wait_for(lambda: len(world.ci_messages()) == 1, "the CI-failure message")
    first.send_signal(signal.SIGKILL)  # right after the message was sent
    first.wait(timeout=10)
    assert "https://ci.test/runs/1" in world.ci_messages()[0]
    assert (world.state / "daemon.json").exists()  # stale
    assert running_daemon(world.state) is None

    second = world.start_foreground()
    world.wait_polls(second, 3)
    assert len(world.ci_messages()) == 1  # same CI run: the fingerprint in SQLite says it was sent
    with world.store() as store:
        state = store.get_reaction("app-1", "ci-failed")
        assert state is not None
        assert state.attempts == 1

    world.set_prs(failing_pr("a2", 2))  # a new failing run: sent, attempt 2
    wait_for(lambda: len(world.ci_messages()) == 2, "the second CI-failure message")
    second.send_signal(signal.SIGKILL)
    second.wait(timeout=10)

    third = world.start_foreground()
    world.set_prs(failing_pr("a3", 3))  # attempt 3 > retries 2: escalated to a human, not sent

    def escalated() -> bool:
        with world.store() as store:
            return any(e.type is EventType.REACTION_ESCALATED for e, _ in store.list_events(session_id="app-1"))

    wait_for(escalated, "the escalation")
    with world.store() as store:
        state = store.get_reaction("app-1", "ci-failed")
        assert state is not None
        assert (state.attempts, state.escalated) == (3, True)
        [(event, results)] = [
            (e, r) for e, r in store.list_events(session_id="app-1") if e.type is EventType.REACTION_ESCALATED
        ]
        assert event.priority.value == "urgent"
        assert "escalated to you after 3 attempt(s)" in event.message
        assert [(r.notifier, r.ok) for r in results] == [("recorder", True)]
    world.wait_polls(third, 3)
    assert len(world.ci_messages()) == 2

    # One daemon per state directory: a second start says where the running one is.
    refused = world.ao("start", "--foreground", "--port", "0", check=False)
    assert refused.returncode == 1
    assert f"an ao daemon is already running for {world.state} (pid {third.pid}" in refused.stderr

    # ao stop ends the daemon; the session keeps running.
    stopped = world.ao("stop")
    assert f"stopped the ao daemon (pid {third.pid}); sessions keep running" in stopped.stdout
    assert third.wait(timeout=10) == 0
    assert not (world.state / "daemon.json").exists()
    assert json.loads((world.runtime_dir / "app-1.json").read_text())["alive"] is True
    assert "ao daemon stopped" in (world.state / "logs" / "daemon.log").read_text()


def test_detached_start_then_stop_with_kill_sessions(world: World) -> None:
    world.ao("spawn", "app", "--prompt", "task one", "--branch", "feat/one")
    world.set_prs({"number": 7, "branch": "feat/one", "headSha": "b1", "checks": [{"name": "ci", "status": "passed"}]})
    started = world.ao("start", "--port", "0")
    info = running_daemon(world.state)
    assert info is not None
    assert f"ao daemon started: pid {info.pid}, {info.url}" in started.stdout
    assert f"log: {world.state / 'logs' / 'daemon.log'}" in started.stdout
    assert world.health(info) is not None

    wait_for(lambda: "mergeable" in world.ao("status", "-v").stdout, "the daemon to see the PR")
    status = world.ao("status", "-v").stdout
    assert "PR #7: no review required, CI passing, no conflicts" in status

    stopped = world.ao("stop", "--kill-sessions")
    assert f"stopped the ao daemon (pid {info.pid})" in stopped.stdout
    assert "killed 1 session(s): app-1" in stopped.stdout
    assert running_daemon(world.state) is None
    assert json.loads((world.runtime_dir / "app-1.json").read_text())["alive"] is False
    assert world.ao("stop").stdout.startswith("no ao daemon is running")


def test_lifecycle_run_once_and_review_check_from_the_cli(world: World) -> None:
    world.ao("spawn", "app", "--prompt", "task", "--branch", "feat/issue-1")
    pr = failing_pr("c1", 5)
    pr["reviewDecision"] = "changes_requested"
    pr["comments"] = [{"id": "c9", "author": "erin", "body": "Use a constant.", "path": "cfg.py", "line": 4}]
    world.set_prs(pr)

    report = json.loads(world.ao("lifecycle", "run-once", "--json").stdout)
    assert report["sessions_checked"] == 1
    assert [(t["session_id"], t["new"]) for t in report["transitions"]] == [("app-1", "ci_failed")]
    assert report["transitions"][0]["evidence"] == (
        "PR #1: CI failing (lint: failure); review: changes_requested; 1 unresolved review thread(s)"
    )
    assert {r["key"] for r in report["reactions"]} == {"ci-failed", "changes-requested"}
    assert report["scm_calls"]["file"] >= 2
    assert report["scm_requests"]["file"] >= 2
    assert report["duration_ms"] > 0
    assert len(world.inbox()) == 2

    dry = world.ao("review-check", "app", "--dry-run").stdout
    assert "app-1 (https://scm.test/acme/app/pull/1): dry run; 1 unresolved comment(s)" in dry
    assert 'cfg.py:4 (@erin): "Use a constant."' in dry
    assert world.ao("review-check").stdout.startswith("app-1 (https://scm.test/acme/app/pull/1): already sent")
    assert len(world.inbox()) == 2
    forced = world.ao("review-check", "--force").stdout
    assert ": sent;" in forced
    assert len(world.inbox()) == 3
