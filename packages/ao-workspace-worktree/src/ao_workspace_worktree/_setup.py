"""Project setup in a new workspace: the project's ``symlinks`` and its ``postCreate`` commands."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
from collections import deque
from dataclasses import dataclass
from pathlib import Path, PurePath

import anyio
from anyio.abc import ByteReceiveStream
from ao_core.config import ProjectConfig
from ao_core.errors import WorkspaceError
from ao_core.models import WorkspaceInfo

from ._git import clean_env, redact

__all__ = ["run_post_create"]

log = logging.getLogger(__name__)

_OUTPUT_LIMIT = 64 * 1024
"""Bytes of a command's output kept for the error message (the end of it)."""
_DRAIN_GRACE_S = 1.0
"""How long to keep reading after the shell exited; a background child may hold the pipe open forever."""


async def run_post_create(info: WorkspaceInfo, project: ProjectConfig, *, timeout_s: float) -> None:
    """Link ``project.symlinks`` into the workspace, then run ``project.post_create`` there, in order.

    Each symlink entry is a path relative to the project checkout. When the source exists there, whatever
    is at the same path in the workspace is removed and replaced by a *relative* symlink to the source. An
    entry that is absolute, contains ``..``, or whose place in the workspace resolves outside it (through
    a symlink) is refused before anything is linked. Each command runs with ``sh -c`` in the workspace,
    stdin closed, output captured, within ``timeout_s``; the first failure stops the rest.

    Raises:
        WorkspaceError: a refused symlink entry, a filesystem error, or a command that failed or timed out
            (with its exit code and the last lines of its output). The workspace is left as it is.
    """
    workspace = Path(info.path)
    if not workspace.is_dir():
        raise WorkspaceError(f"workspace {info.path} does not exist; create or restore it before its setup")
    if project.symlinks:
        source_root = Path(project.path).expanduser().resolve()
        await anyio.to_thread.run_sync(_link_all, workspace.resolve(), source_root, list(project.symlinks))
    for command in project.post_create:
        await _run_command(command, workspace, timeout_s)


# --------------------------------------------------------------------------- symlinks


@dataclass(frozen=True)
class _Link:
    source: Path
    target: Path


def _check_entry(entry: str) -> PurePath:
    relative = PurePath(entry)
    if not entry.strip() or relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise WorkspaceError(
            f"symlink entry {entry!r} must be a relative path inside the project without '..'; "
            "fix 'symlinks' in the project's config"
        )
    if relative.parts[0] == ".git":
        raise WorkspaceError(f"symlink entry {entry!r} points into .git, which ao never replaces; remove the entry")
    return relative


def _plan(workspace: Path, source_root: Path, entry: str) -> _Link | None:
    relative = _check_entry(entry)
    source = source_root / relative
    if not os.path.lexists(source):
        log.debug("symlink entry %s: %s does not exist in the project; skipped", entry, source)
        return None
    # The link replaces whatever is at the target, so only its directory must stay inside the workspace;
    # resolving it follows any symlink on the way (a checked-in `lib -> /etc` would lead out).
    parent = (workspace / relative).parent.resolve()
    if not (parent == workspace or workspace in parent.parents):
        raise WorkspaceError(
            f"symlink entry {entry!r} leads outside the workspace {workspace} (its directory resolves to "
            f"{parent}); remove the entry from 'symlinks' or the symlink in the repository that leads out"
        )
    return _Link(source=source, target=parent / relative.name)


def _link_all(workspace: Path, source_root: Path, entries: list[str]) -> None:
    links = [link for entry in entries if (link := _plan(workspace, source_root, entry)) is not None]
    for link in links:
        try:
            if link.target.is_dir() and not link.target.is_symlink():
                shutil.rmtree(link.target)
            elif os.path.lexists(link.target):
                link.target.unlink()
            link.target.parent.mkdir(parents=True, exist_ok=True)
            link.target.symlink_to(os.path.relpath(link.source, link.target.parent))
        except OSError as exc:
            raise WorkspaceError(
                f"cannot link {link.target} to {link.source}: {exc.strerror or exc}; check permissions and free space"
            ) from exc


# --------------------------------------------------------------------------- commands


class _Tail:
    """The last ``limit`` bytes of a stream."""

    def __init__(self, limit: int) -> None:
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._limit = limit

    def add(self, chunk: bytes) -> None:
        self._chunks.append(chunk)
        self._size += len(chunk)
        while self._size - len(self._chunks[0]) >= self._limit:
            self._size -= len(self._chunks.popleft())

    def lines(self, count: int) -> str:
        text = b"".join(self._chunks)[-self._limit :].decode("utf-8", "replace")
        return "\n".join(text.rstrip().splitlines()[-count:])


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


async def _run_command(command: str, cwd: Path, timeout_s: float) -> None:
    process = await anyio.open_process(
        ["sh", "-c", command],
        cwd=cwd,
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: a timeout kills everything it started
    )
    tail = _Tail(_OUTPUT_LIMIT)
    drained = anyio.Event()

    async def drain(stream: ByteReceiveStream) -> None:
        try:
            async for chunk in stream:
                tail.add(chunk)
        finally:
            drained.set()

    timed_out = False
    try:
        async with anyio.create_task_group() as tg:
            assert process.stdout is not None  # opened with stdout=PIPE just above
            tg.start_soon(drain, process.stdout)
            with anyio.move_on_after(timeout_s) as scope:
                await process.wait()
            if scope.cancelled_caught:
                timed_out = True
                _kill_group(process.pid)
                await process.wait()
            with anyio.move_on_after(_DRAIN_GRACE_S):
                await drained.wait()
            tg.cancel_scope.cancel()
    except BaseException:
        _kill_group(process.pid)
        raise
    finally:
        with anyio.CancelScope(shield=True):
            await process.aclose()
    output = redact(tail.lines(20)) or "(no output)"
    if timed_out:
        raise WorkspaceError(
            f"postCreate command {redact(command)!r} did not finish within {timeout_s:g} s in {cwd} and was "
            f"killed; last lines of its output:\n{output}\n"
            "Make the command faster or raise the plugin's 'postCreateTimeoutS'"
        )
    if process.returncode != 0:
        raise WorkspaceError(
            f"postCreate command {redact(command)!r} failed with exit code {process.returncode} in {cwd}; "
            f"last lines of its output:\n{output}\nFix the command in the project's 'postCreate' list and try again"
        )
    log.debug("postCreate command %r finished in %s", redact(command), cwd)
