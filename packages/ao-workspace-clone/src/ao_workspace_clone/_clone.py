"""The clone workspace: one full ``git clone`` of the project per session."""

from __future__ import annotations

import builtins
import logging
import os
import re
from pathlib import Path

import anyio
from ao_core.config import ProjectConfig
from ao_core.errors import WorkspaceError
from ao_core.models import WorkspaceCreateConfig, WorkspaceInfo
from ao_workspace_worktree.gitsupport import (
    Fetcher,
    Layout,
    branch_exists,
    claim_dir,
    current_branch,
    delete_tree,
    git_failure,
    info_for,
    is_work_tree_top,
    make_dir,
    path_taken,
    prepare,
    query_git,
    redact,
    ref_exists,
    refuse_unignored,
    remote_url,
    run_git,
    run_post_create,
    validate_id,
)

from ._config import CloneWorkspaceConfig

__all__ = ["CloneWorkspace"]

log = logging.getLogger(__name__)

MARKER = "clone"
"""The value of ``ao.workspace`` in the local config of every clone this plugin made; ``destroy`` requires it."""

_REMOTE_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://|^[^/:]+:")  # scheme://... or scp-like host:path


def _absolute_url(url: str, repo: Path) -> str:
    """A remote URL usable from anywhere: a relative local path is taken relative to the project's checkout."""
    if _REMOTE_URL.match(url) or Path(url).is_absolute():
        return url
    return str((repo / url).resolve())


async def _common_dir(repo: Path) -> Path:
    """The project's git directory (``.git``, also for a linked worktree as project): what ``--reference`` needs."""
    result = await query_git(["rev-parse", "--git-common-dir"], cwd=repo)
    return (repo / result.stdout.strip()).resolve()


async def _markers(path: Path) -> dict[str, str]:
    """The ``ao.*`` keys of a clone's own config (lower-case names), ``{}`` when it has none."""
    if not (path / ".git").is_dir():
        return {}
    result = await query_git(["config", "--local", "--get-regexp", r"^ao\."], cwd=path)
    pairs = (line.partition(" ") for line in result.stdout.splitlines())
    return {key.lower(): value for key, _, value in pairs} if result.returncode == 0 else {}


