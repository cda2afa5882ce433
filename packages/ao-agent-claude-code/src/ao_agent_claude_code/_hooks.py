"""Installing ao's hooks in a workspace's ``.claude/settings.json``, and keeping that file out of git.

The hooks call ao itself (``<ao command> hook claude <Event>``), which reads the hook's JSON from standard
input and records what happened in ao's store: no shell scripts, no ``jq``.

| Claude Code event | matcher | ao records |
|---|---|---|
| ``PostToolUse`` | ``Bash`` | a branch switch (``git checkout -b X``), a PR URL printed by ``gh pr create`` |
| ``PermissionRequest`` | | activity ``waiting_input`` (fired when a permission prompt appears) |
| ``Notification`` | | activity ``waiting_input`` for ``permission_prompt`` notifications (about 6 s later) |
| ``Stop`` | | activity ``ready`` (the turn ended) |
| ``UserPromptSubmit`` | | activity ``active`` |
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
from ao_core.errors import WorkspaceError

log = logging.getLogger("ao.agent.claude-code")

__all__ = [
    "HOOK_EVENTS",
    "SETTINGS_RELATIVE",
    "exclude_from_git",
    "hook_command",
    "install_settings",
    "is_ao_hook",
    "merge_hooks",
]

SETTINGS_RELATIVE = ".claude/settings.json"
"""Where Claude Code reads a project's shared settings, relative to the workspace."""

HOOK_EVENTS: dict[str, str | None] = {
    "PostToolUse": "Bash",
    "PermissionRequest": "",
    "Notification": "",
    "Stop": None,
    "UserPromptSubmit": None,
}
"""The events ao hooks, with their matcher (``None``: the event takes no matcher)."""

_GIT_TIMEOUT_S = 30.0


def hook_command(ao_command: Sequence[str], event: str) -> str:
    """The shell command of one hook: ``<ao command> hook claude <event>``, every word quoted."""
    return shlex.join([*ao_command, "hook", "claude", event])


def is_ao_hook(command: Any) -> bool:
    """Whether a hook command is one of ao's (ends with ``hook claude <Event>``)."""
    if not isinstance(command, str):
        return False
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    return len(words) >= 3 and words[-3:-1] == ["hook", "claude"]


def merge_hooks(settings: dict[str, Any], ao_command: Sequence[str], timeout_s: int) -> dict[str, Any]:
    """Return ``settings`` with ao's hooks in place: earlier ao hooks replaced, everything else kept.

    Raises:
        WorkspaceError: ``hooks`` (or an event's list) has a shape Claude Code would not accept either.
    """
    merged: dict[str, Any] = json.loads(json.dumps(settings))
    hooks = merged.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise WorkspaceError(f"'hooks' in {SETTINGS_RELATIVE} is not an object; fix the file so ao can add its hooks")
    for event, matcher in HOOK_EVENTS.items():
        groups = hooks.get(event, [])
        if not isinstance(groups, list):
            raise WorkspaceError(f"'hooks.{event}' in {SETTINGS_RELATIVE} is not a list; fix the file")
        kept: list[Any] = []
        for group in groups:
            if isinstance(group, dict) and isinstance(group.get("hooks"), list):
                others = [
                    hook for hook in group["hooks"] if not (isinstance(hook, dict) and is_ao_hook(hook.get("command")))
                ]
                if not others and len(others) != len(group["hooks"]):
                    continue  # a group that held only ao's hook
                kept.append({**group, "hooks": others})
            else:
                kept.append(group)
        entry: dict[str, Any] = {
            "hooks": [{"type": "command", "command": hook_command(ao_command, event), "timeout": timeout_s}]
        }
        if matcher is not None:
            entry = {"matcher": matcher, **entry}
        kept.append(entry)
        hooks[event] = kept
    return merged


def _read_settings(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise WorkspaceError(f"cannot read {path}: {exc.strerror}") from exc
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise WorkspaceError(f"{path} is not valid JSON ({exc}); fix it so ao can add its hooks") from exc
    if not isinstance(data, dict):
        raise WorkspaceError(f"{path} does not hold a JSON object; fix it so ao can add its hooks")
    return data


def install_settings(workspace: Path, ao_command: Sequence[str], timeout_s: int) -> bool:
    """Merge ao's hooks into ``<workspace>/.claude/settings.json``; return whether the file changed.

    When the file (or its ``.claude`` folder) is a symlink leading out of the workspace, for example into the
    project's own checkout through the ``symlinks`` option, nothing is written: ao never changes files outside
    the workspace. The agent then runs without ao's hooks (activity still comes from its transcript).
    """
    path = workspace / SETTINGS_RELATIVE
    if not path.resolve().is_relative_to(workspace.resolve()):
        log.warning("%s leads out of the workspace (a symlink); ao's hooks are not installed", path)
        return False
    current = _read_settings(path)
    merged = merge_hooks(current, ao_command, timeout_s)
    if path.exists() and merged == current:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".settings.", suffix=".ao-tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(merged, handle, indent=2, ensure_ascii=False)
            handle.write("\n")
        Path(temp).chmod(0o644)
        Path(temp).replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            Path(temp).unlink()
        raise WorkspaceError(f"cannot write {path}: {exc.strerror}") from exc
    return True


async def _git(workspace: Path, *args: str) -> tuple[int, str]:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    try:
        with anyio.fail_after(_GIT_TIMEOUT_S):
            done = await anyio.run_process(["git", "-C", str(workspace), *args], check=False, env=env)
    except (OSError, TimeoutError):
        return 1, ""
    return done.returncode, done.stdout.decode("utf-8", "replace").strip()


async def exclude_from_git(workspace: Path, relative: str = SETTINGS_RELATIVE) -> None:
    """Keep ``relative`` out of the agent's commits: list it in ``info/exclude``; skip-worktree if tracked.

    ``info/exclude`` belongs to the repository (all its worktrees share it), so the pattern is anchored
    (``/.claude/settings.json``) and only hides an *untracked* file of that name. A tracked one (the project
    commits its own Claude settings) is marked ``skip-worktree`` in this worktree's index instead, so ao's
    changes to it never show as modified here. Nothing happens outside a git work tree.
    """
    code, top = await _git(workspace, "rev-parse", "--show-toplevel")
    if code != 0 or not top:
        return
    code, exclude = await _git(workspace, "rev-parse", "--git-path", "info/exclude")
    if code == 0 and exclude:
        exclude_path = Path(exclude) if Path(exclude).is_absolute() else workspace / exclude
        await anyio.to_thread.run_sync(_append_pattern, exclude_path, "/" + relative)
    code, _ = await _git(workspace, "ls-files", "--error-unmatch", "--", relative)
    if code == 0:
        await _git(workspace, "update-index", "--skip-worktree", "--", relative)


def _append_pattern(exclude_path: Path, pattern: str) -> None:
    try:
        existing = exclude_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        existing = ""
    except OSError as exc:
        raise WorkspaceError(f"cannot read {exclude_path}: {exc.strerror}") from exc
    if pattern in existing.splitlines():
        return
    exclude_path.parent.mkdir(parents=True, exist_ok=True)
    prefix = "" if not existing or existing.endswith("\n") else "\n"
    try:
        with exclude_path.open("a", encoding="utf-8") as handle:
            handle.write(f"{prefix}# added by ao: agent hooks, not part of the project\n{pattern}\n")
    except OSError as exc:
        raise WorkspaceError(f"cannot write {exclude_path}: {exc.strerror}") from exc
