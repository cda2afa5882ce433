"""The git facts the agent needs: the newest commit's time, and keeping Aider's files out of commits."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import anyio
import anyio.to_thread
from ao_core.errors import WorkspaceError

__all__ = ["exclude_from_git", "head_commit_time"]

_GIT_TIMEOUT_S = 10.0


async def _git(workspace: Path, *args: str) -> tuple[int, str]:
    try:
        with anyio.fail_after(_GIT_TIMEOUT_S):
            done = await anyio.run_process(["git", "-C", str(workspace), *args], check=False)
    except (OSError, TimeoutError):
        return 1, ""
    return done.returncode, done.stdout.decode("utf-8", "replace").strip()


async def head_commit_time(workspace: Path) -> datetime | None:
    """When the workspace's ``HEAD`` commit was made (``None``: not a repository, or no commit)."""
    code, out = await _git(workspace, "log", "-1", "--format=%ct")
    if code != 0 or not out.isdigit():
        return None
    return datetime.fromtimestamp(int(out), UTC)


async def exclude_from_git(workspace: Path, pattern: str) -> None:
    """Add ``pattern`` to the repository's ``info/exclude`` (shared by all its worktrees), once.

    Nothing happens outside a git repository.

    Raises:
        WorkspaceError: the exclude file cannot be read or written.
    """
    code, exclude = await _git(workspace, "rev-parse", "--git-path", "info/exclude")
    if code != 0 or not exclude:
        return
    path = Path(exclude) if Path(exclude).is_absolute() else workspace / exclude
    await anyio.to_thread.run_sync(_append_line, path, pattern)


def _append_line(path: Path, line: str) -> None:
    try:
        existing = path.read_text(encoding="utf-8") if path.exists() else ""
    except OSError as exc:
        raise WorkspaceError(f"cannot read {path}: {exc.strerror}; make it readable") from exc
    if line in existing.splitlines():
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            if existing and not existing.endswith("\n"):
                handle.write("\n")
            handle.write(line + "\n")
    except OSError as exc:
        raise WorkspaceError(f"cannot write {path}: {exc.strerror}; make it writable") from exc
