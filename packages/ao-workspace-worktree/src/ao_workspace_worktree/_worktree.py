"""The worktree workspace: one ``git worktree`` of the project's repository per session."""

from __future__ import annotations

import builtins
import logging
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import anyio
from ao_core.config import ProjectConfig
from ao_core.errors import WorkspaceError
from ao_core.models import WorkspaceCreateConfig, WorkspaceInfo

from ._common import (
    DETACHED,
    Layout,
    claim_dir,
    current_branch,
    delete_tree,
    info_for,
    is_work_tree_top,
    make_dir,
    path_taken,
    prepare,
    refuse_unignored,
)
from ._config import WorktreeWorkspaceConfig
from ._git import (
    Fetcher,
    GitResult,
    branch_exists,
    git_failure,
    query_git,
    ref_exists,
    resolve_base_ref,
    run_git,
    validate_id,
)
from ._setup import run_post_create

__all__ = ["WorktreeWorkspace"]

log = logging.getLogger(__name__)

_ADD_ATTEMPTS = 3
_ADD_HINT = "check the message above; 'git worktree list' in the project shows existing worktrees"
# git reads every worktree's records while adding one, and fails on a record another git process is still
# writing ("failed to read .git/worktrees/<id>/commondir"), or on a lock another process holds. Within this
# process a gate per repository admits one worktree command at a time (an add only until its records are
# written); an add that meets another process's git is retried.
_TRANSIENT = re.compile(r"failed to read .*worktrees/|could not lock|\.lock': File exists|Unable to create .*\.lock")


@dataclass(frozen=True)
class _Entry:
    path: str
    branch: str


def _recorded(path: Path) -> bool:
    """Whether git has written the records of the new worktree at ``path``: its ``.git`` file and admin files."""
    try:
        pointer = (path / ".git").read_text()
    except OSError:
        return False
    admin = Path(pointer.removeprefix("gitdir:").strip())
    # git creates each file and then writes it: an empty file is not written yet.
    return pointer.startswith("gitdir:") and all(_written(admin / name) for name in ("gitdir", "commondir", "HEAD"))