class CloneWorkspace:
    """Each session works in its own clone of the project, on its own new branch.

    The clone is made from the project's ``origin`` (or from the checkout when it has none), borrowing the
    checkout's objects (``--reference``), and its ``origin`` is the project's: pushes go to the real remote.
    Clones live at ``<base>/<session_id>`` and carry ``ao.*`` keys in their own git config (the plugin's
    mark, the project and the session's branch), so that any process can list them and ``destroy`` never
    deletes a repository it did not make. The project's checkout is never touched.

    ``destroy`` keeps the session's branch: when it has commits that are on no remote, they are first
    fetched into the project's repository as ``refs/heads/<branch>``; ``restore`` takes the branch from
    there, else from ``origin``. ``post_create`` leaves a workspace whose setup failed in place for its
    caller to inspect or destroy.
    """

    def __init__(self, config: CloneWorkspaceConfig) -> None:
        self._config = config
        self._layout = Layout(config.base_dir)
        self._fetcher = Fetcher(timeout_s=config.git_timeout_s)

    @property
    def name(self) -> str:
        """The plugin name, ``clone``."""
        return "clone"

    async def create(self, config: WorkspaceCreateConfig) -> WorkspaceInfo:
        """Clone the project into ``<base>/<session_id>`` and check out the new branch ``config.branch``.

        The clone starts on ``<default_branch>`` of the project's ``origin`` (of the checkout when it has no
        ``origin``); the new branch starts there and tracks nothing.

        Raises:
            WorkspaceError: an invalid id or branch name, a project path that is not a git checkout, an
                existing workspace path, a branch that already exists in the project or on its ``origin``
                (``restore`` is the way to reuse one), or a failing git command. Nothing is left behind.
        """
        repo, path = await prepare(self._layout, config)
        if os.path.lexists(path):
            raise path_taken(path, config)
        make_dir(path.parent)
        await refuse_unignored(repo, path)
        if await branch_exists(repo, config.branch):
            raise _branch_taken(config.branch, f"the project checkout {repo}")
        await self._clone(repo, path, config)
        try:
            if await ref_exists(path, f"refs/remotes/origin/{config.branch}"):
                origin = redact(await remote_url(path) or "origin")
                raise _branch_taken(config.branch, f"the project's origin ({origin})")
            await self._git(path, ["checkout", "--quiet", "--no-track", "-b", config.branch])
        except BaseException:
            with anyio.CancelScope(shield=True):
                await delete_tree(path)
            raise
        return info_for(path, config)

    async def destroy(self, workspace_path: str) -> None:
        """Delete the clone, after keeping its branch's unpushed commits in the project's repository.

        A missing path is not an error.

        Raises:
            WorkspaceError: the path is relative, is not ``<base>/<session_id>`` of this plugin, is a
                repository this plugin did not make, the branch's unpushed commits cannot be kept (the
                project's branch of that name has diverged or is checked out), or deleting fails.
        """
        given = Path(workspace_path).expanduser()
        if not given.is_absolute():
            raise WorkspaceError(f"workspace path {workspace_path!r} is relative; pass the absolute path")
        if not os.path.lexists(given):
            return
        path = self._layout.check_managed(workspace_path)
        top = await query_git(["rev-parse", "--show-toplevel"], cwd=path)
        if top.returncode == 0 and (path / top.stdout.strip()).resolve() == path:
            markers = await _markers(path)
            if markers.get("ao.workspace") != MARKER:
                raise WorkspaceError(
                    f"refusing to remove {path}: it is a git repository that the clone plugin did not make "
                    f"(its config has no ao.workspace={MARKER}); remove it by hand if it is yours"
                )
            await self._keep_branch(path, markers)
        await delete_tree(path)

    async def list(self, project_id: str) -> builtins.list[WorkspaceInfo]:
        """The project's clones under its base directories (found on disk; works in a fresh process)."""
        validate_id("project id", project_id)
        found: builtins.list[WorkspaceInfo] = []
        for base in self._layout.bases_for(project_id):
            for child in sorted(base.iterdir()) if base.is_dir() else []:
                markers = await _markers(child)
                if markers.get("ao.workspace") != MARKER or markers.get("ao.project") != project_id:
                    continue
                path = child.resolve()
                branch = await current_branch(path)
                found.append(WorkspaceInfo(path=str(path), branch=branch, session_id=path.name, project_id=project_id))
        return sorted(found, key=lambda info: info.session_id)

    async def post_create(self, info: WorkspaceInfo, project: ProjectConfig) -> None:
        """Link the project's ``symlinks`` and run its ``postCreate`` commands in the clone.

        Raises:
            WorkspaceError: a refused symlink entry or a failing command. The clone stays; destroy it if it is
                not wanted.
        """
        await run_post_create(info, project, timeout_s=self._config.post_create_timeout_s)

    async def exists(self, workspace_path: str) -> bool:
        """Whether the path is a directory at the top of a git work tree."""
        return await is_work_tree_top(Path(workspace_path).expanduser())

    async def restore(self, config: WorkspaceCreateConfig, workspace_path: str) -> WorkspaceInfo:
        """Clone again at ``workspace_path`` and check out the session's existing branch.

        The branch comes from the project's repository when it has it (where ``destroy`` keeps unpushed
        work; origin's is taken instead when it is strictly ahead), else from ``origin``; else it starts
        afresh from the default branch, as in ``create``. A clone already there on the branch is returned
        as it is.

        Raises:
            WorkspaceError: invalid ids or branch, a path outside this plugin's directories, something else at
                the path, or a failing git command. Nothing is left behind.
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
        await self._clone(repo, path, config)
        try:
            await self._check_out_existing(repo, path, config.branch)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await delete_tree(path)
            raise
        return info_for(path, config)

    # ------------------------------------------------------------------ internals

    async def _git(self, clone: Path, args: builtins.list[str]) -> None:
        """A git step inside a fresh clone; on failure the caller deletes the clone again."""
        hint = f"the half-made clone {clone} is deleted again; fix the cause above and retry"
        await run_git(args, cwd=clone, timeout_s=self._config.git_timeout_s, hint=hint)

    async def _clone(self, repo: Path, path: Path, config: WorkspaceCreateConfig) -> None:
        """Clone into a directory claimed here, marked as this plugin's; on any failure delete it."""
        origin = await remote_url(repo)
        if origin is not None:
            # Refresh the checkout's copy first: the clone borrows those objects and fetches only the rest.
            await self._fetcher.fetch(repo, config.default_branch)
        source = _absolute_url(origin, repo) if origin is not None else str(repo)
        command = ["clone", "--quiet"]
        if self._config.reference:
            command += ["--reference", str(await _common_dir(repo))]
        for key, value in (
            ("ao.workspace", MARKER),
            ("ao.project", config.project_id),
            ("ao.projectPath", str(repo)),
            ("ao.branch", config.branch),
        ):
            command += ["--config", f"{key}={value}"]
        command += ["--branch", config.default_branch, "--", source, str(path)]
        claim_dir(path, config)
        try:
            result = await run_git(command, cwd=path.parent, timeout_s=self._config.git_timeout_s, check=False)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await delete_tree(path)
            raise
        if result.returncode != 0:
            with anyio.CancelScope(shield=True):
                await delete_tree(path)
            raise git_failure(
                command,
                path.parent,
                result,
                f"check that {redact(source)} is reachable and has the branch {config.default_branch!r} "
                "(the project's 'defaultBranch')",
            )

    async def _check_out_existing(self, repo: Path, path: Path, branch: str) -> None:
        """In a fresh clone, check out ``branch`` from the project's repository, else origin, else anew."""
        remote_ref = f"refs/remotes/origin/{branch}"
        on_origin = await ref_exists(path, remote_ref)
        if await branch_exists(repo, branch):
            refspec = f"refs/heads/{branch}:refs/heads/{branch}"
            await self._git(path, ["fetch", "--quiet", "--no-tags", str(repo), refspec])
            await self._git(path, ["checkout", "--quiet", branch])
            if on_origin:
                await self._git(path, ["branch", "--quiet", f"--set-upstream-to=origin/{branch}", branch])
                behind = await query_git(["merge-base", "--is-ancestor", branch, remote_ref], cwd=path)
                if behind.returncode == 0:
                    await self._git(path, ["merge", "--quiet", "--ff-only", remote_ref])
        elif on_origin:
            await self._git(path, ["checkout", "--quiet", "--track", "-b", branch, remote_ref])
        else:
            await self._git(path, ["checkout", "--quiet", "--no-track", "-b", branch])

    async def _keep_branch(self, path: Path, markers: dict[str, str]) -> None:
        """Before a clone is deleted, fetch its branch into the project if it has commits on no remote."""
        branch = markers.get("ao.branch")
        project = markers.get("ao.projectpath")
        if not branch or not project or not await branch_exists(path, branch):
            return
        unpushed = await query_git(["rev-list", "--count", f"refs/heads/{branch}", "--not", "--remotes"], cwd=path)
        if unpushed.returncode != 0 or unpushed.stdout.strip() == "0":
            return
        if not Path(project).is_dir():
            raise WorkspaceError(
                f"the clone {path} has commits on branch {branch!r} that are on no remote, and the project "
                f"{project} where ao would keep them is gone; push the branch from the clone, then destroy again"
            )
        await run_git(
            ["fetch", "--quiet", "--no-tags", str(path), f"refs/heads/{branch}:refs/heads/{branch}"],
            cwd=project,
            timeout_s=self._config.git_timeout_s,
            hint=(
                f"ao keeps unpushed commits of {branch!r} in the project before deleting the clone, and the "
                f"project's own {branch!r} differs or is checked out; push the branch from {path} or "
                "rename the project's branch, then destroy again"
            ),
        )
        log.info("kept %s unpushed commit(s) of %s from %s in %s", unpushed.stdout.strip(), branch, path, project)


def _branch_taken(branch: str, where: str) -> WorkspaceError:
    return WorkspaceError(
        f"branch {branch!r} already exists in {where}; pick another branch name, or restore the session that "
        "owns it (restore reuses its branch)"
    )
