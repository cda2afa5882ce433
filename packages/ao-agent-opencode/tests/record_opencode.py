"""Record what the real OpenCode CLI shows and stores, for the table tests of this package.

Run it after installing a new OpenCode version (it records the version ``opencode --version`` reports)::

    PATH=/tmp/ao-agents/node_modules/.bin:$PATH .venv/bin/python packages/ao-agent-opencode/tests/record_opencode.py

It drives OpenCode's terminal UI in tmux (its own socket) with the environment and commands the plugin builds,
against the scripted model server, in fresh HOMEs and git repositories under a temporary directory, and
writes ``data/opencode-<version>/``:

- ``screens/<state>.txt``: the pane as ``capture-pane -p -J`` shows it (trailing blank lines removed), named
  after what the screen shows (``ready-*``, ``busy-*``, ``permission-*``);
- ``database/schema.sql``: how OpenCode creates the tables ``session``, ``message`` and ``part``;
- ``database/<moment>.json``: the rows of the session in those tables at that moment;
- ``cli/session-list.json`` and ``cli/export.json``: what ``opencode session list --format json`` and
  ``opencode export <id>`` printed after a turn.

The table tests read these files, so output or storage that a new version changes makes them fail until the
plugin is updated.
"""

from __future__ import annotations

import json
import os
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ao_agent_opencode import OpenCodeAgentConfig, create
from ao_agent_opencode._agent import OpenCodeAgent
from ao_core.models import AgentLaunchConfig, PermissionMode
from ao_testing.fakes.model_server import ApiError, ModelServer, Turn, Usage, finish, run_shell, write_file

HERE = Path(__file__).parent
SOCKET = f"ao-record-opencode-{uuid.uuid4().hex[:8]}"
MODEL = "anthropic/claude-sonnet-4-5"
TABLES = ("session", "message", "part")


def tmux(*args: str) -> str:
    env = {key: value for key, value in os.environ.items() if key not in ("TMUX", "TMUX_PANE")}
    done = subprocess.run(["tmux", "-L", SOCKET, *args], capture_output=True, text=True, env=env, timeout=10)
    return done.stdout


def screen(name: str) -> str:
    rows = [row.rstrip() for row in tmux("capture-pane", "-p", "-J", "-t", f"={name}:").split("\n")]
    while rows and not rows[-1]:
        rows.pop()
    return "\n".join(rows)


def wait(condition: Callable[[], bool], what: str, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}; screen:\n{screen_of_all()}")


def screen_of_all() -> str:
    names = tmux("list-sessions", "-F", "#{session_name}").split()
    return "\n\n".join(f"--- {name}\n{screen(name)}" for name in names)


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    for args in (
        ["init", "-q", "-b", "main"],
        ["config", "user.email", "rec@example.invalid"],
        ["config", "user.name", "recorder"],
        ["commit", "-q", "--allow-empty", "-m", "init"],
    ):
        subprocess.run(["git", "-C", str(path), *args], check=True, timeout=30)
    return path


class Run:
    """One OpenCode in tmux: its HOME, workspace, the plugin's environment."""

    def __init__(self, name: str, root: Path, server: ModelServer, permissions: PermissionMode) -> None:
        self.name = name
        self.home = root / f"{name}-home"
        self.home.mkdir()
        self.workspace = make_repo(root / name / "work")
        prompt_file = root / f"{name}-system-prompt.md"
        prompt_file.write_text("You work for ao. Keep commits small.\n")
        self.agent = create(
            OpenCodeAgentConfig(provider="anthropic", base_url=f"{server.base_url}/v1", api_key="sk-ant-recorder-dummy")
        )
        assert isinstance(self.agent, OpenCodeAgent)
        self.permissions = permissions
        self.prompt_file = prompt_file
        self.script = root / f"{name}-launch.sh"

    def launch_config(self, prompt: str | None) -> AgentLaunchConfig:
        return AgentLaunchConfig(
            session_id=self.name,
            project_id="record",
            workspace_path=str(self.workspace),
            permissions=self.permissions,
            model=MODEL,
            system_prompt_file=str(self.prompt_file),
            prompt=prompt,
        )

    def env(self) -> dict[str, str]:
        return {
            "HOME": str(self.home),
            "PATH": os.environ["PATH"],
            **self.agent.get_environment(self.launch_config(None)),
        }

    def start(self, command: str) -> None:
        exports = "\n".join(f"export {key}={shlex.quote(value)}" for key, value in self.env().items())
        self.script.write_text(f"{exports}\n{command}\n")
        tmux(
            "new-session",
            "-d",
            "-s",
            self.name,
            "-x",
            "200",
            "-y",
            "50",
            "-c",
            str(self.workspace),
            "sh",
            str(self.script),
        )

    def launch(self, prompt: str | None = None) -> None:
        self.start(self.agent.get_launch_command(self.launch_config(prompt)))

    @property
    def database(self) -> Path:
        return self.home / ".local" / "share" / "opencode" / "opencode.db"

    def session_id(self) -> str | None:
        if not self.database.exists():
            return None
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True) as db:
            row = db.execute("SELECT id FROM session ORDER BY time_created LIMIT 1").fetchone()
        return row[0] if row else None

    def opencode(self, *args: str) -> str:
        env = {**os.environ, **self.env()}
        done = subprocess.run(
            ["opencode", *args], cwd=self.workspace, env=env, capture_output=True, text=True, timeout=60
        )
        return done.stdout


