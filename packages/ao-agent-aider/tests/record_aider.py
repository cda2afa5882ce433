"""Record what the real Aider CLI shows and writes, for the table tests of this package.

Run it after installing a new Aider version (it records the version ``aider --version`` reports)::

    PATH=/tmp/ao-aider/bin:$PATH .venv/bin/python packages/ao-agent-aider/tests/record_aider.py

It drives Aider in tmux (its own socket) with the launch command the plugin builds, against the scripted
model server, in fresh HOMEs and git repositories under a temporary directory, and writes
``data/aider-<version>/``:

- ``screens/<state>.txt``: the pane as ``capture-pane -p -J`` shows it (trailing blank lines removed), named
  after what the screen shows (``ready-*``, ``busy-*``, ``question-*``);
- ``histories/<moment>.md``: copies of ``.aider.chat.history.md`` at that moment.

The table tests (``test_screen.py``, ``test_history.py``) read these files, so output that a new version
changes makes them fail until detection is updated.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from ao_agent_aider import AiderAgentConfig, create
from ao_core.models import AgentLaunchConfig, PermissionMode
from ao_testing.fakes.model_server import ApiError, ModelServer, Turn, finish, write_file

HERE = Path(__file__).parent
SOCKET = f"ao-record-aider-{uuid.uuid4().hex[:8]}"
MODEL = "openai/fake-model"
PRICES = {
    MODEL: {
        "max_tokens": 8192,
        "max_input_tokens": 128000,
        "max_output_tokens": 8192,
        "input_cost_per_token": 0.000003,
        "output_cost_per_token": 0.000015,
        "litellm_provider": "openai",
        "mode": "chat",
    }
}
PROMPT = "please create hello.txt\nwith the word hello in it\nand commit it"


def tmux(*args: str) -> str:
    env = {key: value for key, value in os.environ.items() if key not in ("TMUX", "TMUX_PANE")}
    done = subprocess.run(["tmux", "-L", SOCKET, *args], capture_output=True, text=True, env=env, timeout=10)
    return done.stdout


def screen(name: str) -> str:
    rows = [row.rstrip() for row in tmux("capture-pane", "-p", "-J", "-t", f"={name}:").split("\n")]
    while rows and not rows[-1]:
        rows.pop()
    return "\n".join(rows)


def last_line(name: str) -> str:
    rows = [row for row in screen(name).split("\n") if row.strip()]
    return rows[-1].strip() if rows else ""


def wait(condition: Callable[[], bool], what: str, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}")


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


def launch(name: str, root: Path, workspace: Path, server: ModelServer, permissions: PermissionMode) -> Path:
    """Start Aider in tmux with the plugin's own launch command; return the chat history's path."""
    home = root / f"{name}-home"
    home.mkdir()
    prices = root / f"{name}-prices.json"
    prices.write_text(json.dumps(PRICES))
    prompt_file = root / f"{name}-system-prompt.md"
    prompt_file.write_text("You work for ao. Keep commits small.\n")
    agent = create(
        AiderAgentConfig(
            openai_api_base=server.openai_base_url,
            openai_api_key="sk-recorder-dummy",
            extra_args=["--model-metadata-file", str(prices)],
        )
    )
    config = AgentLaunchConfig(
        session_id=name,
        project_id="record",
        workspace_path=str(workspace),
        permissions=permissions,
        model=MODEL,
        system_prompt_file=str(prompt_file),
    )
    env = {"HOME": str(home), "PATH": os.environ["PATH"], **agent.get_environment(config)}
    script = root / f"{name}-launch.sh"
    exports = "\n".join(f"export {key}={shlex.quote(value)}" for key, value in env.items())
    script.write_text(f"{exports}\n{agent.get_launch_command(config)}\n")
    tmux("new-session", "-d", "-s", name, "-x", "200", "-y", "50", "-c", str(workspace), "sh", str(script))
    return workspace / ".aider.chat.history.md"


def paste(name: str, text: str) -> None:
    """Type a message the way the tmux runtime does: one bracketed paste, then Enter."""
    buffer = f"rec-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["tmux", "-L", SOCKET, "load-buffer", "-b", buffer, "-"], input=text.encode(), check=True, timeout=10
    )
    tmux("paste-buffer", "-b", buffer, "-d", "-p", "-r", "-t", f"={name}:")
    time.sleep(0.3)
    tmux("send-keys", "-t", f"={name}:", "Enter")


def ready(name: str) -> Callable[[], bool]:
    return lambda: last_line(name) in (">", "multi>") or last_line(name).endswith("> ") or last_line(name) == "diff>"


def shows(name: str, *texts: str) -> Callable[[], bool]:
    return lambda: all(text in screen(name) for text in texts)


def save_screen(out: Path, state: str, text: str) -> None:
    (out / "screens" / f"{state}.txt").write_text(text + "\n", encoding="utf-8")
    print(f"  screen {state}")


def save_history(out: Path, moment: str, history: Path) -> None:
    shutil.copyfile(history, out / "histories" / f"{moment}.md")
    print(f"  history {moment}")


def yes_always_scenario(root: Path, server: ModelServer, out: Path) -> None:
    """Permissionless: start-up, a multi-line task, the model's answer, Aider's edit and commit, an API error."""
    print("scenario: --yes-always")
    workspace = make_repo(root / "yes" / "work")
    server.script(Turn(text="I will create the file.", tool_calls=[write_file("hello.txt", "hello\n")], delay_s=4))
    history = launch("yes", root, workspace, server, PermissionMode.PERMISSIONLESS)
    wait(shows("yes", "Aider v"), "the banner")
    if last_line("yes") != ">":
        save_screen(out, "busy-starting", screen("yes"))
    wait(ready("yes"), "the prompt")
    time.sleep(0.5)
    save_screen(out, "ready-fresh", screen("yes"))
    save_history(out, "started", history)
    paste("yes", PROMPT)
    wait(lambda: "#### and commit it" in history.read_text(), "the message in the history", 10)
    time.sleep(0.5)
    save_screen(out, "busy-waiting-for-model", screen("yes"))
    save_history(out, "message-pending", history)
    wait(shows("yes", "Commit "), "the commit", 60)
    wait(ready("yes"), "the prompt after the turn")
    time.sleep(0.5)
    save_screen(out, "ready-after-turn", screen("yes"))
    save_history(out, "turn-complete", history)
    server.script(Turn(error=ApiError(400, "invalid_request_error", "recorded failure")))
    paste("yes", "now fail please")
    wait(shows("yes", "recorded failure"), "the API error")
    wait(ready("yes"), "the prompt after the error")
    time.sleep(0.5)
    save_screen(out, "ready-after-api-error", screen("yes"))
    save_history(out, "api-error", history)
    tmux("kill-session", "-t", "=yes")


def asking_scenario(root: Path, server: ModelServer, out: Path) -> None:
    """Default permissions: Aider asks before creating a file."""
    print("scenario: default permissions (Aider asks)")
    workspace = make_repo(root / "ask" / "work")
    server.script(Turn(text="I will create the file.", tool_calls=[write_file("hello.txt", "hello\n")]), finish("Ok."))
    history = launch("ask", root, workspace, server, PermissionMode.DEFAULT)
    wait(ready("ask"), "the prompt")
    paste("ask", "please create hello.txt")
    wait(lambda: "Create new file?" in last_line("ask"), "the question")
    time.sleep(0.5)
    save_screen(out, "question-create-file", screen("ask"))
    save_history(out, "question-pending", history)
    tmux("send-keys", "-t", "=ask:", "y", "Enter")
    wait(shows("ask", "Commit "), "the commit")
    wait(ready("ask"), "the prompt after the answer")
    time.sleep(0.5)
    save_screen(out, "ready-after-question", screen("ask"))
    tmux("kill-session", "-t", "=ask")


def main() -> int:
    version = subprocess.run(["aider", "--version"], capture_output=True, text=True, check=True, timeout=60)
    number = version.stdout.split()[-1].lstrip("v")
    out = HERE / "data" / f"aider-{number}"
    for sub in ("screens", "histories"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    print(f"recording Aider {number} into {out}")
    with tempfile.TemporaryDirectory(prefix="ao-record-aider-") as tmp, ModelServer() as server:
        root = Path(tmp)
        try:
            yes_always_scenario(root, server, out)
            asking_scenario(root, server, out)
        finally:
            tmux("kill-server")
            (Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}" / SOCKET).unlink(missing_ok=True)
    print("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
