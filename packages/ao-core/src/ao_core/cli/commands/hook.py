"""``ao hook claude <Event>`` (hidden): what the hooks ao installs in an agent's workspace run.

Claude Code runs it with the hook's JSON on standard input and the session's environment (ao started the
agent with ``AO_SESSION_ID``, ``AO_PROJECT_ID`` and ``AO_STATE_DIR``). It records in ao's store, as it
happens and without any polling:

- ``PostToolUse`` (``Bash``): a branch switch (``git checkout -b X``, ``git switch -c X``, or a checkout of an
  existing branch that git then reports as HEAD) becomes the session's branch; a pull-request URL printed
  by ``gh pr create`` becomes its PR (``agentReportedPr*`` metadata);
- ``PermissionRequest`` and ``Notification`` (``permission_prompt``): activity ``waiting_input``;
- ``Stop``: activity ``ready``; ``UserPromptSubmit``: activity ``active``.

Activity is recorded in the session's ``activity`` and in the metadata keys ``hookActivity``
(``{state, event, detail, at}``) and ``hookActivityAt``, which the agent plugin prefers over its transcript
when newer.

It prints nothing (Claude Code would show or parse it) and exits 0 whatever happens, within a few seconds:
problems go to ``hooks.log`` in the session's directory. Outside an ao session it does nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ao_core.models import ActivityState, Session
    from ao_core.store import Store

DESCRIPTION = """\
Record an agent hook event in ao's store (run by the hooks ao installs; not for interactive use).
Reads the hook's JSON on standard input; needs AO_SESSION_ID and AO_STATE_DIR in the environment."""

DIALECTS = ("claude",)
_MAX_PAYLOAD = 4 * 1024 * 1024
_DEADLINE_S = 8
_GIT_TIMEOUT_S = 3.0
_LOG_LIMIT = 1024 * 1024
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_PR_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::\d+)?/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)/pull/(\d+)")
_GIT_OPTIONS_WITH_VALUE = frozenset({"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--exec-path"})
_WAITING_NOTIFICATIONS = frozenset({"permission_prompt", "elicitation_dialog"})


