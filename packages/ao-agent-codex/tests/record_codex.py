"""Record what the real Codex CLI shows and writes, for the table tests of this package.

Run it after installing a new Codex version (it records the version ``codex --version`` reports)::

    PATH=/tmp/ao-agents/node_modules/.bin:$PATH .venv/bin/python packages/ao-agent-codex/tests/record_codex.py

It launches the TUI in tmux (its own socket) the way the plugin does (``CodexAgent.get_launch_command``),
against the scripted model server, each scenario in a fresh ``CODEX_HOME`` and git repository under a
temporary directory, and writes ``data/codex-<version>/``:

- ``screens/<state>.txt``: the pane as ``capture-pane -p -J`` shows it (trailing blank lines removed), named
  after what it shows (``ready-*``, ``busy-*``, ``permission-*``, ``dialog-*``);
- ``rollouts/<moment>.jsonl``: copies of the session's rollout at that moment, and ``rollouts/usage.json``:
  the usage the script declared for the turns of ``turn-complete.jsonl``;
- ``session_index.jsonl``: Codex's index of thread titles.

The temporary directory is replaced by ``/tmp/ao-codex-record`` in every recorded file. The table tests
(``test_screen.py``, ``test_rollout.py``) read these files, so output that a new version changes makes them
fail until the plugin is updated.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import anyio
from ao_agent_codex import CodexAgentConfig, CodexProvider, create
from ao_agent_codex._agent import CodexAgent
from ao_core.models import AgentLaunchConfig, PermissionMode, WorkspaceHooksConfig
from ao_testing.fakes.model_server import ApiError, ModelServer, ToolCall, Turn, Usage, finish, run_shell, write_file

HERE = Path(__file__).parent
SOCKET = f"ao-record-{uuid.uuid4().hex[:8]}"
PLACEHOLDER = "/tmp/ao-codex-record"
KEY_VAR = "AO_RECORD_MODEL_KEY"

# The usage the main scenario's turns declare (uncached input, output, cached input).
USAGE = [Usage(1200, 80, 300), Usage(1500, 40, 900), Usage(1700, 12, 1100)]


def tmux(*args: str) -> str:
    env = {key: value for key, value in os.environ.items() if key not in ("TMUX", "TMUX_PANE")}
    done = subprocess.run(["tmux", "-L", SOCKET, *args], capture_output=True, text=True, env=env, timeout=10)
    return done.stdout


def screen(name: str = "rec") -> str:
    rows = [row.rstrip() for row in tmux("capture-pane", "-p", "-J", "-t", f"={name}:").split("\n")]
    while rows and not rows[-1]:
        rows.pop()
    return "\n".join(rows)


def wait(condition: Callable[[], bool], what: str, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}; screen:\n{screen()}")


def git(path: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(path), *args], check=True, timeout=30, capture_output=True)


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "rec@example.invalid")
    git(path, "config", "user.name", "recorder")
    git(path, "commit", "-q", "--allow-empty", "-m", "init")
    return path


def make_worktree(root: Path, name: str) -> Path:
    repo = make_repo(root / f"{name}-repo")
    tree = root / "worktrees" / name
    git(repo, "worktree", "add", "-q", "-b", f"session/{name}", str(tree))
    return tree


class Recorder:
    def __init__(self, root: Path, out: Path, server: ModelServer) -> None:
        self.root = root
        self.out = out
        self.server = server

    def agent(self, home: Path, *, trust: bool = True) -> CodexAgent:
        provider = CodexProvider(id="ao-record", base_url=self.server.openai_base_url, env_key=KEY_VAR)
        agent = create(CodexAgentConfig(codex_home=str(home), provider=provider, trust_workspace=trust))
        assert isinstance(agent, CodexAgent)
        return agent

    def launch(
        self,
        agent: CodexAgent,
        workspace: Path,
        prompt: str | None,
        permissions: PermissionMode = PermissionMode.PERMISSIONLESS,
        *,
        command: str | None = None,
    ) -> None:
        config = AgentLaunchConfig(
            session_id="rec-1",
            project_id="rec",
            workspace_path=str(workspace),
            prompt=prompt,
            permissions=permissions,
            model="fake-model",
            system_prompt="You are recorded by ao.",
        )
        hooks = WorkspaceHooksConfig(session_id="rec-1", data_dir=str(self.root / "state"))
        anyio.run(agent.setup_workspace_hooks, str(workspace), hooks)
        line = command or agent.get_launch_command(config)
        env = {**agent.get_environment(config), KEY_VAR: "dummy", "HOME": str(self.root / "home")}
        exports = " ".join(f"{key}={shlex.quote(value)}" for key, value in env.items())
        tmux("kill-session", "-t", "=rec")
        tmux(
            "new-session", "-d", "-s", "rec", "-x", "200", "-y", "50", "-c", str(workspace),
            f"env {exports} {line}",
        )  # fmt: skip

    def type(self, text: str) -> None:
        tmux("send-keys", "-t", "=rec:", "-l", text)
        tmux("send-keys", "-t", "=rec:", "Enter")

    def save_screen(self, name: str) -> None:
        self._write(self.out / "screens" / f"{name}.txt", screen() + "\n")

    def save_rollout(self, home: Path, name: str) -> Path:
        (path,) = sorted((home / "sessions").glob("*/*/*/rollout-*.jsonl"))
        self._write(self.out / "rollouts" / f"{name}.jsonl", path.read_text(encoding="utf-8"))
        return path

    def _write(self, target: Path, text: str) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text.replace(str(self.root), PLACEHOLDER), encoding="utf-8")

    def home(self, name: str) -> Path:
        home = self.root / name / "codex-home"
        home.mkdir(parents=True)
        return home


def scenario_first_run(rec: Recorder) -> None:
    """Fresh homes with nothing trusted: the trust dialog, for a plain folder and for a git worktree."""
    for name, workspace in (
        ("dialog-trust", make_repo(rec.root / "first-run" / "plain")),
        ("dialog-trust-worktree", make_worktree(rec.root / "first-run", "wt")),
    ):
        home = rec.home(f"first-run-{name}")
        rec.launch(rec.agent(home, trust=False), workspace, "hello")
        wait(lambda: "Trust this folder" in screen(), "the trust dialog")
        time.sleep(0.5)
        rec.save_screen(name)
        tmux("kill-session", "-t", "=rec")


def scenario_main(rec: Recorder) -> None:
    """A turn that writes and commits, an API error, a turn killed midway, and its resume."""
    workspace = make_worktree(rec.root / "main", "s-1")
    home = rec.home("main")
    agent = rec.agent(home)
    rec.server.script(
        Turn(text="Writing hello.txt.", tool_calls=[write_file("hello.txt", "hello\n")], usage=USAGE[0]),
        Turn(tool_calls=[run_shell("git add hello.txt && git commit -qm 'Add hello.txt'")], usage=USAGE[1], delay_s=3),
        finish("All done.", usage=USAGE[2]),
    )
    rec.launch(agent, workspace, "Create hello.txt and commit it")
    wait(lambda: "Working" in screen() and "esc to interrupt" in screen(), "the busy screen")
    time.sleep(0.3)
    rec.save_screen("busy-working")
    rec.save_rollout(home, "turn-in-progress")
    wait(lambda: "All done." in screen() and "esc to interrupt" not in screen(), "the end of the turn")
    time.sleep(1.0)
    rec.save_screen("ready-after-turn")
    rec.save_rollout(home, "turn-complete")
    (rec.out / "rollouts" / "usage.json").write_text(
        json.dumps({"turns": [asdict(usage) for usage in USAGE]}, indent=2) + "\n", encoding="utf-8"
    )

    rec.server.script(Turn(error=ApiError(400, "invalid_request_error", "scripted failure")))
    rec.type("Now fail please")
    wait(lambda: "scripted failure" in screen(), "the error")
    time.sleep(1.0)
    rec.save_screen("ready-after-error")
    rec.save_rollout(home, "api-error")

    rec.server.script(Turn(text="Taking a while.", tool_calls=[run_shell("echo slow")], delay_s=60))
    rec.type("Take your time")
    wait(lambda: "esc to interrupt" in screen(), "the second busy screen")
    time.sleep(1.0)
    rec.save_screen("busy-waiting-for-model")
    tmux("kill-server")
    time.sleep(0.5)
    path = rec.save_rollout(home, "killed-mid-turn")
    thread_id = json.loads(path.read_text(encoding="utf-8").splitlines()[0])["payload"]["id"]

    before = len(rec.server.requests)
    rec.server.script(finish("Resumed and done.", usage=Usage(2000, 20, 1500), wait_for="continue"))
    resume = anyio.run(_restore_command, agent, thread_id, str(workspace))
    rec.launch(agent, workspace, None, command=resume)
    wait(lambda: "Ask Codex" in screen(), "the resumed TUI")
    time.sleep(1.0)
    rec.save_screen("ready-after-resume")
    rec.type("continue please")
    wait(lambda: "Resumed and done." in screen() and "esc to interrupt" not in screen(), "the resumed turn")
    time.sleep(1.0)
    rec.save_rollout(home, "resumed")
    turn = next(r for r in rec.server.requests[before:] if r.kind == "turn")
    assert turn.contains("Create hello.txt and commit it"), "resume lost the first prompt"
    assert turn.contains("All done."), "resume lost the first answer"
    rec._write(rec.out / "session_index.jsonl", (home / "session_index.jsonl").read_text(encoding="utf-8"))
    tmux("kill-session", "-t", "=rec")


async def _restore_command(agent: CodexAgent, thread_id: str, workspace: str) -> str:
    from ao_core.config import ProjectConfig
    from ao_core.models import Session

    session = Session(id="rec-1", project_id="rec", workspace_path=workspace, metadata={"codexThreadId": thread_id})
    project = ProjectConfig.model_validate({"path": workspace, "agentConfig": {"model": "fake-model"}})
    command = await agent.get_restore_command(session, project)
    assert command is not None
    return command


def scenario_approval(rec: Recorder) -> None:
    """``suggest`` permissions: a command that needs approval, then the ready screen of that mode."""
    workspace = make_worktree(rec.root / "approval", "s-2")
    home = rec.home("approval")
    escalated = ToolCall(
        "run_shell",
        {"command": "echo hi > notes.txt", "sandbox_permissions": "require_escalated", "justification": "Write notes?"},
    )
    rec.server.script(Turn(text="I need to write notes.txt.", tool_calls=[escalated]), finish("Wrote it."))
    rec.launch(rec.agent(home), workspace, "Write notes.txt", PermissionMode.SUGGEST)
    wait(lambda: "Would you like to run" in screen(), "the approval prompt")
    time.sleep(0.5)
    rec.save_screen("permission-exec")
    rec.save_rollout(home, "tool-pending")
    tmux("send-keys", "-t", "=rec:", "Enter")
    wait(lambda: "Wrote it." in screen() and "esc to interrupt" not in screen(), "the approved turn")
    time.sleep(1.0)
    rec.save_screen("ready-suggest-after-turn")
    tmux("kill-session", "-t", "=rec")


def scenario_fresh(rec: Recorder) -> None:
    """A launch without a prompt: the empty composer."""
    workspace = make_worktree(rec.root / "fresh", "s-3")
    home = rec.home("fresh")
    rec.launch(rec.agent(home), workspace, None, PermissionMode.DEFAULT)
    wait(lambda: "Ask Codex" in screen(), "the composer")
    time.sleep(1.0)
    rec.save_screen("ready-fresh")
    tmux("kill-session", "-t", "=rec")


def main() -> None:
    version = subprocess.run(["codex", "--version"], capture_output=True, text=True, check=True).stdout.split()[-1]
    out = HERE / "data" / f"codex-{version}"
    if out.exists():
        shutil.rmtree(out)
    root = Path(tempfile.mkdtemp(prefix="ao-codex-rec-"))
    try:
        with ModelServer(log_path=root / "requests.jsonl") as server:
            rec = Recorder(root, out, server)
            for scenario in (scenario_first_run, scenario_main, scenario_approval, scenario_fresh):
                print(f"recording {scenario.__name__} ...", flush=True)
                scenario(rec)
    finally:
        tmux("kill-server")
        from ao_agent_codex import stop_app_server_daemons

        for home in root.glob("*/codex-home"):
            stop_app_server_daemons(home)
        shutil.rmtree(root, ignore_errors=True)
    print(f"recorded Codex {version} into {out}")


if __name__ == "__main__":
    main()
