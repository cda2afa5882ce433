"""What both workspace plugins share beyond git: directories, request checks, claiming and deleting paths."""

from __future__ import annotations

import builtins
import os
import re
import shutil
from pathlib import Path

import anyio
from ao_core import paths
from ao_core.errors import WorkspaceError
from ao_core.models import WorkspaceCreateConfig, WorkspaceInfo

from ._git import project_repo, query_git, validate_branch, validate_id

__all__ = [
    "DETACHED",
    "Layout",
    "claim_dir",
    "current_branch",
    "delete_tree",
    "info_for",
    "inside",
    "is_work_tree_top",
    "make_dir",
    "path_taken",
    "prepare",
    "refuse_unignored",
]

DETACHED = "HEAD"
"""The branch reported for a detached HEAD (no branch can be named ``HEAD``)."""

_ID_RE = re.compile(r"[a-zA-Z0-9_-]+")


def inside(path: Path, root: Path) -> bool:
    """Whether ``path`` is ``root`` or lies below it (both already resolved)."""
    return path == root or root in path.parents


class Layout:
    """Workspace directories are ``<base>/<session_id>``; the base of a project is the first of these.

    1. ``<base_dir>/<project_id>`` when the plugin's ``baseDir`` is set (one directory can serve many
       projects, so each gets its own level);
    2. the ``workspace_dir`` the kernel passes with a create call;
    3. ``<state dir>/projects/<project_id>/worktrees`` (``ao_core.paths``; ``$AO_STATE_DIR`` moves it).

    Nothing here must survive in memory for correctness: bases and 3. can be recomputed from the project
    id, and bases seen in this process are remembered only so that a kernel-given ``workspace_dir`` is
    also found by :meth:`bases_for` and accepted by :meth:`check_managed`.
    """

    def __init__(self, base_dir: str | None) -> None:
        self._base_dir = Path(base_dir).expanduser().resolve() if base_dir else None
        self._bases: dict[str, set[Path]] = {}
        self._repos: dict[str, Path] = {}

    def base_for(self, project_id: str, workspace_dir: str | None) -> Path:
        """The directory that holds the project's workspaces (absolute, symlinks resolved)."""
        if self._base_dir is not None:
            base = self._base_dir / project_id
        elif workspace_dir:
            base = Path(workspace_dir).expanduser().resolve()
        else:
            base = self._default_base(project_id)
        self._bases.setdefault(project_id, set()).add(base)
        return base

    def bases_for(self, project_id: str) -> builtins.list[Path]:
        """Every directory that may hold the project's workspaces: the derived one and any seen in this process."""
        derived = self._base_dir / project_id if self._base_dir is not None else self._default_base(project_id)
        return sorted({derived, *self._bases.get(project_id, set())})

    def remember_repo(self, project_id: str, repo: Path) -> None:
        """Note the project's checkout (a hint for ``list`` and a path ``destroy`` must never delete)."""
        self._repos[project_id] = repo

    def known_repos(self) -> builtins.list[Path]:
        """The project checkouts calls in this process have named."""
        return sorted(set(self._repos.values()))

    def repo_for(self, project_id: str) -> Path | None:
        """The project's checkout, if a call in this process named it."""
        return self._repos.get(project_id)

    def check_managed(self, workspace_path: str, action: str = "remove") -> Path:
        """Return the resolved path if it is ``<base>/<session_id>`` of this plugin, else refuse.

        Raises:
            WorkspaceError: the path is relative, lies outside every base directory of this plugin, is not
                named like a session, or is (or contains) a project's own checkout.
        """
        given = Path(workspace_path).expanduser()
        if not given.is_absolute():
            raise WorkspaceError(f"workspace path {workspace_path!r} is relative; pass the absolute path")
        path = given.resolve()
        base = path.parent
        named_like_base = _ID_RE.fullmatch(base.name) is not None
        managed = _ID_RE.fullmatch(path.name) is not None and (
            any(base in bases for bases in self._bases.values())
            or (self._base_dir is not None and base.parent == self._base_dir and named_like_base)
            or (_ID_RE.fullmatch(base.parent.name) is not None and base == self._default_base(base.parent.name))
        )
        if not managed:
            where = str(self._base_dir) if self._base_dir is not None else str(self._default_base("<project>"))
            raise WorkspaceError(
                f"refusing to {action} {workspace_path}: it is not a workspace of this plugin "
                f"(those are <base>/<session-id>, with bases under {where}); remove it by hand if it is yours"
            )
        for repo in self._repos.values():
            if inside(repo, path):
                raise WorkspaceError(
                    f"refusing to {action} {workspace_path}: it is or contains the project checkout {repo}"
                )
        return path

    @staticmethod
    def _default_base(project_id: str) -> Path:
        return paths.workspaces_dir(paths.state_dir(), project_id).expanduser().resolve()