def register(subparsers: Any) -> None:
    # No help= on purpose: the command stays out of 'ao --help'.
    parser = subparsers.add_parser(
        "hook", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dialect", choices=DIALECTS, help="whose hook payload this is")
    parser.add_argument("event", help="the hook event (PostToolUse, Notification, Stop, ...)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    env = os.environ
    session_id = env.get("AO_SESSION_ID") or env.get("AO_SESSION") or ""
    state_dir = env.get("AO_STATE_DIR") or ""
    project_id = env.get("AO_PROJECT_ID") or ""
    if not session_id or not state_dir:
        return 0  # not an ao session (someone runs claude by hand in the worktree)
    log = _Log(_log_path(Path(state_dir), project_id, session_id))
    if hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, _deadline)
        signal.alarm(_DEADLINE_S)
    try:
        raw = sys.stdin.buffer.read(_MAX_PAYLOAD) if not sys.stdin.isatty() else b""
        payload = json.loads(raw) if raw.strip() else {}
        if not isinstance(payload, dict):
            raise ValueError("the hook payload is not a JSON object")
        outcome = handle(args.dialect, args.event, payload, session_id=session_id, state_dir=Path(state_dir))
        log.write(f"{args.event}: {outcome}")
    except BaseException as exc:  # a hook must never fail the agent: record it and exit 0
        log.write(f"{args.event}: failed: {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=6)}")
    finally:
        if hasattr(signal, "SIGALRM"):
            signal.alarm(0)
    return 0


class _Deadline(Exception):
    """Raised when the hook ran out of time."""


def _deadline(signum: int, frame: Any) -> None:
    raise _Deadline(f"gave up after {_DEADLINE_S}s")


def _log_path(state_dir: Path, project_id: str, session_id: str) -> Path | None:
    from ao_core.paths import session_dir
    from ao_core.refs import is_safe_identifier

    if not is_safe_identifier(session_id):
        return None
    if project_id and is_safe_identifier(project_id):
        return session_dir(state_dir, project_id, session_id) / "hooks.log"
    return state_dir / "hooks.log"


class _Log:
    def __init__(self, path: Path | None) -> None:
        self.path = path

    def write(self, text: str) -> None:
        if self.path is None:
            return
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists() and self.path.stat().st_size > _LOG_LIMIT:
                self.path.replace(self.path.with_suffix(".log.1"))
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(f"{stamp} {text.rstrip()}\n")
        except OSError:
            pass  # nowhere to report it; the hook must stay silent


# --------------------------------------------------------------------------- handling


def handle(dialect: str, event: str, payload: dict[str, Any], *, session_id: str, state_dir: Path) -> str:
    """Record one hook event in the store of ``state_dir``; return what was done (for the log).

    Raises:
        AoError: the store cannot be written (the caller logs it).
    """
    from ao_core.models import ActivityState
    from ao_core.paths import database_path
    from ao_core.refs import is_safe_identifier
    from ao_core.store import Store

    if dialect not in DIALECTS:
        return f"ignored: unknown dialect {dialect!r}"
    if not is_safe_identifier(session_id):
        return f"ignored: invalid session id {session_id!r}"
    database = database_path(state_dir)
    if not database.exists():
        return f"ignored: no ao store at {database}"
    store = Store(database, busy_timeout=3.0)
    try:
        session = store.get_session(session_id)
        if session is None:
            return f"ignored: no session {session_id} in the store"
        if session.is_terminal:
            return f"ignored: session {session_id} is over ({session.status.value})"
        if event == "UserPromptSubmit":
            return _record_activity(store, session, ActivityState.ACTIVE, event, None)
        if event == "Stop":
            return _record_activity(store, session, ActivityState.READY, event, None)
        if event == "PermissionRequest":
            tool = payload.get("tool_name")
            return _record_activity(store, session, ActivityState.WAITING_INPUT, event, str(tool) if tool else None)
        if event == "Notification":
            kind = payload.get("notification_type")
            message = str(payload.get("message") or "")
            if kind in _WAITING_NOTIFICATIONS or (kind is None and "permission" in message.lower()):
                return _record_activity(store, session, ActivityState.WAITING_INPUT, event, str(kind or "permission"))
            return f"ignored: notification {kind!r}"
        if event == "PostToolUse":
            return _post_tool_use(store, session, payload)
        return f"ignored: event {event!r}"
    finally:
        store.close()


def _record_activity(store: Store, session: Session, state: ActivityState, event: str, detail: str | None) -> str:
    from ao_core.models import utc_now

    now = utc_now()
    store.update_session(session.id, activity=state, last_activity_at=now)
    store.set_metadata(session.id, "hookActivity", {"state": state.value, "event": event, "detail": detail, "at": now})
    store.set_metadata(session.id, "hookActivityAt", now)
    return f"activity {state.value}" + (f" ({detail})" if detail else "")


def _post_tool_use(store: Store, session: Session, payload: dict[str, Any]) -> str:
    if payload.get("tool_name") != "Bash":
        return f"ignored: tool {payload.get('tool_name')!r}"
    tool_input = payload.get("tool_input")
    command = tool_input.get("command") if isinstance(tool_input, dict) else None
    if not isinstance(command, str) or not command.strip():
        return "ignored: no command"
    branches, pr_create, draft = parse_command(command)
    done: list[str] = []
    if branches:
        done.append(_record_branch(store, session, branches, payload.get("cwd")))
    if pr_create:
        done.append(_record_pr(store, session, _output_of(payload.get("tool_response")), draft))
    return "; ".join(done) or "nothing to record"


def parse_command(command: str) -> tuple[list[tuple[str, bool]], bool, bool]:
    """Branch switches and ``gh pr create`` in a shell command.

    Returns:
        The branches switched to, each with whether the command creates it (``-b``/``-c``); whether the
        command creates a pull request; whether as a draft.
    """
    branches: list[tuple[str, bool]] = []
    pr_create = draft = False
    for words in _segments(command):
        while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
            words = words[1:]  # leading VAR=value assignments
        if not words:
            continue
        program = Path(words[0]).name
        if program == "git":
            found = _git_branch(words[1:])
            if found is not None:
                branches.append(found)
        elif program == "gh" and words[1:3] == ["pr", "create"]:
            pr_create = True
            draft = draft or "--draft" in words or "-d" in words
    return branches, pr_create, draft


def _segments(command: str) -> list[list[str]]:
    segments: list[list[str]] = []
    for line in command.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        current: list[str] = []
        try:
            for token in lexer:
                if token and set(token) <= set(";&|()<>"):
                    if current:
                        segments.append(current)
                    current = []
                else:
                    current.append(token)
        except ValueError:
            continue  # unbalanced quotes: not a command we can read
        if current:
            segments.append(current)
    return segments


def _git_branch(args: list[str]) -> tuple[str, bool] | None:
    index = 0
    while index < len(args) and args[index].startswith("-"):
        index += 2 if args[index] in _GIT_OPTIONS_WITH_VALUE else 1
    if index >= len(args):
        return None
    sub, rest = args[index], args[index + 1 :]
    create_flags = {"checkout": ("-b", "-B", "--orphan"), "switch": ("-c", "-C", "--create", "--force-create")}
    if sub not in create_flags:
        return None
    positional: list[str] = []
    position = 0
    while position < len(rest):
        word = rest[position]
        if word == "--":
            return None  # 'git checkout -- file': paths, not a branch
        for flag in create_flags[sub]:
            if word == flag and position + 1 < len(rest):
                return rest[position + 1], True
            if flag.startswith("--") and word.startswith(flag + "="):
                return word.split("=", 1)[1], True
        if not word.startswith("-"):
            positional.append(word)
        position += 1
    if len(positional) != 1:
        return None
    # A plain checkout is taken only for names that look like work branches (feat/x, fix-y), as upstream did:
    # an agent glancing at 'main' must not move the session off its branch.
    name = positional[0]
    return (name, False) if "/" in name or "-" in name else None


def _current_branch(cwd: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", cwd, "symbolic-ref", "--short", "-q", "HEAD"],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def _inside(path: str, root: str) -> bool:
    try:
        resolved, base = Path(path).resolve(), Path(root).resolve()
    except OSError:
        return False
    return resolved == base or base in resolved.parents


def _record_branch(store: Store, session: Session, branches: list[tuple[str, bool]], cwd: Any) -> str:
    from ao_core.models import utc_now
    from ao_core.refs import branch_name_problem

    workspace = session.workspace_path
    where = cwd if isinstance(cwd, str) and cwd else workspace
    if not where or (workspace and not _inside(where, workspace)):
        return "branch: ignored (the command ran outside the session's workspace)"
    head = _current_branch(where)
    names = [name for name, _ in branches]
    if head is None or head not in names:
        return f"branch: ignored (HEAD is {head!r}, not one of {names})"
    if branch_name_problem(head) is not None:
        return f"branch: ignored ({head!r} is not a valid branch name)"
    if head == session.branch:
        return f"branch: unchanged ({head})"
    store.update_session(session.id, branch=head)
    store.set_metadata(session.id, "branchSwitchedAt", utc_now())
    return f"branch: {session.branch} -> {head}"


def _output_of(response: Any) -> str:
    if isinstance(response, str):
        return response
    if isinstance(response, dict):
        parts = [response.get(key) for key in ("stdout", "stderr", "output")]
        return "\n".join(part for part in parts if isinstance(part, str))
    return ""


def _record_pr(store: Store, session: Session, output: str, draft: bool) -> str:
    from ao_core.models import PRInfo, utc_now

    matches = list(_PR_URL.finditer(_ANSI.sub("", output)))
    if not matches:
        return "pr: no pull-request URL in the output"
    match = matches[-1]
    url, owner, repo, number = match.group(0), match.group(1), match.group(2), int(match.group(3))
    store.set_metadata(session.id, "agentReportedPrUrl", url)
    store.set_metadata(session.id, "agentReportedPrNumber", number)
    store.set_metadata(session.id, "agentReportedPrIsDraft", draft)
    store.set_metadata(session.id, "agentReportedAt", utc_now())
    if session.pr is None:
        pr = PRInfo(number=number, url=url, owner=owner, repo=repo, branch=session.branch or "", is_draft=draft)
        store.update_session(session.id, pr=pr)
    return f"pr: {url}"
