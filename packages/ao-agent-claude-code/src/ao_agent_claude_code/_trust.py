"""Marking a folder as trusted in Claude Code's global state file, safely next to a running CLI.

A folder Claude Code has never seen stops the interactive CLI at "Is this a project you created or one you
trust?", even with ``--dangerously-skip-permissions``. Claude Code records the answer in its global state
file (``~/.claude.json``) as ``projects[<absolute path>].hasTrustDialogAccepted``, and it rewrites that file
itself, holding a lock: the directory ``<file>.lock`` (the proper-lockfile convention, stale after 10 s).
This module takes the same lock, re-reads the file, adds the one key and replaces the file atomically
(temporary file in the same directory, fsync, rename), so neither side loses the other's changes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ao_core.errors import WorkspaceError

__all__ = ["is_trusted", "trust_folder"]

log = logging.getLogger("ao.agent.claude-code")

_LOCK_STALE_S = 10.0
_LOCK_WAIT_S = 15.0


@contextlib.contextmanager
def _locked(target: Path) -> Iterator[None]:
    """Hold ``<target>.lock`` (a directory, as Claude Code's proper-lockfile does)."""
    lock = target.with_name(target.name + ".lock")
    deadline = time.monotonic() + _LOCK_WAIT_S
    delay = 0.005
    while True:
        try:
            lock.mkdir()
            break
        except FileExistsError:
            try:
                age = time.time() - lock.stat().st_mtime
            except FileNotFoundError:
                continue
            if age > _LOCK_STALE_S:
                # Stale (its holder died): take it over the way proper-lockfile does, by removing it.
                with contextlib.suppress(OSError):
                    lock.rmdir()
                continue
            if time.monotonic() > deadline:
                raise WorkspaceError(
                    f"cannot lock {target} (held by another Claude Code or ao process for {age:.0f}s); "
                    f"remove {lock} if no claude process is running"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            lock.rmdir()


def _load(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise WorkspaceError(f"cannot read Claude Code's state file {path}: {exc.strerror}") from exc
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise WorkspaceError(
            f"Claude Code's state file {path} is not valid JSON ({exc}); fix it (Claude Code keeps backups in "
            "~/.claude/backups) so that ao can mark workspaces as trusted"
        ) from exc
    if not isinstance(data, dict):
        raise WorkspaceError(f"Claude Code's state file {path} does not hold a JSON object; fix or remove it")
    return data


def _write_atomically(path: Path, data: dict[str, Any]) -> None:
    mode = 0o600
    with contextlib.suppress(FileNotFoundError):
        mode = path.stat().st_mode & 0o777
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".ao-tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, ensure_ascii=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        Path(temp).chmod(mode)
        Path(temp).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(temp).unlink()
        raise


def _keys_for(folder: Path) -> list[str]:
    keys = [str(folder.absolute())]
    resolved = str(folder.resolve())
    if resolved not in keys:
        keys.append(resolved)
    return keys


def is_trusted(state_file: Path, folder: Path) -> bool:
    """Whether Claude Code would trust ``folder``: it, or a folder above it, is marked trusted."""
    try:
        projects = _load(state_file).get("projects")
    except WorkspaceError:
        return False
    if not isinstance(projects, dict):
        return False
    for key in _keys_for(folder):
        current = Path(key)
        for candidate in (current, *current.parents):
            entry = projects.get(str(candidate))
            if isinstance(entry, dict) and entry.get("hasTrustDialogAccepted") is True:
                return True
    return False


def trust_folder(state_file: Path, folder: Path) -> bool:
    """Mark ``folder`` (as given and as its real path) trusted; return whether the file had to change.

    Raises:
        WorkspaceError: the state file is unreadable, not JSON, or its lock could not be taken.
    """
    if is_trusted(state_file, folder):
        return False
    state_file.parent.mkdir(parents=True, exist_ok=True)
    with _locked(state_file):
        data = _load(state_file)
        projects = data.get("projects")
        if not isinstance(projects, dict):
            projects = {}
            data["projects"] = projects
        for key in _keys_for(folder):
            entry = projects.get(key)
            if not isinstance(entry, dict):
                entry = {}
                projects[key] = entry
            entry["hasTrustDialogAccepted"] = True
        try:
            _write_atomically(state_file, data)
        except OSError as exc:
            raise WorkspaceError(f"cannot write Claude Code's state file {state_file}: {exc.strerror}") from exc
    log.debug("marked %s as trusted in %s", folder, state_file)
    return True
