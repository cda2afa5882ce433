"""The workspace contract suite."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from ao_core.config._schema import ProjectConfig
from ao_core.errors import WorkspaceError
from ao_core.interfaces import SupportsPostCreate, SupportsWorkspaceExists, SupportsWorkspaceRestore, Workspace
from ao_core.models import WorkspaceCreateConfig
from ao_core.testing import run_git

from ao_testing.contracts._common import unique_id

__all__ = ["BranchReader", "WorkspaceConfigFactory", "WorkspaceContract"]

WorkspaceConfigFactory = Callable[[str], WorkspaceCreateConfig]
"""Builds the create config of a session id."""

BranchReader = Callable[[str], str]
"""Tells which branch the working copy at a path has checked out."""


def _same_path(a: str | Path, b: str | Path) -> bool:
    return Path(a).resolve() == Path(b).resolve()


@pytest.mark.anyio
class WorkspaceContract:
    """What every workspace plugin must do. Subclass it in a ``Test*`` class and provide the fixtures.

    Fixtures the subclass provides:

    - ``workspace`` (required): the :class:`~ao_core.interfaces.Workspace` under test.
    - ``workspace_create_config`` (optional): a callable ``(session_id) -> WorkspaceCreateConfig``; default
      one for project ``contract`` at the ``git_repo`` fixture (a real repository with ``main`` and an
      ``origin``), branch ``aoc/<session_id>``, workspaces under ``tmp_path/workspaces``. An override must
      also point at a real git repository.
    - ``current_branch`` (optional): a callable ``(path) -> str`` naming the branch checked out at a
      workspace path; default ``git rev-parse --abbrev-ref HEAD`` there.

    Checked: create gives an existing directory on the requested branch and leaves the project's own
    checkout alone; ``list`` includes it; ``exists`` (when supported) is true; destroy removes it and is
    idempotent; creating the same session twice raises ``WorkspaceError`` and keeps the first; restore
    (when supported) brings a destroyed workspace back on the same branch; ``post_create`` (when
    supported) accepts a project without symlinks or commands.
    """

    @pytest.fixture
    def workspace_create_config(self, git_repo: Path, tmp_path: Path) -> WorkspaceConfigFactory:
        """Create configs for sessions of project ``contract`` at ``git_repo``."""
        workspace_dir = tmp_path / "workspaces"

        def make(session_id: str) -> WorkspaceCreateConfig:
            return WorkspaceCreateConfig(
                project_id="contract",
                project_path=str(git_repo),
                default_branch="main",
                session_id=session_id,
                branch=f"aoc/{session_id}",
                workspace_dir=str(workspace_dir),
            )

        return make

    @pytest.fixture
    def current_branch(self) -> BranchReader:
        """Reads the branch checked out at a path with git."""
        return lambda path: run_git(path, "rev-parse", "--abbrev-ref", "HEAD")

    # ------------------------------------------------------------------ tests

    async def test_name_is_set(self, workspace: Workspace) -> None:
        assert isinstance(workspace.name, str)
        assert workspace.name

    async def test_create_gives_a_directory_on_the_branch(
        self,
        workspace: Workspace,
        workspace_create_config: WorkspaceConfigFactory,
        current_branch: BranchReader,
    ) -> None:
        config = workspace_create_config(unique_id())
        info = await workspace.create(config)
        try:
            assert Path(info.path).is_dir()
            assert info.branch == config.branch
            assert info.session_id == config.session_id
            assert info.project_id == config.project_id
            assert current_branch(info.path) == config.branch
        finally:
            await workspace.destroy(info.path)

    async def test_create_leaves_the_project_checkout_alone(
        self, workspace: Workspace, workspace_create_config: WorkspaceConfigFactory
    ) -> None:
        config = workspace_create_config(unique_id())
        project = config.project_path
        branch_before = run_git(project, "rev-parse", "--abbrev-ref", "HEAD")
        info = await workspace.create(config)
        try:
            assert not _same_path(info.path, project)
            assert run_git(project, "rev-parse", "--abbrev-ref", "HEAD") == branch_before
            assert run_git(project, "status", "--porcelain") == "", "the project's checkout was changed"
        finally:
            await workspace.destroy(info.path)

    async def test_list_includes_the_workspace(
        self, workspace: Workspace, workspace_create_config: WorkspaceConfigFactory
    ) -> None:
        config = workspace_create_config(unique_id())
        info = await workspace.create(config)
        try:
            listed = await workspace.list(config.project_id)
            assert any(_same_path(item.path, info.path) for item in listed), f"{info.path} not in {listed}"
            entry = next(item for item in listed if _same_path(item.path, info.path))
            assert entry.session_id == config.session_id
        finally:
            await workspace.destroy(info.path)

    async def test_exists_when_supported(
        self, workspace: Workspace, workspace_create_config: WorkspaceConfigFactory
    ) -> None:
        if not isinstance(workspace, SupportsWorkspaceExists):
            pytest.skip(f"workspace {workspace.name!r} does not implement SupportsWorkspaceExists")
        info = await workspace.create(workspace_create_config(unique_id()))
        assert await workspace.exists(info.path) is True
        await workspace.destroy(info.path)
        assert await workspace.exists(info.path) is False

    async def test_destroy_removes_the_workspace(
        self, workspace: Workspace, workspace_create_config: WorkspaceConfigFactory
    ) -> None:
        config = workspace_create_config(unique_id())
        info = await workspace.create(config)
        await workspace.destroy(info.path)
        assert not Path(info.path).exists()
        listed = await workspace.list(config.project_id)
        assert not any(_same_path(item.path, info.path) for item in listed)

    async def test_destroy_is_idempotent(
        self, workspace: Workspace, workspace_create_config: WorkspaceConfigFactory
    ) -> None:
        info = await workspace.create(workspace_create_config(unique_id()))
        await workspace.destroy(info.path)
        await workspace.destroy(info.path)
        assert not Path(info.path).exists()

    async def test_creating_the_same_session_twice_fails_cleanly(
        self,
        workspace: Workspace,
        workspace_create_config: WorkspaceConfigFactory,
        current_branch: BranchReader,
    ) -> None:
        config = workspace_create_config(unique_id())
        info = await workspace.create(config)
        try:
            with pytest.raises(WorkspaceError):
                await workspace.create(config)
            assert Path(info.path).is_dir(), "the failed second create removed the first workspace"
            assert current_branch(info.path) == config.branch
            if isinstance(workspace, SupportsWorkspaceExists):
                assert await workspace.exists(info.path) is True
        finally:
            await workspace.destroy(info.path)

    async def test_restore_when_supported(
        self,
        workspace: Workspace,
        workspace_create_config: WorkspaceConfigFactory,
        current_branch: BranchReader,
    ) -> None:
        if not isinstance(workspace, SupportsWorkspaceRestore):
            pytest.skip(f"workspace {workspace.name!r} does not implement SupportsWorkspaceRestore")
        config = workspace_create_config(unique_id())
        info = await workspace.create(config)
        await workspace.destroy(info.path)
        restored = await workspace.restore(config, info.path)
        try:
            assert _same_path(restored.path, info.path)
            assert Path(restored.path).is_dir()
            assert restored.branch == config.branch
            assert current_branch(restored.path) == config.branch
        finally:
            await workspace.destroy(restored.path)

    async def test_post_create_when_supported(
        self, workspace: Workspace, workspace_create_config: WorkspaceConfigFactory
    ) -> None:
        if not isinstance(workspace, SupportsPostCreate):
            pytest.skip(f"workspace {workspace.name!r} does not implement SupportsPostCreate")
        config = workspace_create_config(unique_id())
        info = await workspace.create(config)
        try:
            await workspace.post_create(info, ProjectConfig(name="contract", path=config.project_path))
        finally:
            await workspace.destroy(info.path)