def paste(name: str, text: str) -> None:
    """Type a message the way the tmux runtime does: one bracketed paste, then Enter."""
    buffer = f"rec-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["tmux", "-L", SOCKET, "load-buffer", "-b", buffer, "-"], input=text.encode(), check=True, timeout=10
    )
    tmux("send-keys", "-t", f"={name}:", "C-u")
    tmux("paste-buffer", "-b", buffer, "-d", "-p", "-r", "-t", f"={name}:")
    time.sleep(0.5)
    tmux("send-keys", "-t", f"={name}:", "Enter")


def footer(name: str) -> str:
    rows = [row for row in screen(name).split("\n") if row.strip()]
    return rows[-1] if rows else ""


def ready(name: str) -> Callable[[], bool]:
    def check() -> bool:
        text = screen(name)
        return "ctrl+p commands" in text and "esc interrupt" not in text and "\u2579\u2580" in text

    return check


def shows(name: str, *texts: str) -> Callable[[], bool]:
    return lambda: all(text in screen(name) for text in texts)


def save_screen(out: Path, state: str, text: str) -> None:
    (out / "screens" / f"{state}.txt").write_text(text + "\n", encoding="utf-8")
    print(f"  screen {state}")


def save_rows(out: Path, moment: str, run: Run) -> None:
    session_id = run.session_id()
    assert session_id is not None, "no session yet"
    rows: dict[str, list[dict[str, Any]]] = {}
    with sqlite3.connect(f"file:{run.database}?mode=ro", uri=True) as db:
        db.row_factory = sqlite3.Row
        for table in TABLES:
            column = "id" if table == "session" else "session_id"
            found = db.execute(f"SELECT * FROM {table} WHERE {column} = ? ORDER BY rowid", (session_id,)).fetchall()
            rows[table] = [dict(row) for row in found]
        schema = [
            db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()[0]
            for table in TABLES
        ]
    (out / "database" / "schema.sql").write_text(";\n\n".join(schema) + ";\n", encoding="utf-8")
    (out / "database" / f"{moment}.json").write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    print(f"  database {moment}")


