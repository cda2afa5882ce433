"""Record what the real Claude Code CLI shows and writes, for the table tests of this package.

Run it after installing a new Claude Code version (it records the version ``claude --version`` reports)::

    export PATH=/tmp/ao-agents/node_modules/.bin:$PATH
    .venv/bin/python packages/ao-agent-claude-code/tests/record_claude_code.py

It drives the CLI in tmux (its own socket) against the scripted model server, in fresh HOMEs and git
repositories under a temporary directory, and writes ``data/claude-code-<version>/``:

- ``screens/<state>.txt``: the pane as ``capture-pane -p -J`` shows it (trailing blank lines removed), named
  after what the screen shows (``ready-*``, ``busy-*``, ``permission-*``, ``dialog-*``);
- ``transcripts/<moment>.jsonl``: copies of the session transcript at that moment;
- ``transcripts/usage.json``: the token usage the model server reported for ``turn-complete.jsonl``;
- ``hooks/<Event>.json``: one payload of each hook event Claude Code sent.

The table tests (``test_screen.py``, ``test_transcript.py``) read these files, so output that a new
version changes makes them fail until detection is updated.
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

from ao_testing.fakes.model_server import (
    ApiError,
    ModelServer,
    Turn,
    Usage,
    claude_environment,
    finish,
    run_shell,
    seed_claude_home,
    write_file,
)

HERE = Path(__file__).parent
SOCKET = f"ao-record-{uuid.uuid4().hex[:8]}"


def tmux(*args: str) -> str:
    env = {key: value for key, value in os.environ.items() if key not in ("TMUX", "TMUX_PANE")}
    done = subprocess.run(["tmux", "-L", SOCKET, *args], capture_output=True, text=True, env=env, timeout=10)
    return done.stdout


def screen(name: str) -> str:
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


def launch(name: str, workspace: Path, env: dict[str, str], args: str) -> None:
    exports = " ".join(f"{key}={shlex.quote(value)}" for key, value in env.items())
    command = f"export {exports}; unset CLAUDECODE; exec claude {args}"
    tmux("new-session", "-d", "-s", name, "-x", "200", "-y", "50", "-c", str(workspace), "sh", "-c", command)


def send(name: str, text: str) -> None:
    tmux("send-keys", "-t", f"={name}:", "-l", text)
    time.sleep(0.2)
    tmux("send-keys", "-t", f"={name}:", "Enter")


def save_screen(out: Path, state: str, text: str) -> None:
    (out / "screens" / f"{state}.txt").write_text(text + "\n", encoding="utf-8")
    print(f"  screen {state}")


def save_transcript(out: Path, moment: str, transcript: Path) -> None:
    shutil.copyfile(transcript, out / "transcripts" / f"{moment}.jsonl")
    print(f"  transcript {moment}")


def shows(name: str, *texts: str) -> Callable[[], bool]:
    return lambda: all(text in screen(name) for text in texts)


def ready(name: str) -> Callable[[], bool]:
    def check() -> bool:
        text = screen(name)
        return "esc to interrupt" not in text and ("for shortcuts" in text or "bypass permissions on" in text)

    return check


def transcript_of(home: Path, workspace: Path, session_id: str) -> Path:
    from ao_agent_claude_code._paths import encode_project_path

    return home / ".claude" / "projects" / encode_project_path(str(workspace)) / f"{session_id}.jsonl"


def transcript_tail_has(path: Path, needle: str) -> Callable[[], bool]:
    return lambda: path.exists() and needle in path.read_text(encoding="utf-8")


def bypass_scenario(root: Path, server: ModelServer, out: Path) -> None:
    """Permissionless run: thinking, a running tool, a finished turn, an API error."""
    print("scenario: bypass permissions")
    workspace = make_repo(root / "bypass" / "work.repo")
    home = seed_claude_home(root / "bypass" / "home", trusted=[workspace])
    session_id = str(uuid.uuid4())
    turns = [
        Turn(
            text="I will write the file.",
            tool_calls=[write_file("hello.txt", "hello\n")],
            usage=Usage(1200, 60, 300, 400),
            delay_s=2.5,
        ),
        Turn(
            tool_calls=[run_shell("sleep 2.5 && git add -A && git commit -qm 'add hello'")],
            usage=Usage(1300, 45, 1500, 0),
        ),
        finish("All done.", usage=Usage(1400, 12, 1600, 0)),
    ]
    server.script(*turns)
    launch(
        "bypass",
        workspace,
        claude_environment(home, server.base_url),
        f"--dangerously-skip-permissions --session-id {session_id}",
    )
    wait(ready("bypass"), "the ready prompt")
    save_screen(out, "ready-bypass-fresh", screen("bypass"))
    transcript = transcript_of(home, workspace, session_id)
    send("bypass", "please write hello.txt and commit it")
    wait(shows("bypass", "esc to interrupt"), "the spinner")
    time.sleep(0.5)
    save_screen(out, "busy-thinking", screen("bypass"))
    wait(transcript_tail_has(transcript, '"type":"user"'), "the prompt in the transcript", 10)
    save_transcript(out, "user-prompt-pending", transcript)
    wait(shows("bypass", "Running…"), "the running tool")
    save_screen(out, "busy-tool-running", screen("bypass"))
    save_transcript(out, "tool-running", transcript)
    wait(shows("bypass", "All done."), "the end of the turn")
    wait(ready("bypass"), "the ready prompt after the turn")
    wait(transcript_tail_has(transcript, "turn_duration"), "turn_duration", 10)
    time.sleep(0.5)
    save_screen(out, "ready-after-turn", screen("bypass"))
    save_transcript(out, "turn-complete", transcript)
    total = Usage(0, 0)
    for turn in turns:
        total = total + turn.usage
    (out / "transcripts" / "usage.json").write_text(
        json.dumps(
            {
                "transcript": "turn-complete.jsonl",
                "messages": len(turns),
                "input_tokens": total.input_tokens,
                "output_tokens": total.output_tokens,
                "cache_read_tokens": total.cache_read_tokens,
                "cache_creation_tokens": total.cache_creation_tokens,
            },
            indent=2,
        )
        + "\n"
    )
    server.script(Turn(error=ApiError(400, "invalid_request_error", "recorded failure")))
    send("bypass", "now fail please")
    wait(shows("bypass", "API Error"), "the API error")
    wait(ready("bypass"), "the ready prompt after the error")
    wait(transcript_tail_has(transcript, "isApiErrorMessage"), "the error in the transcript", 10)
    time.sleep(0.5)
    save_screen(out, "ready-after-api-error", screen("bypass"))
    save_transcript(out, "api-error", transcript)
    tmux("kill-session", "-t", "=bypass")


def default_mode_scenario(root: Path, server: ModelServer, out: Path) -> None:
    """Default permission mode: the permission prompts, and one payload of each hook."""
    print("scenario: default permission mode, hooks")
    workspace = make_repo(root / "default" / "work")
    home = seed_claude_home(root / "default" / "home", trusted=[workspace])
    hooks_dir = root / "default" / "hooks"
    hooks_dir.mkdir()
    recorder = root / "default" / "hook.sh"
    recorder.write_text(f'#!/bin/sh\ncat > "{hooks_dir}/$1-$(date +%s%N).json"\n')
    recorder.chmod(0o755)
    events = [
        "SessionStart",
        "UserPromptSubmit",
        "PreToolUse",
        "PermissionRequest",
        "Notification",
        "PostToolUse",
        "Stop",
    ]
    settings = {
        "hooks": {
            event: [{"matcher": "", "hooks": [{"type": "command", "command": f"{recorder} {event}", "timeout": 5}]}]
            for event in events
        }
    }
    (workspace / ".claude").mkdir()
    (workspace / ".claude" / "settings.local.json").write_text(json.dumps(settings))
    session_id = str(uuid.uuid4())
    server.script(
        Turn(text="I will write the file.", tool_calls=[write_file("hello.txt", "hello\n")]),
        Turn(tool_calls=[run_shell("git checkout -q -b feat/recorded && git add hello.txt && git commit -qm hello")]),
        finish("All done."),
    )
    launch("default", workspace, claude_environment(home, server.base_url), f"--session-id {session_id}")
    wait(ready("default"), "the ready prompt")
    save_screen(out, "ready-default-mode", screen("default"))
    transcript = transcript_of(home, workspace, session_id)
    send("default", "please write hello.txt and commit it")
    wait(shows("default", "Do you want to create"), "the file permission prompt")
    time.sleep(0.5)
    save_screen(out, "permission-create-file", screen("default"))
    wait(transcript_tail_has(transcript, '"tool_use"'), "the tool use in the transcript", 10)
    save_transcript(out, "permission-pending", transcript)
    wait(lambda: any(hooks_dir.glob("Notification-*.json")), "the Notification hook", 15)
    tmux("send-keys", "-t", "=default:", "Enter")
    wait(shows("default", "Do you want to proceed?"), "the Bash permission prompt")
    time.sleep(0.5)
    save_screen(out, "permission-bash", screen("default"))
    tmux("send-keys", "-t", "=default:", "Enter")
    wait(shows("default", "All done."), "the end of the turn")
    wait(ready("default"), "the ready prompt after the turn")
    wait(lambda: any(hooks_dir.glob("Stop-*.json")), "the Stop hook", 10)
    time.sleep(0.5)
    save_screen(out, "ready-default-after-turn", screen("default"))
    for event in events:
        found = sorted(hooks_dir.glob(f"{event}-*.json"))
        if event == "PostToolUse":
            found = [path for path in found if '"Bash"' in path.read_text()] or found
        if found:
            shutil.copyfile(found[-1], out / "hooks" / f"{event}.json")
            print(f"  hook {event}")
    tmux("kill-session", "-t", "=default")


def dialogs_scenario(root: Path, server: ModelServer, out: Path) -> None:
    """A HOME that has only been onboarded: the trust, API-key and bypass-permissions dialogs."""
    print("scenario: first-run dialogs")
    workspace = make_repo(root / "dialogs" / "work")
    home = seed_claude_home(root / "dialogs" / "home", approve_api_key=False, skip_bypass_warning=False)
    launch("dialogs", workspace, claude_environment(home, server.base_url), "--dangerously-skip-permissions")
    wait(shows("dialogs", "trust this folder"), "the trust dialog")
    time.sleep(0.5)
    save_screen(out, "dialog-trust", screen("dialogs"))
    tmux("send-keys", "-t", "=dialogs:", "Enter")
    wait(shows("dialogs", "Do you want to use this API key?"), "the API key dialog")
    time.sleep(0.5)
    save_screen(out, "dialog-api-key", screen("dialogs"))
    tmux("send-keys", "-t", "=dialogs:", "Up")
    time.sleep(0.3)
    tmux("send-keys", "-t", "=dialogs:", "Enter")
    wait(shows("dialogs", "Yes, I accept"), "the bypass-permissions warning")
    time.sleep(0.5)
    save_screen(out, "dialog-bypass-warning", screen("dialogs"))
    tmux("kill-session", "-t", "=dialogs")


def resume_scenario(root: Path, server: ModelServer, out: Path) -> None:
    """Killed in the middle of a tool, then resumed: what the screen and the transcript show."""
    print("scenario: killed mid-task, resumed")
    workspace = make_repo(root / "resume" / "work")
    home = seed_claude_home(root / "resume" / "home", trusted=[workspace])
    env = claude_environment(home, server.base_url)
    session_id = str(uuid.uuid4())
    server.script(Turn(text="A long command.", tool_calls=[run_shell("sleep 30")]))
    launch("resume", workspace, env, f"--dangerously-skip-permissions --session-id {session_id}")
    wait(ready("resume"), "the ready prompt")
    send("resume", "run the long command")
    wait(shows("resume", "Running…"), "the running tool")
    tmux("kill-session", "-t", "=resume")
    subprocess.run(["pkill", "-f", "eval 'sleep 30'"], check=False)
    transcript = transcript_of(home, workspace, session_id)
    launch("resume", workspace, env, f"--dangerously-skip-permissions --resume {session_id}")
    wait(ready("resume"), "the ready prompt after resume")
    time.sleep(0.5)
    save_screen(out, "ready-after-resume", screen("resume"))
    save_transcript(out, "after-kill-resumed", transcript)
    tmux("kill-session", "-t", "=resume")


def main() -> int:
    version = subprocess.run(["claude", "--version"], capture_output=True, text=True, check=True, timeout=30)
    number = version.stdout.split()[0]
    out = HERE / "data" / f"claude-code-{number}"
    for sub in ("screens", "transcripts", "hooks"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    print(f"recording Claude Code {number} into {out}")
    with tempfile.TemporaryDirectory(prefix="ao-record-") as tmp, ModelServer() as server:
        root = Path(tmp)
        try:
            bypass_scenario(root, server, out)
            default_mode_scenario(root, server, out)
            dialogs_scenario(root, server, out)
            resume_scenario(root, server, out)
        finally:
            tmux("kill-server")
    print("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