def _written(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except OSError:
        return False


def _drop_records(records: Path, path: Path) -> None:
    """Delete the worktree records (under ``<git dir>/worktrees``) that point at ``path``."""
    for record in records.iterdir() if records.is_dir() else []:
        try:
            points_at = Path((record / "gitdir").read_text().strip()).parent.resolve()
        except OSError:
            continue
        if points_at == path:
            shutil.rmtree(record, ignore_errors=True)


def _parse_porcelain(text: str) -> builtins.list[_Entry]:
    """Parse ``git worktree list --porcelain``: blocks of ``key value`` lines separated by blank lines."""
    entries: builtins.list[_Entry] = []
    for block in text.split("\n\n"):
        path = None
        branch = DETACHED
        for line in block.splitlines():
            key, _, value = line.partition(" ")
            if key == "worktree":
                path = value
            elif key == "branch":
                branch = value.removeprefix("refs/heads/")
        if path is not None:
            entries.append(_Entry(path, branch))
    return entries


class WorktreeWorkspace:
    """Each session works in its own ``git worktree`` of the project, on its own new branch.

    Workspaces live at ``<base>/<session_id>`` (see the README for the base directory). The project's own
    checkout is never touched: no checkout, stash or index change there; only refs and worktree records in
    its ``.git`` change. Branches outlive their worktrees: ``destroy`` keeps them and ``restore`` puts a
    worktree back on them. Nothing that matters is kept in memory, so another process can list, destroy and
    restore what this one created.

    ``post_create`` leaves a workspace whose setup failed in place (the error says why); its caller decides
    whether to inspect it or ``destroy`` it, as the kernel's spawn rollback does.
    """

    def __init__(self, config: WorktreeWorkspaceConfig) -> None:
        self._config = config
        self._layout = Layout(config.base_dir)
        self._fetcher = Fetcher(timeout_s=config.git_timeout_s)
        self._gates: dict[Path, anyio.Semaphore] = {}

    @property
    def name(self) -> str:
        """The plugin name, ``worktree``."""
        return "worktree"

    async def create(self, config: WorkspaceCreateConfig) -> WorkspaceInfo:
        """Add a worktree at ``<base>/<session_id>`` on the new branch ``config.branch``.

        The branch starts at ``origin/<default_branch>`` (fetched first when ``origin`` exists; a failed fetch
        only logs a warning) or, without it, at the local default branch. It does not track the default branch.

        Raises:
            WorkspaceError: an invalid id or branch name, a project path that is not a git checkout, an
                existing workspace path, an existing branch (``restore`` is the way to reuse one), a missing
                default branch, or a failing git command. Nothing is left behind.
        """
        repo, path = await prepare(self._layout, config)
        if os.path.lexists(path):
            raise path_taken(path, config)
        make_dir(path.parent)
        await refuse_unignored(repo, path)
        if await branch_exists(repo, config.branch):
            raise WorkspaceError(
                f"branch {config.branch!r} already exists in {repo}; pick another branch name, or restore the "
                "session that owns it (restore reuses its branch)"
            )
        await self._fetch(repo, config.default_branch)
        base_ref = await resolve_base_ref(repo, config.default_branch)
        args = ["--no-track", "-b", config.branch, str(path), base_ref]
        await self._add(repo, path, args, config, new=(config.branch, base_ref))
        return info_for(path, config)

    async def destroy(self, workspace_path: str) -> None:
        """Remove the worktree (``git worktree remove --force``, else delete it and prune); keep its branch.

        A missing path is not an error.

        Raises:
            WorkspaceError: the path is relative, is not ``<base>/<session_id>`` of this plugin, is a
                repository's main checkout, or cannot be deleted.
        """
        given = Path(workspace_path).expanduser()
        if not given.is_absolute():
            raise WorkspaceError(f"workspace path {workspace_path!r} is relative; pass the absolute path")
        if not os.path.lexists(given):
            for known in self._layout.known_repos():  # drop records of worktrees whose directory is gone
                async with self._gate(known):
                    await query_git(["worktree", "prune"], cwd=known)
            return
        path = self._layout.check_managed(workspace_path)
        repo = await self._main_repo_of(path)
        if repo is None:
            await delete_tree(path)
            return
        async with self._gate(repo):
            command = ["worktree", "remove", "--force", str(path)]
            removed = await run_git(command, cwd=repo, timeout_s=self._config.git_timeout_s, check=False)
            if removed.returncode != 0:
                log.warning("git worktree remove %s failed, deleting the directory: %s", path, removed.stderr.strip())
                await delete_tree(path)
            await query_git(["worktree", "prune"], cwd=repo)

    async def list(self, project_id: str) -> builtins.list[WorkspaceInfo]:
        """The project's worktrees under its base directories, found on disk and in ``git worktree list``.

        Works in a fresh process: the base directories are derived from the project id, and each worktree
        found there names its repository. A detached worktree reports the branch ``HEAD``.
        """
        validate_id("project id", project_id)
        bases = self._layout.bases_for(project_id)
        found: dict[Path, WorkspaceInfo] = {}
        listed: set[Path] = set()

        async def collect(repo: Path) -> None:
            listed.add(repo)
            async with self._gate(repo):
                result = await query_git(["worktree", "list", "--porcelain"], cwd=repo)
            if result.returncode != 0:
                log.warning("git worktree list failed in %s: %s", repo, result.stderr.strip())
                return
            for entry in _parse_porcelain(result.stdout):
                path = Path(entry.path).resolve()
                if path.parent in bases and path.is_dir():
                    found[path] = WorkspaceInfo(
                        path=str(path), branch=entry.branch, session_id=path.name, project_id=project_id
                    )

        known = self._layout.repo_for(project_id)
        if known is not None:
            await collect(known)
        for base in bases:
            for child in sorted(base.iterdir()) if base.is_dir() else []:
                if child.resolve() in found or not child.is_dir():
                    continue
                repo = await self._main_repo_of(child, refuse_main=False)
                if repo is not None and repo not in listed:
                    await collect(repo)
        return sorted(found.values(), key=lambda info: info.session_id)

    async def post_create(self, info: WorkspaceInfo, project: ProjectConfig) -> None:
        """Link the project's ``symlinks`` and run its ``postCreate`` commands in the workspace.

        Raises:
            WorkspaceError: a refused symlink entry or a failing command. The workspace stays; destroy it if
                it is not wanted.
        """
        await run_post_create(info, project, timeout_s=self._config.post_create_timeout_s)

    async def exists(self, workspace_path: str) -> bool:
        """Whether the path is a directory at the top of a git work tree."""
        return await is_work_tree_top(Path(workspace_path).expanduser())

    async def restore(self, config: WorkspaceCreateConfig, workspace_path: str) -> WorkspaceInfo:
        """Put a worktree back at ``workspace_path`` on the session's existing branch.

        The local branch is used when it exists; else ``origin/<branch>`` (fetched) starts it; else it starts
        afresh from the default branch, as in ``create``. A worktree already there on the branch is returned
        as it is.

        Raises:
            WorkspaceError: invalid ids or branch, a path outside this plugin's directories, something else at
                the path, the branch checked out in another worktree, or a failing git command. Nothing is
                left behind.
        """
        repo, _ = await prepare(self._layout, config)
        path = self._layout.check_managed(workspace_path, action="restore into")
        if os.path.lexists(path):
            if await is_work_tree_top(path) and await current_branch(path) == config.branch:
                return info_for(path, config)
            raise WorkspaceError(
                f"cannot restore session '{config.session_id}' at {path}: something else is there; destroy it first"
            )
        make_dir(path.parent)
        async with self._gate(repo):
            await query_git(["worktree", "prune"], cwd=repo)
        branch = config.branch
        remote_ref = f"refs/remotes/origin/{branch}"
        if await branch_exists(repo, branch):
            await self._add(repo, path, [str(path), branch], config, new=None)
        elif await self._fetch(repo, branch) and await ref_exists(repo, remote_ref):
            args = ["--track", "-b", branch, str(path), remote_ref]
            await self._add(repo, path, args, config, new=(branch, remote_ref))
        else:
            await self._fetch(repo, config.default_branch)
            base_ref = await resolve_base_ref(repo, config.default_branch)
            args = ["--no-track", "-b", branch, str(path), base_ref]
            await self._add(repo, path, args, config, new=(branch, base_ref))
        return info_for(path, config)

    # ------------------------------------------------------------------ internals

    def _gate(self, repo: Path) -> anyio.Semaphore:
        """Admits one worktree command at a time per repository, in this process (see ``_TRANSIENT``)."""
        return self._gates.setdefault(repo, anyio.Semaphore(1))

    async def _fetch(self, repo: Path, branch: str) -> bool:
        # git fetch reads every worktree's records too (it refuses to update a checked-out branch).
        return await self._fetcher.fetch(repo, branch, guard=lambda: self._gate(repo))

    async def _add(
        self,
        repo: Path,
        path: Path,
        args: Sequence[str],
        config: WorkspaceCreateConfig,
        *,
        new: tuple[str, str] | None,
    ) -> None:
        """``git worktree add`` into a directory claimed here; on any failure remove what this call made.

        ``new`` is the branch the command creates and the ref it starts from; that branch is deleted again on
        failure, but only while it still points where it started.
        """
        start = None
        if new is not None:
            resolved = await query_git(["rev-parse", "--verify", "--quiet", f"{new[1]}^{{commit}}"], cwd=repo)
            start = resolved.stdout.strip() or None
        created = None if new is None else new[0]
        command = ["worktree", "add", "--quiet", *args]
        for attempt in range(1, _ADD_ATTEMPTS + 1):
            claim_dir(path, config)
            try:
                result = await self._worktree_add(repo, path, command)
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await self._rollback(repo, path, created, start)
                raise
            if result.returncode == 0:
                return
            with anyio.CancelScope(shield=True):
                await self._rollback(repo, path, created, start)
            if attempt == _ADD_ATTEMPTS or not _TRANSIENT.search(result.stderr):
                raise git_failure(command, repo, result, _ADD_HINT)
            log.info("git worktree add met another git process in %s; retrying: %s", repo, result.stderr.strip())
            await anyio.sleep(0.1 * attempt)

    async def _worktree_add(self, repo: Path, path: Path, command: Sequence[str]) -> GitResult:
        """Run ``git worktree add``, holding the repository's gate only until git has recorded the worktree.

        The records are what another git command trips over; once they are complete, the checkout (the slow
        part) may overlap with the next worktree's start.
        """
        gate = self._gate(repo)
        await gate.acquire()
        is_open = False

        def open_gate() -> None:
            nonlocal is_open
            if not is_open:
                is_open = True
                gate.release()

        async def open_once_recorded() -> None:
            while not _recorded(path):  # noqa: ASYNC110 - polling the filesystem: git signals nothing here
                await anyio.sleep(0.01)
            open_gate()

        result: GitResult | None = None
        error: WorkspaceError | None = None
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(open_once_recorded)
                try:
                    result = await run_git(command, cwd=repo, timeout_s=self._config.git_timeout_s, check=False)
                except WorkspaceError as exc:  # kept out of the task group, which would wrap it in a group
                    error = exc
                tg.cancel_scope.cancel()
        finally:
            open_gate()
        if error is not None:
            raise error
        assert result is not None  # set unless run_git raised, handled just above
        return result

    async def _rollback(self, repo: Path, path: Path, branch: str | None, start: str | None) -> None:
        """Undo a failed ``worktree add``: its directory, its records, and the branch it had just made."""
        # A git killed mid-way leaves its record locked ("initializing"), which prune keeps. While this call
        # still holds the directory it claimed, every record pointing there is this call's to delete.
        common = await query_git(["rev-parse", "--git-common-dir"], cwd=repo)
        if common.returncode == 0:
            async with self._gate(repo):
                _drop_records((repo / common.stdout.strip()).resolve() / "worktrees", path)
        if os.path.lexists(path):
            await anyio.to_thread.run_sync(lambda: shutil.rmtree(path, ignore_errors=True))
        async with self._gate(repo):
            await query_git(["worktree", "prune"], cwd=repo)
        if branch is not None and start:
            # Delete the branch only while it is exactly what this call created (compare-and-delete).
            await query_git(["update-ref", "-d", f"refs/heads/{branch}", start], cwd=repo)

    async def _main_repo_of(self, path: Path, *, refuse_main: bool = True) -> Path | None:
        """The main repository of the linked worktree whose top is ``path``; ``None`` if it is none.

        Raises:
            WorkspaceError: with ``refuse_main``, when ``path`` is the top of a repository's main checkout.
        """
        result = await query_git(["rev-parse", "--show-toplevel", "--git-dir", "--git-common-dir"], cwd=path)
        lines = result.stdout.splitlines()
        if result.returncode != 0 or len(lines) != 3 or (path / lines[0]).resolve() != path.resolve():
            return None
        git_dir, common_dir = (path / lines[1]).resolve(), (path / lines[2]).resolve()
        if git_dir != common_dir:
            return common_dir.parent if common_dir.name == ".git" else common_dir
        if refuse_main:
            raise WorkspaceError(
                f"refusing to remove {path}: it is the main checkout of a repository, not a worktree; "
                "remove it by hand if that is really wanted"
            )
        return None