def work_scenario(root: Path, server: ModelServer, out: Path) -> None:
    """Permissionless: the empty UI, a turn with a file write and a commit, the CLI views, an API error."""
    print("scenario: permissionless turn")
    run = Run("work", root, server, PermissionMode.PERMISSIONLESS)
    run.launch()
    wait(ready("work"), "the first paint", 90)
    time.sleep(1)
    save_screen(out, "ready-fresh", screen("work"))
    server.script(
        Turn(
            text="I will write the file.",
            tool_calls=[write_file("hello.txt", "hello\n")],
            usage=Usage(1000, 50, 200, 300),
            delay_s=4,
        ),
        Turn(tool_calls=[run_shell("sleep 4; git add -A && git commit -qm 'add hello'")], usage=Usage(1100, 40)),
        finish("All done.", usage=Usage(1200, 10)),
    )
    paste("work", "please write hello.txt\nand commit it")
    wait(lambda: "esc interrupt" in footer("work"), "the busy footer")
    time.sleep(1.5)
    save_screen(out, "busy-thinking", screen("work"))
    save_rows(out, "turn-started", run)
    wait(shows("work", "sleep 4; git add"), "the running tool")
    time.sleep(1)
    save_screen(out, "busy-tool-running", screen("work"))
    save_rows(out, "tool-running", run)
    wait(shows("work", "All done."), "the end of the turn")
    wait(ready("work"), "the prompt after the turn")
    time.sleep(1.5)
    save_screen(out, "ready-after-turn", screen("work"))
    save_rows(out, "turn-complete", run)
    session_id = run.session_id()
    assert session_id is not None
    (out / "cli" / "session-list.json").write_text(run.opencode("session", "list", "--format", "json"))
    (out / "cli" / "export.json").write_text(run.opencode("export", session_id))
    print("  cli session-list, export")
    server.script(Turn(error=ApiError(400, "invalid_request_error", "recorded failure")))
    paste("work", "now fail please")
    wait(shows("work", "recorded failure"), "the API error")
    wait(ready("work"), "the prompt after the error")
    time.sleep(1)
    save_screen(out, "ready-after-api-error", screen("work"))
    save_rows(out, "api-error", run)
    tmux("kill-session", "-t", "=work")


def ask_scenario(root: Path, server: ModelServer, out: Path) -> None:
    """Permissions that ask: the inline prompt, the permission dialogs for an edit and a command."""
    print("scenario: permissions ask")
    run = Run("ask", root, server, PermissionMode.SUGGEST)
    server.script(
        Turn(text="I will write the file.", tool_calls=[write_file("hello.txt", "hello\n")]),
        Turn(tool_calls=[run_shell("git add -A && git commit -qm 'add hello'")]),
        finish("All done."),
    )
    run.launch("please write hello.txt and commit it")
    wait(shows("ask", "Permission required"), "the edit permission", 90)
    time.sleep(1)
    save_screen(out, "permission-edit", screen("ask"))
    save_rows(out, "permission-pending", run)
    tmux("send-keys", "-t", "=ask:", "Enter")
    wait(shows("ask", "git add -A"), "the command permission")
    wait(shows("ask", "Permission required"), "the command permission")
    time.sleep(1)
    save_screen(out, "permission-bash", screen("ask"))
    tmux("send-keys", "-t", "=ask:", "Enter")
    wait(shows("ask", "All done."), "the end of the turn")
    wait(ready("ask"), "the prompt after the turn")
    tmux("kill-session", "-t", "=ask")


def resume_scenario(root: Path, server: ModelServer, out: Path) -> None:
    """Killed in the middle of a command, then resumed with the plugin's restore command."""
    print("scenario: killed mid-task, resumed")
    run = Run("resume", root, server, PermissionMode.PERMISSIONLESS)
    marker = f"ao-record-{uuid.uuid4().hex[:6]}"
    server.script(Turn(text="A long command.", tool_calls=[run_shell(f"sleep 30 # {marker}")]))
    run.launch("run the long command")
    wait(shows("resume", f"# {marker}"), "the running command", 90)
    time.sleep(1)
    tmux("kill-session", "-t", "=resume")
    subprocess.run(["pkill", "-f", marker], check=False)
    save_rows(out, "killed-mid-command", run)
    session_id = run.session_id()
    assert session_id is not None
    run.start(shlex.join(["opencode", "--session", session_id]))
    wait(ready("resume"), "the prompt after resume", 90)
    time.sleep(1.5)
    save_screen(out, "ready-after-resume", screen("resume"))
    save_rows(out, "resumed", run)
    tmux("kill-session", "-t", "=resume")


def main() -> int:
    version = subprocess.run(["opencode", "--version"], capture_output=True, text=True, check=True, timeout=60)
    number = version.stdout.strip().split()[-1]
    out = HERE / "data" / f"opencode-{number}"
    for sub in ("screens", "database", "cli"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    print(f"recording OpenCode {number} into {out}")
    with (
        tempfile.TemporaryDirectory(prefix="ao-record-opencode-") as tmp,
        ModelServer(side_reply="Write hello file") as server,
    ):
        root = Path(tmp)
        try:
            work_scenario(root, server, out)
            ask_scenario(root, server, out)
            resume_scenario(root, server, out)
        finally:
            tmux("kill-server")
            (Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}" / SOCKET).unlink(missing_ok=True)
    print("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
