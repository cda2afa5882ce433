"""The closed loop, end to end, on one machine: a real agent CLI, the fake GitHub and the scripted model.

:func:`run_demo` plays the whole main job of ao in a scratch directory and prints it as it happens::

    issue #1 on the fake GitHub → ao spawns Claude Code in a worktree and tmux → the agent commits, pushes
    and opens a pull request → CI ("lint") fails → ao tells the agent within one poll → it pushes a fix →
    CI passes → a reviewer requests changes with two inline comments → ao sends both, with file:line →
    the agent fixes and pushes → the reviewer approves → ao auto-merges on the fake → the worktree is
    cleaned up → an all-complete notification.

Everything is real except the two services that would need the internet: GitHub is
:class:`~ao_testing.fakes.github.FakeGitHub` (real bare git repositories behind a REST + GraphQL server; the
project's ``origin`` is one of them, so the agent's ``git push`` lands there) and the model is
:class:`~ao_testing.fakes.model_server.ModelServer` (the agent's "thinking" is a script; the agent CLI, its
tools, git and tmux do the work). ao runs as in production: the config file is loaded, plugins come from
the registry, the session manager spawns, and :meth:`LifecycleManager.poll_once
<ao_core.lifecycle.LifecycleManager.poll_once>` drives every transition and reaction. The demo itself only
acts as the humans and machines around ao: CI and the reviewer.

``ao demo`` runs it from the command line; ``tests/test_closed_loop_e2e.py`` asserts every step.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.to_thread
from ao_core.errors import AoError
from ao_core.models import NotifyResult, OrchestratorEvent, SessionStatus
from ao_core.paths import database_path
from ao_core.store import Store

if TYPE_CHECKING:
    from ao_core.lifecycle import LifecycleManager, PollReport
    from ao_core.sessions import SessionManager

    from ao_testing.fakes.github import FakeGitHub
    from ao_testing.fakes.model_server import ModelServer, Turn

__all__ = [
    "CHECK",
    "CLAUDE_CODE_INSTALL",
    "CLAUDE_CODE_VERSION",
    "GREETING_V1",
    "GREETING_V2",
    "GREETING_V3",
    "ISSUE_TITLE",
    "PROJECT",
    "REPO",
    "REVIEWER",
    "REVIEW_COMMENTS",
    "DemoError",
    "DemoResult",
    "TimelineEntry",
    "agent_script",
    "check_prerequisites",
    "claude_version",
    "run_demo",
    "stop_tmux_server",
]

CLAUDE_CODE_VERSION = "2.1.197"
"""The Claude Code version the demo (and ao's tests) run."""
CLAUDE_CODE_INSTALL = (
    f"npm install --prefix ~/.ao-agents --no-audit --no-fund @anthropic-ai/claude-code@{CLAUDE_CODE_VERSION}\n"
    '    export PATH="$HOME/.ao-agents/node_modules/.bin:$PATH"'
)
"""How to install the pinned Claude Code CLI and put it on ``PATH``."""

REPO = "acme/widgets"
"""The fake GitHub repository (the project's ``origin``)."""
PROJECT = "widgets"
"""The ao project id (and the scratch repository's directory name)."""
MODEL = "claude-sonnet-4-5"
CHECK = "lint"
"""The CI check that fails on the agent's first push and passes afterwards."""
LINT_LOG = (
    "2026-11-30T10:00:01.0000000Z ##[group]Run ruff check .\n"
    "2026-11-30T10:00:01.2000000Z ruff check .\n"
    "2026-11-30T10:00:01.4000000Z ##[endgroup]\n"
    "2026-11-30T10:00:02.1000000Z greeting.py:1:8: F401 [*] `os` imported but unused\n"
    "2026-11-30T10:00:02.1000000Z Found 1 error.\n"
    "2026-11-30T10:00:02.2000000Z ##[error]Process completed with exit code 1.\n"
)
"""What the failing lint job prints (its Actions log)."""
REVIEWER = "octo-reviewer"
ISSUE_TITLE = "Add a greeting module"
ISSUE_BODY = (
    "We need a `greeting.py` module at the top of the repository with a function `greet(name)` that returns "
    '"Hello, <name>!". Open a pull request against main.'
)
GREETING_V1 = 'import os\n\n\ndef greet(name):\n    return "Hello, " + name + "!"\n'
GREETING_V2 = 'def greet(name):\n    return "Hello, " + name + "!"\n'
GREETING_V3 = 'def greet(name: str) -> str:\n    return f"Hello, {name}!"\n'
REVIEW_COMMENTS: tuple[tuple[str, int, str], ...] = (
    ("greeting.py", 1, "Add type hints: def greet(name: str) -> str."),
    ("greeting.py", 2, "Use an f-string here instead of concatenation."),
)
"""The reviewer's two inline comments: (path, line, body), lines of ``GREETING_V2``."""

_REQUIRED_PLUGINS = {
    "ao_runtime_tmux": "ao-runtime-tmux",
    "ao_workspace_worktree": "ao-workspace-worktree",
    "ao_agent_claude_code": "ao-agent-claude-code",
    "ao_tracker_github": "ao-tracker-github",
    "ao_scm_github": "ao-scm-github",
}
_AGENT_ENV_DROPPED = (
    "CLAUDECODE",
    "CLAUDE_CODE_ENTRYPOINT",
    "CLAUDE_CONFIG_DIR",
    "ANTHROPIC_AUTH_TOKEN",
    "AO_SESSION",
    "AO_SESSION_ID",
    "AO_PROJECT_ID",
    "AO_STATE_DIR",
    "AO_CONFIG_PATH",
    "AO_CALLER_TYPE",
    "AO_ISSUE_ID",
    "TMUX",
    "TMUX_PANE",
)
"""Variables of an outer session (Claude Code, ao, tmux) that must not leak into the demo's agent."""
_OBSERVE_EVERY_S = 0.1
_FIRST_COMMIT = shlex.quote("feat: greeting module (#1)")
_TEXT_LIMIT = 220

T = TypeVar("T")


class DemoError(AoError):
    """Raised when a step of the demo did not happen (or a prerequisite is missing); the message says which."""


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the demo's timeline.

    Attributes:
        elapsed_s: Seconds since the demo started.
        poll: Lifecycle polls completed when it was printed: for what ao recorded, the poll that did it; for
            what the demo or the agent did, the polls before it.
        session: The session it is about (``-`` when none).
        kind: An ao event type (``ci.failing``), ``status`` for a transition without an event, or what the
            demo or the agent did (``github.check_run``, ``agent.message``...).
        message: What happened, on one line.
    """

    elapsed_s: float
    poll: int
    session: str
    kind: str
    message: str

    def line(self) -> str:
        """The entry as one aligned line."""
        return f"{self.elapsed_s:6.1f}s  poll {self.poll:>2}  {self.session:<10} {self.kind:<27} {self.message}"


@dataclass
class DemoResult:
    """What the demo did, and the facts that show the loop closed.

    Attributes:
        timeline: Every line printed, in order.
        workdir: The scratch directory.
        project_path: The project's repository (a clone of the fake's bare repository).
        origin_path: The fake GitHub's bare repository, the project's ``origin``.
        state_dir: ao's state directory (its SQLite store is there).
        tmux_socket: The tmux server the agent ran on (``tmux -L <socket>``).
        session_id: The session ao spawned for issue #1.
        branch: Its branch.
        workspace_path: Its worktree.
        pr_number: The pull request the agent opened on the fake.
        pr_url: Its URL.
        pr_merged: Whether the fake reports it merged.
        merge_commit: The merge commit on ``main`` of the fake.
        final_status: The session's status at the end (``cleanup``).
        worktree_removed: The worktree directory is gone and git no longer lists it.
        branch_kept: The session's branch still exists in the project repository.
        check_name: The CI check the demo failed.
        check_url: That check run's details URL.
        review_comments: The reviewer's inline comments (path, line, body).
        reviewer: The reviewer's login.
        agent_messages: Every user message the model server received from the agent, in order (the task
            prompt, then what ao sent).
        ci_message: The message that made the agent fix CI (as the model server received it).
        review_message: The message that made the agent address the review (as received).
        ci_failed_after_poll: Polls completed when CI failed.
        ci_sent_in_poll: The poll (count) in which ao sent the CI failure to the agent.
        changes_requested_after_poll: Polls completed when the reviewer requested changes.
        review_sent_in_poll: The poll (count) in which ao sent the review comments to the agent.
        notifications: Events delivered to the demo's notifier, in order.
        all_complete_delivered: The all-complete summary reached the notifier.
        polls: Lifecycle polls made.
        duration_s: Wall time of the loop (spawn to all-complete).
    """

    timeline: list[TimelineEntry]
    workdir: Path
    project_path: Path
    origin_path: Path
    state_dir: Path
    tmux_socket: str
    session_id: str
    branch: str
    workspace_path: str
    pr_number: int
    pr_url: str
    pr_merged: bool
    merge_commit: str | None
    final_status: str
    worktree_removed: bool
    branch_kept: bool
    check_name: str
    check_url: str
    review_comments: list[tuple[str, int, str]]
    reviewer: str
    agent_messages: list[str]
    ci_message: str
    review_message: str
    ci_failed_after_poll: int
    ci_sent_in_poll: int
    changes_requested_after_poll: int
    review_sent_in_poll: int
    notifications: list[OrchestratorEvent]
    all_complete_delivered: bool
    polls: int
    duration_s: float

    def summary(self) -> str:
        """A few lines saying what the demo proved."""
        kinds = ", ".join(dict.fromkeys(e.type.value for e in self.notifications)) or "none"
        return "\n".join(
            [
                f"issue #1 → {self.session_id} on {self.branch} → PR #{self.pr_number} "
                f"{'merged' if self.pr_merged else 'NOT merged'} ({self.merge_commit or '-'}) in "
                f"{self.duration_s:.1f}s over {self.polls} polls",
                f"CI failure sent to the agent in poll {self.ci_sent_in_poll} "
                f"(CI failed after poll {self.ci_failed_after_poll}); review comments sent in poll "
                f"{self.review_sent_in_poll} (requested after poll {self.changes_requested_after_poll})",
                f"worktree {'removed' if self.worktree_removed else 'STILL THERE'}, branch "
                f"{'kept' if self.branch_kept else 'GONE'}; session status {self.final_status}",
                f"notifications delivered: {len(self.notifications)} ({kinds}); all-complete "
                f"{'delivered' if self.all_complete_delivered else 'NOT delivered'}",
            ]
        )


# =========================================================================== prerequisites


def check_prerequisites(claude: str | None = None) -> list[str]:
    """What is missing to run the demo, as messages that say how to get it (empty: nothing).

    Args:
        claude: The Claude Code executable (default: ``claude`` on ``PATH``).
    """
    problems: list[str] = []
    if shutil.which("git") is None:
        problems.append(
            "git is not on PATH: install it with 'apt-get install git' (Debian/Ubuntu) or 'brew install git'"
        )
    if shutil.which("tmux") is None:
        problems.append(
            "tmux is not on PATH: install it with 'apt-get install tmux' (Debian/Ubuntu) or 'brew install tmux'"
        )
    if shutil.which(claude or "claude") is None:
        problems.append(
            f"Claude Code ({claude or 'claude'!r}) is not on PATH: install the pinned version with\n"
            f"    {CLAUDE_CODE_INSTALL}\n  (scripts/demo in a checkout of ao does this for you)"
        )
    missing = [dist for module, dist in _REQUIRED_PLUGINS.items() if importlib.util.find_spec(module) is None]
    if missing:
        problems.append(f"the demo needs these ao plugins: pip install {' '.join(missing)}")
    return problems


def claude_version(claude: str) -> str | None:
    """The version ``claude --version`` reports (``None`` when it does not answer)."""
    try:
        done = subprocess.run([claude, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    words = done.stdout.split()
    return words[0] if done.returncode == 0 and words else None


# =========================================================================== the demo


async def run_demo(
    workdir: Path,
    *,
    out: Callable[[str], None] = print,
    poll_interval_s: float = 1.0,
    timeout_s: float = 180.0,
    claude: str | None = None,
) -> DemoResult:
    """Run the closed loop in ``workdir`` and print its timeline through ``out`` as it happens.

    While it runs, ``os.environ`` points at the demo's own services (``HOME`` = a seeded Claude Code home in
    ``workdir``, ``ANTHROPIC_BASE_URL`` = the scripted model, ``GITHUB_TOKEN`` = the fake's token): the tmux
    server the demo starts hands that environment to the agent, exactly as a user's shell would. Nothing
    reaches the network beyond 127.0.0.1, and no real key or token is read or sent. The environment is
    restored, and the tmux server, the agent's processes and both servers are stopped, when it returns or
    fails.

    Args:
        workdir: A new or empty directory for everything the demo creates (it is left in place).
        out: Receives each timeline line (and a few setup lines) as it happens.
        poll_interval_s: Seconds between lifecycle polls.
        timeout_s: The whole loop must finish within this.
        claude: The Claude Code executable (default: ``claude`` on ``PATH``).

    Returns:
        The timeline and the facts that show each step happened.

    Raises:
        DemoError: A prerequisite is missing, or a step did not happen in time (the message names the step
            and shows the agent's screen).
    """
    problems = check_prerequisites(claude)
    if problems:
        raise DemoError("cannot run the demo: " + "; ".join(problems))
    claude_path = shutil.which(claude or "claude")
    assert claude_path is not None
    workdir = Path(workdir).expanduser().resolve()
    if workdir.exists() and any(workdir.iterdir()):
        raise DemoError(f"the demo directory {workdir} is not empty; give a new or empty directory")
    workdir.mkdir(parents=True, exist_ok=True)
    demo = _Demo(workdir, out, poll_interval_s, claude_path)
    try:
        with _environment(demo.base_environment()):
            try:
                with anyio.move_on_after(timeout_s) as scope:
                    await demo.setup()
                    await demo.loop()
                if scope.cancelled_caught:
                    raise DemoError(
                        f"the demo did not finish within {timeout_s:g}s: still waiting for {demo.waiting_for}"
                        + await demo.diagnostics()
                    )
                return await demo.result()
            finally:
                with anyio.CancelScope(shield=True):
                    await demo.teardown()
    except DemoError:
        raise
    except AoError as exc:
        raise DemoError(f"the demo failed while waiting for {demo.waiting_for}: {exc}") from exc


@contextlib.contextmanager
def _environment(changes: Mapping[str, str | None]) -> Iterator[None]:
    """Apply ``changes`` (``None`` removes a variable); on exit restore ``os.environ`` as it was, whatever changed."""
    saved = dict(os.environ)
    try:
        for key, value in changes.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key in [key for key in os.environ if key not in saved]:
            del os.environ[key]
        for key, value in saved.items():
            if os.environ.get(key) != value:
                os.environ[key] = value


async def _thread(fn: Callable[[], T]) -> T:
    return await anyio.to_thread.run_sync(fn)


def _without_reminders(text: str) -> str:
    """A user message without the ``<system-reminder>`` blocks Claude Code adds to it."""
    return re.sub(r"<system-reminder>.*?</system-reminder>", "", text, flags=re.DOTALL).strip()


def _one_line(text: str, limit: int = _TEXT_LIMIT) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    flat = " ⏎ ".join(lines)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise DemoError(f"git {' '.join(args)} failed in {cwd}: {done.stderr.strip()}")
    return done.stdout.strip()


def _open_pr_command(api_url: str) -> str:
    """The shell command the scripted agent runs to open its pull request through the fake's REST API."""
    script = f"""\
import json, os, subprocess, urllib.request
branch = subprocess.run(["git", "branch", "--show-current"], capture_output=True, text=True, check=True).stdout.strip()
body = {{"head": branch, "base": "main", "title": {ISSUE_TITLE!r}, "body": "Closes #1."}}
request = urllib.request.Request(
    {api_url + "/repos/" + REPO + "/pulls"!r},
    data=json.dumps(body).encode(),
    headers={{"Authorization": "token " + os.environ["GITHUB_TOKEN"], "Accept": "application/vnd.github+json"}},
    method="POST",
)
with urllib.request.urlopen(request, timeout=30) as answer:
    print("opened", json.load(answer)["html_url"])
"""
    return f"{shlex.quote(sys.executable)} - <<'PY'\n{script}PY"


def agent_script(api_url: str) -> list[Turn]:
    """The scripted model's turns: do the issue and open a PR; fix CI when told; address the review when told."""
    from ao_testing.fakes.model_server import Turn, finish, read_file, run_shell, write_file

    return [
        Turn(text="I'll add greeting.py with a greet() function.", tool_calls=[write_file("greeting.py", GREETING_V1)]),
        Turn(
            text="Committing and pushing the branch.",
            tool_calls=[
                run_shell(f"git add greeting.py && git commit -q -m {_FIRST_COMMIT} && git push -q -u origin HEAD")
            ],
        ),
        Turn(text="Opening the pull request.", tool_calls=[run_shell(_open_pr_command(api_url))]),
        finish("I added greeting.py, pushed the branch and opened a pull request for issue #1."),
        Turn(
            text=f"The {CHECK} check fails on the unused import; let me look at the file.",
            tool_calls=[read_file("greeting.py")],
            wait_for=CHECK,
        ),
        Turn(tool_calls=[write_file("greeting.py", GREETING_V2)]),
        Turn(tool_calls=[run_shell('git commit -q -am "fix: remove the unused import (lint)" && git push -q')]),
        finish(f"Removed the unused import and pushed; {CHECK} should pass now."),
        Turn(
            text="Addressing both review comments.",
            tool_calls=[read_file("greeting.py")],
            wait_for=REVIEW_COMMENTS[0][2],
        ),
        Turn(tool_calls=[write_file("greeting.py", GREETING_V3)]),
        Turn(tool_calls=[run_shell('git commit -q -am "review: type hints and an f-string" && git push -q')]),
        finish("Added type hints and used an f-string as the reviewer asked; pushed."),
    ]


@dataclass(frozen=True)
class _TransitionRecord:
    session_id: str
    old: str | None
    new: str
    evidence: str


@dataclass(frozen=True)
class _StoreRecord:
    at: float
    what: _TransitionRecord | OrchestratorEvent


class _WatchedStore(Store):
    """ao's store, also remembering the transitions and events written to it, in order, with the time."""

    def __init__(self, path: Path) -> None:
        self._records: list[_StoreRecord] = []
        self._results: dict[str, list[NotifyResult]] = {}
        self._records_lock = threading.Lock()
        super().__init__(path)

    def record_transition(
        self,
        session_id: str,
        old: SessionStatus | None,
        new: SessionStatus,
        evidence: str,
        at: datetime | None = None,
    ) -> None:
        """Record it (see :meth:`Store.record_transition`) and remember it."""
        super().record_transition(session_id, old, new, evidence, at)
        old_value = None if old is None else SessionStatus(old).value
        self._remember(_TransitionRecord(session_id, old_value, SessionStatus(new).value, evidence))

    def record_event(self, event: OrchestratorEvent) -> None:
        """Record it (see :meth:`Store.record_event`) and remember it."""
        super().record_event(event)
        self._remember(event)

    def set_event_results(self, event_id: str, results: list[NotifyResult]) -> None:
        """Record them (see :meth:`Store.set_event_results`) and remember them."""
        super().set_event_results(event_id, results)
        with self._records_lock:
            self._results[event_id] = list(results)

    def _remember(self, what: _TransitionRecord | OrchestratorEvent) -> None:
        with self._records_lock:
            self._records.append(_StoreRecord(time.monotonic(), what))

    def take_records(self) -> list[_StoreRecord]:
        """The records written since the last call."""
        with self._records_lock:
            records, self._records = self._records, []
        return records

    def results(self, event_id: str) -> list[NotifyResult]:
        """The delivery results recorded for an event (empty when it was not delivered)."""
        with self._records_lock:
            return list(self._results.get(event_id, []))


@dataclass
class _Observed:
    """What the demo has seen and done so far."""

    pr_number: int | None = None
    pr_url: str = ""
    heads: list[str] = field(default_factory=list)
    ci_failed_after_poll: int | None = None
    ci_sent_in_poll: int | None = None
    green_head: str | None = None
    changes_requested_after_poll: int | None = None
    review_sent_in_poll: int | None = None
    approved: bool = False
    merged: bool = False
    all_complete: bool = False
    requests_seen: int = 0
    agent_messages: list[str] = field(default_factory=list)


class _Demo:
    """The demo's moving parts (see :func:`run_demo`)."""

    def __init__(self, workdir: Path, out: Callable[[str], None], poll_interval_s: float, claude: str) -> None:
        self.workdir = workdir
        self.out = out
        self.poll_interval_s = poll_interval_s
        self.claude = claude
        self.socket = f"ao-demo-{uuid.uuid4().hex[:8]}"
        self.home = workdir / "home"
        self.project = workdir / PROJECT
        self.state = workdir / "state"
        self.config_file = workdir / "agent-orchestrator.yaml"
        self.timeline: list[TimelineEntry] = []
        self.seen = _Observed()
        self.waiting_for = "the setup (fake GitHub, model server, project repository)"
        self.started = time.monotonic()
        self.loop_started = self.started
        self.fake: FakeGitHub | None = None
        self.server: ModelServer | None = None
        self.store: _WatchedStore | None = None
        self.manager: SessionManager | None = None
        self.lifecycle: LifecycleManager | None = None
        self.session_id = "-"
        self.branch = ""
        self.workspace = ""
        self.origin = Path()

    # ------------------------------------------------------------------ output

    def emit(
        self, kind: str, message: str, *, at: float | None = None, session: str | None = None, limit: int = _TEXT_LIMIT
    ) -> None:
        """Add a timeline entry and print it (``at``: when it happened, ``time.monotonic()``; default now)."""
        elapsed = max(0.0, (time.monotonic() if at is None else at) - self.started)
        polls = self.lifecycle.polls if self.lifecycle is not None else 0
        entry = TimelineEntry(elapsed, polls, session or self.session_id, kind, _one_line(message, limit))
        self.timeline.append(entry)
        self.out(entry.line())

    # ------------------------------------------------------------------ setup

    def base_environment(self) -> dict[str, str | None]:
        """The environment changes that apply before the servers exist (HOME; outer sessions removed)."""
        changes: dict[str, str | None] = dict.fromkeys(_AGENT_ENV_DROPPED)
        changes["HOME"] = str(self.home)
        return changes

    async def setup(self) -> None:
        """Start the fakes, make the project repository and the config, and build ao's managers."""
        from ao_core.config import load_config
        from ao_core.lifecycle import LifecycleManager
        from ao_core.registry import Registry
        from ao_core.sessions import SessionManager
        from ao_core.testing.plugins import PLUGIN_FILES

        from ao_testing.fakes.github import FakeGitHub
        from ao_testing.fakes.model_server import ModelServer, claude_environment, seed_claude_home

        version = await _thread(lambda: claude_version(self.claude))
        note = "" if version == CLAUDE_CODE_VERSION else f" (the demo is tested with {CLAUDE_CODE_VERSION})"
        self.emit("demo.setup", f"Claude Code {version or '?'} at {self.claude}{note}")

        fake = FakeGitHub(self.workdir / "github").start()
        self.fake = fake
        await _thread(lambda: fake.create_repo(REPO, files={"README.md": "# widgets\n\nA scratch project.\n"}))
        self.origin = fake.repo_path(REPO)
        number = await _thread(lambda: fake.create_issue(REPO, ISSUE_TITLE, ISSUE_BODY, author=REVIEWER))
        self.emit("demo.setup", f"fake GitHub at {fake.url}: {REPO} (bare repository {self.origin})")
        self.emit("github.issue", f"@{REVIEWER} opened issue #{number} on {REPO}: {ISSUE_TITLE}")

        await _thread(self._make_project)
        self.emit("demo.setup", f"project {self.project}: a clone of {REPO} (origin = the fake's bare repository)")

        server = ModelServer(log_path=self.workdir / "model-requests.jsonl").start()
        self.server = server
        server.script(*agent_script(fake.url))
        seed_claude_home(self.home)
        agent_env = claude_environment(self.home, server.base_url)
        agent_env["GITHUB_TOKEN"] = fake.default_token
        os.environ.update(agent_env)
        self.emit("demo.setup", f"scripted model at {server.base_url} ({server.pending_turns} turns)")

        self._write_config(fake.url, PLUGIN_FILES["notifier"])
        config = load_config(self.config_file)
        registry = Registry.from_config(config)
        self.store = _WatchedStore(database_path(self.state))
        self.manager = SessionManager(config, registry, self.store, state_dir=self.state, ready_timeout_s=90)
        self.lifecycle = LifecycleManager(
            config,
            registry,
            self.store,
            self.manager,
            # A demo runs in seconds, not minutes: look for the agent's pull request at every poll (the
            # default is once a minute).
            detect_pr_interval_s=0,
            send_ready_wait_s=15,  # let the agent finish its turn so that a message starts a fresh one
        )
        self.emit("demo.setup", f"config {self.config_file}; ao state in {self.state}")

    def _make_project(self) -> None:
        _git(self.workdir, "clone", "-q", str(self.origin), str(self.project))
        for key, value in (
            ("user.name", "ao demo"),
            ("user.email", "demo@example.invalid"),
            ("commit.gpgsign", "false"),
        ):
            _git(self.project, "config", key, value)

    def _write_config(self, github_url: str, notifier_plugin: Path) -> None:
        github = {"baseUrl": github_url, "tokenEnv": "GITHUB_TOKEN"}
        config: dict[str, Any] = {
            "stateDir": str(self.state),
            "pollIntervalMs": max(1000, int(self.poll_interval_s * 1000)),
            "plugins": [{"path": str(notifier_plugin)}],
            "lifecycle": {"autoCleanupOnMerge": True, "mergeCleanupIdleGraceMs": 0},
            "defaults": {
                # a slow machine must not fail the demo: the window only bounds a send that is not seen
                "runtime": {"plugin": "tmux", "socketName": self.socket, "sendConfirmTimeoutMs": 10_000},
                "agent": {"plugin": "claude-code", "command": self.claude},
                "workspace": {"plugin": "worktree"},
                "notifiers": ["demo"],
            },
            "notifiers": {"demo": {"plugin": "fake"}},
            "projects": {
                PROJECT: {
                    "path": str(self.project),
                    "repo": REPO,
                    "defaultBranch": "main",
                    "sessionPrefix": PROJECT,
                    "tracker": {"plugin": "github", **github},
                    "scm": {"plugin": "github", **github},
                    "agentConfig": {"permissions": "permissionless", "model": MODEL},
                }
            },
            "reactions": {"approved-and-green": {"auto": True, "action": "auto-merge"}},
        }
        self.config_file.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")

    # ------------------------------------------------------------------ the loop

    async def loop(self) -> None:
        """Spawn, then poll every interval, acting as CI and reviewer in between, until all is complete."""
        manager, lifecycle, fake = self.manager, self.lifecycle, self.fake
        assert manager is not None
        assert lifecycle is not None
        assert fake is not None
        self.loop_started = time.monotonic()
        self.waiting_for = "ao to spawn the agent for issue #1 (worktree, tmux, Claude Code, first prompt)"
        session = await manager.spawn(PROJECT, issue_id="1")
        self.session_id, self.branch = session.id, session.branch or ""
        self.workspace = session.workspace_path or ""
        self._drain_store()
        delivered = "typed in" if session.metadata.get("promptDelivered") else "NOT delivered"
        self.emit(
            "session.spawned",
            f"ao spawn {PROJECT} 1 → {session.id} on {self.branch}, worktree {self.workspace}; task prompt {delivered}",
            limit=600,
        )
        self.emit("demo", f"watch the agent live: tmux -L {self.socket} attach -t {session.id}")
        self.waiting_for = "the agent to commit, push and open a pull request"
        while not self.seen.all_complete:
            await self._observe()
            report = await lifecycle.poll_once()
            self._record_poll(report)
            self._check_health()
            green = self.seen.green_head
            if green is not None and self.seen.changes_requested_after_poll is None and self._sees_green(green):
                await self._request_changes()
            next_poll = time.monotonic() + self.poll_interval_s
            while not self.seen.all_complete and time.monotonic() < next_poll:
                await self._observe()
                await anyio.sleep(_OBSERVE_EVERY_S)

    async def _observe(self) -> None:
        """Read what the agent did (model requests, pushes, the pull request) and act as CI and reviewer."""
        self._agent_messages()
        fake = self.fake
        assert fake is not None
        if self.seen.merged:
            return
        pr = await _thread(self._fake_pr)
        if pr is None:
            return
        number, url, head = pr
        if self.seen.pr_number is None:
            self.seen.pr_number, self.seen.pr_url = number, url
            self.emit("github.pull_request", f"the agent opened PR #{number} ({self.branch} → main): {url}")
        if head in self.seen.heads:
            return
        self.seen.heads.append(head)
        self.emit("github.push", f"{self.branch} is now at {head[:10]} (push #{len(self.seen.heads)} on PR #{number})")
        await self._act_as_ci(number, head)

    def _fake_pr(self) -> tuple[int, str, str] | None:
        """The open pull request of the session's branch on the fake: number, URL, head (after reading pushes)."""
        fake = self.fake
        assert fake is not None
        if not self.branch:
            return None
        fake.sync(REPO)
        with fake.lock:
            for pr in fake.repo(REPO).pulls():
                if pr.head_ref == self.branch and pr.state == "open":
                    return pr.number, f"{fake.url}/{REPO}/pull/{pr.number}", pr.head_sha
        return None

    async def _act_as_ci(self, number: int, head: str) -> None:
        """CI runs on every new head: the first fails ``lint``, later ones pass; the reviewer follows."""
        fake, lifecycle = self.fake, self.lifecycle
        assert fake is not None
        assert lifecycle is not None
        pushes = len(self.seen.heads)
        if pushes == 1:
            url = self.check_url(1)
            await _thread(
                lambda: fake.fail_ci(
                    REPO,
                    number,
                    CHECK,
                    details_url=url,
                    summary="greeting.py:1:1: F401 'os' imported but unused",
                    log=LINT_LOG,
                )
            )
            self.seen.ci_failed_after_poll = lifecycle.polls
            self.emit("github.check_run", f"CI: check '{CHECK}' failed on {head[:10]} — {url}")
            self.waiting_for = f"ao to send the failing '{CHECK}' check to the agent, and the agent to push a fix"
            return
        url = self.check_url(pushes)
        await _thread(lambda: fake.pass_ci(REPO, number, CHECK, details_url=url))
        self.emit("github.check_run", f"CI: check '{CHECK}' passed on {head[:10]} — {url}")
        if pushes == 2:
            self.seen.green_head = head
            self.waiting_for = "ao to see CI pass on the fix (then the reviewer requests changes)"
        elif pushes == 3 and not self.seen.approved:
            for index in range(len(REVIEW_COMMENTS)):
                await _thread(functools.partial(fake.resolve_thread, REPO, number, index, user=REVIEWER))
            await _thread(lambda: fake.approve(REPO, number, reviewer=REVIEWER, body="Looks good, thanks!"))
            self.seen.approved = True
            self.emit("github.review", f"@{REVIEWER} resolved both threads and approved PR #{number}")
            self.waiting_for = "ao to auto-merge the approved, green pull request"

    def check_url(self, run: int) -> str:
        """The details URL of CI run ``run`` (a page of the fake GitHub)."""
        assert self.fake is not None
        return f"{self.fake.url}/{REPO}/actions/runs/{run}"

    async def _request_changes(self) -> None:
        fake, lifecycle = self.fake, self.lifecycle
        assert fake is not None
        assert lifecycle is not None
        number = self.seen.pr_number
        assert number is not None
        await _thread(
            lambda: fake.request_changes(
                REPO, number, list(REVIEW_COMMENTS), reviewer=REVIEWER, body="Two small things before we merge."
            )
        )
        self.seen.changes_requested_after_poll = lifecycle.polls
        where = "; ".join(f'{path}:{line} "{body}"' for path, line, body in REVIEW_COMMENTS)
        self.emit("github.review", f"@{REVIEWER} requested changes on PR #{number}: {where}")
        self.waiting_for = "ao to send both review comments to the agent, and the agent to push the changes"

    def _agent_messages(self) -> None:
        """New user messages the model server received: what the agent was told (prompt, CI, review)."""
        server = self.server
        assert server is not None
        requests = server.requests
        for request in requests[self.seen.requests_seen :]:
            # Agent-loop requests only: side requests (title generation) quote the prompt in a template.
            text = request.user_text if request.kind in ("turn", "idle") else ""
            if text.strip():
                self.seen.agent_messages.append(text)
                said = _without_reminders(text)
                self.emit("agent.message", f"the agent's model received: {said}", at=request.received_at, limit=900)
        self.seen.requests_seen = len(requests)

    # ------------------------------------------------------------------ reading ao's records

    def _record_poll(self, report: PollReport) -> None:
        lifecycle = self.lifecycle
        assert lifecycle is not None
        for reaction in report.reactions:
            if reaction.key == "ci-failed" and reaction.result == "sent" and self.seen.ci_sent_in_poll is None:
                self.seen.ci_sent_in_poll = lifecycle.polls
            if (
                reaction.key == "changes-requested"
                and reaction.result == "sent"
                and self.seen.review_sent_in_poll is None
            ):
                self.seen.review_sent_in_poll = lifecycle.polls
            if reaction.result not in ("sent", "notified", "merged"):
                detail = f" — {reaction.detail}" if reaction.detail else ""
                self.emit("reaction", f"{reaction.key} ({reaction.action}): {reaction.result}{detail}")
        for cleanup in report.cleanups:
            if cleanup.get("result") != "cleaned":
                self.emit("cleanup", f"{cleanup.get('result')}: {cleanup.get('detail')}")
        for error in report.errors:
            self.emit("poll.error", error)
        self._drain_store()

    def _sees_green(self, head: str) -> bool:
        store = self.store
        assert store is not None
        session = store.get_session(self.session_id)
        snapshot = (session.metadata.get("prSnapshot") or {}) if session is not None else {}
        return bool(snapshot.get("head_sha") == head and snapshot.get("ci_status") == "passing")

    def _drain_store(self) -> None:
        """Print the transitions and events ao wrote to its store since the last look, in the order written.

        A transition and the event it emitted (written right after it) make one line, labelled with the
        event's type; the notifiers that received an event are named at its end.
        """
        store = self.store
        assert store is not None
        records = store.take_records()
        index = 0
        while index < len(records):
            record = records[index]
            index += 1
            if isinstance(record.what, _TransitionRecord):
                change = record.what
                kind, suffix = "status", ""
                following = records[index].what if index < len(records) else None
                if (
                    isinstance(following, OrchestratorEvent)
                    and following.session_id == change.session_id
                    and following.data.get("newStatus") == change.new
                    and following.data.get("oldStatus") == change.old
                ):
                    kind, suffix = following.type.value, _delivered(store.results(following.id))
                    index += 1
                text = f"{change.old or '(new)'} → {change.new} — {change.evidence}{suffix}"
                self.emit(kind, text, at=record.at, session=change.session_id)
                self._note_status(SessionStatus(change.new))
                continue
            event = record.what
            message = event.message
            if message.startswith(f"{event.session_id}: "):
                message = message[len(event.session_id) + 2 :]
            results = store.results(event.id)
            self.emit(event.type.value, message + _delivered(results), at=record.at, session=event.session_id)
            if event.type.value == "summary.all_complete" and any(r.ok for r in results):
                self.seen.all_complete = True

    def _note_status(self, status: SessionStatus) -> None:
        if status is SessionStatus.MERGED:
            self.seen.merged = True
            self.waiting_for = "ao to clean up the merged session (tmux session and worktree)"
        elif status is SessionStatus.CLEANUP:
            self.waiting_for = "the all-complete notification"

    def _check_health(self) -> None:
        """Stop early when the session went somewhere the demo cannot come back from."""
        store = self.store
        assert store is not None
        session = store.get_session(self.session_id)
        if session is None:
            raise DemoError(f"session {self.session_id} disappeared from the store")
        if session.status in (SessionStatus.KILLED, SessionStatus.ERRORED, SessionStatus.TERMINATED):
            raise DemoError(
                f"session {self.session_id} ended as {session.status.value} ({session.status_evidence}) while "
                f"waiting for {self.waiting_for}"
            )

    # ------------------------------------------------------------------ the end

    async def diagnostics(self) -> str:
        """The session's status and the last lines of the agent's screen, for an error message."""
        parts: list[str] = []
        if self.store is not None and self.session_id != "-":
            session = self.store.get_session(self.session_id)
            if session is not None:
                parts.append(f"session {session.id}: {session.status.value} ({session.status_evidence})")
        if self.server is not None:
            parts.append(f"model turns served: {self.server.served_turns}, pending: {self.server.pending_turns}")
        if self.manager is not None and self.session_id != "-":
            # Best effort: the error message is worth more than a failure to read the screen.
            with contextlib.suppress(Exception), anyio.fail_after(10):
                screen = await self.manager.get_output(self.session_id, 25)
                parts.append("the agent's screen:\n" + screen.rstrip())
        return ("\n" + "\n".join(parts)) if parts else ""

    async def result(self) -> DemoResult:
        """The facts, read from the fake, git, the model server's log and ao's store."""
        from ao_core.testing import RecordingNotifier

        fake, server, store, lifecycle = self.fake, self.server, self.store, self.lifecycle
        assert fake is not None
        assert server is not None
        assert store is not None
        assert lifecycle is not None
        seen = self.seen
        assert seen.pr_number is not None
        number = seen.pr_number
        pr = await _thread(lambda: fake.pr(REPO, number))
        worktrees = await _thread(lambda: _git(self.project, "worktree", "list", "--porcelain"))
        listed = {line.split(" ", 1)[1] for line in worktrees.splitlines() if line.startswith("worktree ")}
        branches = await _thread(
            lambda: _git(self.project, "branch", "--list", self.branch, "--format=%(refname:short)")
        )
        session = store.get_session(self.session_id)
        notifier = lifecycle.dispatcher.notifier("demo")
        delivered = list(notifier.events) if isinstance(notifier, RecordingNotifier) else []
        return DemoResult(
            timeline=list(self.timeline),
            workdir=self.workdir,
            project_path=self.project,
            origin_path=self.origin,
            state_dir=self.state,
            tmux_socket=self.socket,
            session_id=self.session_id,
            branch=self.branch,
            workspace_path=self.workspace,
            pr_number=number,
            pr_url=seen.pr_url,
            pr_merged=pr.merged,
            merge_commit=pr.merge_commit_sha,
            final_status=session.status.value if session is not None else "?",
            worktree_removed=not Path(self.workspace).exists() and self.workspace not in listed,
            branch_kept=branches.strip() == self.branch,
            check_name=CHECK,
            check_url=self.check_url(1),
            review_comments=list(REVIEW_COMMENTS),
            reviewer=REVIEWER,
            agent_messages=list(seen.agent_messages),
            ci_message=_message_of_turn(server, CHECK),
            review_message=_message_of_turn(server, REVIEW_COMMENTS[0][2]),
            ci_failed_after_poll=_known(seen.ci_failed_after_poll),
            ci_sent_in_poll=_known(seen.ci_sent_in_poll),
            changes_requested_after_poll=_known(seen.changes_requested_after_poll),
            review_sent_in_poll=_known(seen.review_sent_in_poll),
            notifications=delivered,
            all_complete_delivered=any(e.type.value == "summary.all_complete" for e in delivered),
            polls=lifecycle.polls,
            duration_s=time.monotonic() - self.loop_started,
        )

    async def teardown(self) -> None:
        """Stop the tmux server (and what the agent left running), the servers, and close the store."""
        with contextlib.suppress(Exception):  # a failed tmux call must not keep the servers running
            await _thread(lambda: stop_tmux_server(self.socket))
        if self.server is not None:
            self.server.stop()
        if self.fake is not None:
            await _thread(self.fake.stop)
        if self.store is not None:
            self.store.close()


def _known(value: int | None) -> int:
    return -1 if value is None else value


def _delivered(results: list[NotifyResult]) -> str:
    names = [r.notifier for r in results if r.ok]
    failed = [f"{r.notifier}: {r.error}" for r in results if not r.ok]
    text = f" [notified: {', '.join(names)}]" if names else ""
    return text + (f" [notification failed: {'; '.join(failed)}]" if failed else "")


def _message_of_turn(server: ModelServer, wait_for: str) -> str:
    """The user message of the request that was served the scripted turn waiting for ``wait_for``."""
    index = next(i for i, turn in enumerate(agent_script("http://127.0.0.1")) if turn.wait_for == wait_for)
    return next((request.user_text for request in server.turn_requests if request.turn == index), "")


# =========================================================================== tmux clean-up


def stop_tmux_server(socket: str) -> None:
    """Kill the tmux server ``tmux -L socket`` and every process its panes started (tools the agent ran)."""
    env = {key: value for key, value in os.environ.items() if key not in ("TMUX", "TMUX_PANE")}
    panes = subprocess.run(
        ["tmux", "-L", socket, "list-panes", "-a", "-F", "#{pane_pid}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=10,
        check=False,
    )
    leaders = {int(word) for word in panes.stdout.split() if word.isdigit()}
    below = [pid for leader in leaders for pid in _descendants(leader)]
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, env=env, timeout=10, check=False)
    for pid in [*leaders, *below]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    if hasattr(os, "getuid"):
        # tmux leaves the socket file of a killed server behind.
        with contextlib.suppress(OSError):
            (Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}" / socket).unlink()


def _descendants(root: int) -> list[int]:
    """Every live process below ``root`` by parent pid (Linux ``/proc``; nothing elsewhere)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    parents: dict[int, int] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and fields[0] != "Z":
            parents[int(entry.name)] = int(fields[1])
    found: list[int] = []
    frontier = {root}
    while frontier:
        children = {pid for pid, parent in parents.items() if parent in frontier and pid not in found}
        found.extend(children)
        frontier = children
    return found
