"""create and destroy against real git: the branch, its base, concurrency, and the untouched project checkout."""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest
from ao_core.errors import WorkspaceError
from ao_core.models import WorkspaceCreateConfig, WorkspaceInfo
from ao_core.testing import run_git
from ao_workspace_worktree import WorktreeWorkspaceConfig
from ao_workspace_worktree._worktree import WorktreeWorkspace

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.timeout(120)]

MakeConfig = Callable[..., WorkspaceCreateConfig]


def _head(path: Path | str) -> str:
    return run_git(path, "rev-parse", "HEAD")


def _branch_at(path: Path | str) -> str:
    return run_git(path, "symbolic-ref", "--short", "HEAD")


@pytest.mark.usefixtures("untouched")
async def test_create_adds_a_worktree_on_a_new_branch_from_the_default_branch(
    workspace: WorktreeWorkspace,
    make_config: MakeConfig,
    repo: Path,
    base_dir: Path,
    worktrees: Callable[[], list[str]],
) -> None:
    info = await workspace.create(make_config("app-1", "feat/issue-42"))

    assert info == WorkspaceInfo(
        path=str((base_dir / "app" / "app-1").resolve()), branch="feat/issue-42", session_id="app-1", project_id="app"
    )
    assert _branch_at(info.path) == "feat/issue-42"
    assert _head(info.path) == run_git(repo, "rev-parse", "origin/main")
    assert (Path(info.path) / "src.txt").read_text() == "hello\n"
    assert info.path in worktrees()
    assert await workspace.exists(info.path)
    # The new branch does not track origin/main: a plain `git push` must not target the default branch.
    with pytest.raises(subprocess.CalledProcessError):
        run_git(repo, "config", "--get", "branch.feat/issue-42.merge")


async def test_ten_concurrent_creates_then_destroying_one_keeps_its_branch(
    workspace: WorktreeWorkspace,
    make_config: MakeConfig,
    repo: Path,
    checkout_state: Callable[[], object],
    branches: Callable[[], set[str]],
) -> None:
    before = checkout_state()
    infos: dict[str, WorkspaceInfo] = {}

    async def create(n: int) -> None:
        info = await workspace.create(make_config(f"app-{n}"))
        infos[info.session_id] = info

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for n in range(1, 11):
            tg.start_soon(create, n)
    elapsed = time.perf_counter() - started
    logging.getLogger(__name__).info("10 concurrent worktree creates took %.2f s", elapsed)

    assert sorted(infos) == sorted(f"app-{n}" for n in range(1, 11))
    for session_id, info in infos.items():
        assert _branch_at(info.path) == f"session/{session_id}"
        assert await workspace.exists(info.path)
    assert checkout_state() == before
    assert [i.session_id for i in await workspace.list("app")] == sorted(infos)

    await workspace.destroy(infos["app-3"].path)

    assert not Path(infos["app-3"].path).exists()
    assert "session/app-3" in branches()
    assert run_git(repo, "status", "--porcelain") == ""
    assert checkout_state() == before
    assert len(await workspace.list("app")) == 9


@pytest.mark.usefixtures("untouched")
async def test_the_base_is_origin_main_when_origin_is_ahead_of_local_main(
    workspace: WorktreeWorkspace, make_config: MakeConfig, repo: Path, origin: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other-clone"
    run_git(tmp_path, "clone", "--quiet", str(origin), str(other))
    (other / "new.txt").write_text("from someone else\n")
    run_git(other, "add", "new.txt")
    run_git(other, "commit", "--quiet", "-m", "Ahead on origin")
    run_git(other, "push", "--quiet", "origin", "main")
    ahead = _head(other)
    local_main = run_git(repo, "rev-parse", "refs/heads/main")

    info = await workspace.create(make_config("app-1"))

    assert _head(info.path) == ahead
    assert (Path(info.path) / "new.txt").exists()
    assert run_git(repo, "rev-parse", "refs/heads/main") == local_main, "local main must not move"


async def test_without_origin_the_base_is_the_local_default_branch(
    workspace: WorktreeWorkspace, make_config: MakeConfig, repo: Path
) -> None:
    run_git(repo, "remote", "remove", "origin")
    info = await workspace.create(make_config("app-1"))
    assert _head(info.path) == _head(repo)


async def test_a_failing_fetch_is_only_a_warning(
    workspace: WorktreeWorkspace, make_config: MakeConfig, repo: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stale = run_git(repo, "rev-parse", "origin/main")
    run_git(repo, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    with caplog.at_level(logging.WARNING):
        info = await workspace.create(make_config("app-1"))
    assert _head(info.path) == stale
    assert any("fetching main from origin failed" in r.getMessage() for r in caplog.records)


async def test_a_missing_default_branch_is_an_error(
    workspace: WorktreeWorkspace,
    make_config: MakeConfig,
    base_dir: Path,
    branches: Callable[[], set[str]],
) -> None:
    with pytest.raises(WorkspaceError, match="default branch 'trunk' exists neither"):
        await workspace.create(make_config("app-1", default_branch="trunk"))
    assert not (base_dir / "app" / "app-1").exists()
    assert branches() == {"main"}


async def test_without_base_dir_the_kernel_given_directory_is_used(make_config: MakeConfig, tmp_path: Path) -> None:
    workspace = WorktreeWorkspace(WorktreeWorkspaceConfig())
    info = await workspace.create(make_config("app-1", workspace_dir=str(tmp_path / "kernel-dir")))
    assert info.path == str((tmp_path / "kernel-dir" / "app-1").resolve())


async def test_without_any_directory_the_state_dir_default_is_used(make_config: MakeConfig, tmp_path: Path) -> None:
    workspace = WorktreeWorkspace(WorktreeWorkspaceConfig())
    info = await workspace.create(make_config("app-1"))
    assert info.path == str((tmp_path / "ao-state" / "projects" / "app" / "worktrees" / "app-1").resolve())
    assert [i.session_id for i in await WorktreeWorkspace(WorktreeWorkspaceConfig()).list("app")] == ["app-1"]


async def test_a_dirty_project_checkout_stays_exactly_as_it_was(
    workspace: WorktreeWorkspace, make_config: MakeConfig, repo: Path, checkout_state: Callable[[], object]
) -> None:
    (repo / "src.txt").write_text("edited, not staged\n")
    (repo / "staged.txt").write_text("staged\n")
    run_git(repo, "add", "staged.txt")
    (repo / "untracked.txt").write_text("untracked\n")
    before = checkout_state()

    info = await workspace.create(make_config("app-1"))
    assert (Path(info.path) / "src.txt").read_text() == "hello\n"
    assert not (Path(info.path) / "staged.txt").exists()
    await workspace.destroy(info.path)

    assert checkout_state() == before


async def test_a_base_inside_the_checkout_must_be_git_ignored(
    make_config: MakeConfig, repo: Path, worktrees: Callable[[], list[str]], branches: Callable[[], set[str]]
) -> None:
    workspace = WorktreeWorkspace(WorktreeWorkspaceConfig())
    inner = repo / ".worktrees"
    with pytest.raises(WorkspaceError, match="not git-ignored"):
        await workspace.create(make_config("app-1", workspace_dir=str(inner)))
    assert worktrees() == [str(repo)]
    assert branches() == {"main"}

    (repo / ".git" / "info" / "exclude").write_text(".worktrees/\n")
    info = await workspace.create(make_config("app-1", workspace_dir=str(inner)))
    assert run_git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    await workspace.destroy(info.path)
    assert worktrees() == [str(repo)]
