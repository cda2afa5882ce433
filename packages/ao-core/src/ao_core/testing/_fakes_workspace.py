"""A workspace plugin that makes plain directories (no git) and remembers their branches in memory."""

from __future__ import annotations

import builtins
import re
import shutil
from pathlib import Path

import anyio.lowlevel

from ao_core.config._schema import ProjectConfig
from ao_core.errors import WorkspaceError
from ao_core.models import WorkspaceCreateConfig, WorkspaceInfo
from ao_core.testing._calls import CallRecorder

__all__ = ["FakeWorkspace"]

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _check_name(kind: str, value: str) -> None:
    if not _SAFE_NAME.match(value) or ".." in value:
        raise WorkspaceError(
            f"{kind} {value!r} cannot name a directory; use letters, digits, '.', '-' and '_' (no '..')"
        )


def _key(path: str | Path) -> str:
    return str(Path(path).resolve())


class FakeWorkspace(CallRecorder):
    """Workspaces as real, empty directories, so paths exist; branches are only remembered.

    A workspace lives at ``<config.workspace_dir>/<session_id>``, or ``<base_dir>/<project_id>/<session_id>``
    when the config gives no directory. ``destroy`` removes only directories this fake created.
    :meth:`branch_of` tells which branch a workspace is "on".

    Implements :class:`~ao_core.interfaces.SupportsPostCreate` (recorded, nothing runs),
    :class:`~ao_core.interfaces.SupportsWorkspaceExists` and :class:`~ao_core.interfaces.SupportsWorkspaceRestore`.
    """

    def __init__(self, base_dir: str | Path, *, name: str = "fake", fail_create: bool = False) -> None:
        super().__init__()
        self._name = name
        self.base_dir = Path(base_dir)
        self.fail_create = fail_create
        """When true, ``create`` raises ``WorkspaceError`` and creates nothing."""
        self.workspaces: dict[str, WorkspaceInfo] = {}
        """The live workspaces, by resolved path."""
        self.created: builtins.list[WorkspaceCreateConfig] = []
        self.destroyed: builtins.list[str] = []
        self.restored: builtins.list[str] = []
        self.post_created: builtins.list[tuple[WorkspaceInfo, ProjectConfig]] = []

    @property
    def name(self) -> str:
        """The plugin name (``fake`` unless given)."""
        return self._name

    async def create(self, config: WorkspaceCreateConfig) -> WorkspaceInfo:
        """Create the session's directory and remember its branch.

        Raises:
            WorkspaceError: when ``fail_create`` is set, an id cannot name a directory, or the workspace
                already exists (the existing one is left as it is).
        """
        await self._enter("create")
        if self.fail_create:
            raise WorkspaceError(f"fake workspace refused to create a workspace for '{config.session_id}'")
        path = self._path_for(config)
        if _key(path) in self.workspaces or path.exists():
            raise WorkspaceError(
                f"a workspace for session '{config.session_id}' already exists at {path}; "
                "destroy it first or use another session id"
            )
        path.mkdir(parents=True)
        info = self._remember(path, config)
        self.created.append(config.model_copy())
        return info

    async def destroy(self, workspace_path: str) -> None:
        """Remove a workspace this fake created; unknown or missing paths are not an error."""
        await self._enter("destroy")
        key = _key(workspace_path)
        if self.workspaces.pop(key, None) is not None:
            shutil.rmtree(key, ignore_errors=True)
            self.destroyed.append(key)

    async def list(self, project_id: str) -> builtins.list[WorkspaceInfo]:
        """The live workspaces of a project whose directories still exist."""
        await self._enter("list")
        return [
            info.model_copy()
            for info in self.workspaces.values()
            if info.project_id == project_id and Path(info.path).is_dir()
        ]

    async def post_create(self, info: WorkspaceInfo, project: ProjectConfig) -> None:
        """Record the call in ``post_created``."""
        await self._enter("post_create")
        self.post_created.append((info.model_copy(), project.model_copy(deep=True)))

    async def exists(self, workspace_path: str) -> bool:
        """Whether this fake created the workspace and its directory is still there."""
        await self._enter("exists")
        key = _key(workspace_path)
        return key in self.workspaces and Path(key).is_dir()

    async def restore(self, config: WorkspaceCreateConfig, workspace_path: str) -> WorkspaceInfo:
        """Recreate a removed workspace at ``workspace_path`` on ``config.branch``.

        Raises:
            WorkspaceError: when an id cannot name a directory or the path still exists.
        """
        await self._enter("restore")
        _check_name("session id", config.session_id)
        _check_name("project id", config.project_id)
        path = Path(workspace_path).resolve()
        if path.exists():
            raise WorkspaceError(f"cannot restore '{config.session_id}': {path} still exists; nothing to restore")
        path.mkdir(parents=True)
        self.restored.append(str(path))
        return self._remember(path, config)

    # ------------------------------------------------------------------ test controls

    def branch_of(self, workspace_path: str | Path) -> str:
        """The branch a live workspace is on.

        Raises:
            WorkspaceError: when this fake has no live workspace at that path.
        """
        info = self.workspaces.get(_key(workspace_path))
        if info is None:
            raise WorkspaceError(f"fake workspace has no workspace at {workspace_path}")
        return info.branch

    # ------------------------------------------------------------------ internals

    def _path_for(self, config: WorkspaceCreateConfig) -> Path:
        _check_name("session id", config.session_id)
        _check_name("project id", config.project_id)
        root = Path(config.workspace_dir) if config.workspace_dir else self.base_dir / config.project_id
        return (root / config.session_id).resolve()

    def _remember(self, path: Path, config: WorkspaceCreateConfig) -> WorkspaceInfo:
        info = WorkspaceInfo(
            path=str(path), branch=config.branch, session_id=config.session_id, project_id=config.project_id
        )
        self.workspaces[str(path)] = info
        return info.model_copy()

    async def _enter(self, method: str) -> None:
        await anyio.lowlevel.checkpoint()
        self._record(method)