def make_dir(path: Path) -> None:
    """Create ``path`` and its parents (existing is fine).

    Raises:
        WorkspaceError: it cannot be created (a parent is a file, no permission, read-only filesystem).
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkspaceError(
            f"cannot create the workspace directory {path}: {exc.strerror or exc}; "
            "make it writable or choose another 'baseDir'"
        ) from exc


def claim_dir(path: Path, config: WorkspaceCreateConfig) -> None:
    """Create the workspace directory exclusively: from then on it is this call's to delete on failure.

    git accepts an existing empty directory for ``worktree add`` and ``clone``; claiming it first means a
    rollback never deletes a directory that someone else created in the meantime.

    Raises:
        WorkspaceError: the path exists or cannot be created.
    """
    try:
        path.mkdir()
    except FileExistsError:
        raise path_taken(path, config) from None
    except OSError as exc:
        raise WorkspaceError(f"cannot create workspace directory {path}: {exc.strerror or exc}") from exc


def path_taken(path: Path, config: WorkspaceCreateConfig) -> WorkspaceError:
    """The error for a workspace path that already exists."""
    return WorkspaceError(
        f"workspace path {path} already exists; destroy the old workspace of session '{config.session_id}' "
        "or use another session id (ao does not delete what it did not create)"
    )


def info_for(path: Path, config: WorkspaceCreateConfig) -> WorkspaceInfo:
    """The workspace description returned to the kernel."""
    return WorkspaceInfo(
        path=str(path), branch=config.branch, session_id=config.session_id, project_id=config.project_id
    )


async def prepare(layout: Layout, config: WorkspaceCreateConfig) -> tuple[Path, Path]:
    """Validate a create or restore request; return the project's checkout and the workspace path.

    Raises:
        WorkspaceError: an invalid id or branch name, a project path that is not a git checkout, or a
            workspace path that would contain the checkout.
    """
    validate_id("session id", config.session_id)
    validate_id("project id", config.project_id)
    await validate_branch(config.branch)
    await validate_branch(config.default_branch, what="default branch")
    repo = await project_repo(config.project_path)
    layout.remember_repo(config.project_id, repo)
    path = layout.base_for(config.project_id, config.workspace_dir) / config.session_id
    if inside(repo, path):
        raise WorkspaceError(
            f"workspace path {path} would contain the project checkout {repo}; choose another 'baseDir'"
        )
    return repo, path


async def refuse_unignored(repo: Path, path: Path) -> None:
    """A workspace inside the project's checkout must be git-ignored there, or it shows in the project's status.

    Raises:
        WorkspaceError: ``path`` is inside ``repo`` and not ignored.
    """
    if not inside(path, repo):
        return
    ignored = await query_git(["check-ignore", "--quiet", str(path)], cwd=repo)
    if ignored.returncode != 0:
        raise WorkspaceError(
            f"workspace path {path} is inside the project checkout {repo} and not git-ignored there; add its "
            "directory to .gitignore or choose a 'baseDir' outside the checkout"
        )


async def is_work_tree_top(path: Path) -> bool:
    """Whether ``path`` is a directory at the top of a git work tree."""
    if not path.is_dir():
        return False
    result = await query_git(["rev-parse", "--is-inside-work-tree", "--show-toplevel"], cwd=path)
    lines = result.stdout.splitlines()
    return (
        result.returncode == 0
        and len(lines) == 2
        and lines[0] == "true"
        and (path / lines[1]).resolve() == path.resolve()
    )


async def current_branch(path: Path) -> str:
    """The branch checked out at ``path``, or :data:`DETACHED`."""
    result = await query_git(["symbolic-ref", "--quiet", "--short", "HEAD"], cwd=path)
    return result.stdout.strip() if result.returncode == 0 else DETACHED


async def delete_tree(path: Path) -> None:
    """Delete a workspace directory (in a worker thread: it may be large); a missing one is fine.

    Raises:
        WorkspaceError: it cannot be deleted.
    """
    if not os.path.lexists(path):
        return
    try:
        await anyio.to_thread.run_sync(shutil.rmtree, path)
    except OSError as exc:
        raise WorkspaceError(
            f"cannot delete workspace {path}: {exc.strerror or exc}; check its permissions and delete it by hand"
        ) from exc
