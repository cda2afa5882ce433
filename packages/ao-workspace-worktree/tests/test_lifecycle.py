"""destroy, list, exists and restore against real git, including from a fresh plugin instance (another process)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from ao_core.errors import WorkspaceError
from ao_core.models import WorkspaceCreateConfig
from ao_core.testing import run_git
from ao_workspace_worktree import WorktreeWorkspaceConfig
from ao_workspace_worktree._worktree import WorktreeWorkspace

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.timeout(60)]

MakeConfig = Callable[..., WorkspaceCreateConfig]


def _fresh(base_dir: Path) -> WorktreeWorkspace:
    """A new instance with the same config: what another ao process would have."""
    return WorktreeWorkspace(WorktreeWorkspaceConfig(base_dir=str(base_dir)))


def _commit(path: str | Path, name: str) -> str:
    (Path(path) / name).write_text(f"{name}\n")
    run_git(path, "add", name)
    run_git(path, "commit", "--quiet", "-m", f"Add {name}")
    return run_git(path, "rev-parse", "HEAD")


# --------------------------------------------------------------------------- destroy


async def test_destroy_is_idempotent_and_keeps_the_branch(
    workspace: WorktreeWorkspace,
    make_config: MakeConfig,
    repo: Path,
    worktrees: Callable[[], list[str]],
    branches: Callable[[], set[str]],
) -> None:
    info = await workspace.create(make_config("app-1"))
    tip = _commit(info.path, "work.txt")
    await workspace.destroy(info.path)
    await workspace.destroy(info.path)
    assert not Path(info.path).exists()
    assert worktrees() == [str(repo)]
    assert branches() == {"main", "session/app-1"}
    assert run_git(repo, "rev-parse", "session/app-1") == tip


async def test_destroy_removes_a_dirty_worktree(workspace: WorktreeWorkspace, make_config: MakeConfig) -> None:
    info = await workspace.create(make_config("app-1"))
    (Path(info.path) / "src.txt").write_text("uncommitted\n")
    (Path(info.path) / "untracked" / "deep").mkdir(parents=True)
    (Path(info.path) / "untracked" / "deep" / "f").write_text("x")
    await workspace.destroy(info.path)
    assert not Path(info.path).exists()


async def test_destroy_falls_back_to_deleting_when_git_lost_track(
    workspace: WorktreeWorkspace, make_config: MakeConfig, repo: Path, worktrees: Callable[[], list[str]]
) -> None:
    info = await workspace.create(make_config("app-1"))
    (Path(info.path) / ".git").unlink()  # the worktree no longer knows its repository
    await _fresh(Path(info.path).parent.parent).destroy(info.path)
    assert not Path(info.path).exists()
    run_git(repo, "worktree", "prune")
    assert worktrees() == [str(repo)]


async def test_a_fresh_instance_destroys_and_prunes(
    workspace: WorktreeWorkspace,
    make_config: MakeConfig,
    repo: Path,
    base_dir: Path,
    worktrees: Callable[[], list[str]],
) -> None:
    info = await workspace.create(make_config("app-1"))
    await _fresh(base_dir).destroy(info.path)
    assert not Path(info.path).exists()
    assert worktrees() == [str(repo)]


async def test_destroy_refuses_paths_outside_its_directories(
    workspace: WorktreeWorkspace, make_config: MakeConfig, repo: Path, tmp_path: Path
) -> None:
    await workspace.create(make_config("app-1"))
    elsewhere = tmp_path / "elsewhere" / "app-2"
    elsewhere.mkdir(parents=True)
    for path in (elsewhere, repo, tmp_path, tmp_path / "workspaces" / "app"):
        with pytest.raises(WorkspaceError, match="refusing to remove"):
            await workspace.destroy(str(path))
        assert path.is_dir()
    with pytest.raises(WorkspaceError, match="relative"):
        await workspace.destroy("repo")


async def test_destroy_refuses_the_project_checkout_even_inside_a_base(
    make_config: MakeConfig, repo: Path, tmp_path: Path
) -> None:
    # A kernel-given directory that happens to hold the project checkout itself.
    workspace = WorktreeWorkspace(WorktreeWorkspaceConfig())
    await workspace.create(make_config("app-1", workspace_dir=str(tmp_path)))
    with pytest.raises(WorkspaceError, match="project checkout"):
        await workspace.destroy(str(repo))
    assert (repo / ".git").is_dir()


async def test_destroy_refuses_a_main_checkout_in_its_directory(base_dir: Path) -> None:
    stray = base_dir / "app" / "app-9"
    stray.mkdir(parents=True)
    run_git(stray, "init", "--quiet")
    with pytest.raises(WorkspaceError, match="main checkout of a repository"):
        await _fresh(base_dir).destroy(str(stray))
    assert (stray / ".git").is_dir()


# --------------------------------------------------------------------------- list / exists


async def test_list_in_a_fresh_instance_finds_only_the_projects_worktrees(
    workspace: WorktreeWorkspace,
    make_config: MakeConfig,
    repo: Path,
    base_dir: Path,
    tmp_path: Path,
) -> None:
    a = await workspace.create(make_config("app-1"))
    b = await workspace.create(make_config("app-2", "feat/x"))
    run_git(b.path, "checkout", "--quiet", "--detach")
    (base_dir / "app" / "not-a-worktree").mkdir()
    other_repo = tmp_path / "other"
    run_git(tmp_path, "clone", "--quiet", str(repo), str(other_repo))
    await workspace.create(make_config("oth-1", project_id="other", project_path=str(other_repo)))

    listed = await _fresh(base_dir).list("app")

    assert [(i.session_id, i.branch, i.path, i.project_id) for i in listed] == [
        ("app-1", "session/app-1", a.path, "app"),
        ("app-2", "HEAD", b.path, "app"),
    ]
    assert [i.session_id for i in await _fresh(base_dir).list("other")] == ["oth-1"]
    assert await _fresh(base_dir).list("nothing-here") == []


async def test_exists_only_for_the_top_of_a_work_tree(
    workspace: WorktreeWorkspace, make_config: MakeConfig, tmp_path: Path
) -> None:
    info = await workspace.create(make_config("app-1"))
    (Path(info.path) / "sub").mkdir()
    plain = tmp_path / "plain"
    plain.mkdir()
    assert await workspace.exists(info.path)
    assert not await workspace.exists(str(Path(info.path) / "sub"))
    assert not await workspace.exists(str(plain))
    assert not await workspace.exists(str(tmp_path / "missing"))


# --------------------------------------------------------------------------- restore


async def test_restore_after_destroy_returns_the_same_branch_with_its_commits(
    workspace: WorktreeWorkspace, make_config: MakeConfig, base_dir: Path
) -> None:
    config = make_config("app-1", "feat/issue-7")
    info = await workspace.create(config)
    tip = _commit(info.path, "work.txt")
    await workspace.destroy(info.path)

    restored = await _fresh(base_dir).restore(config, info.path)

    assert restored == info
    assert run_git(restored.path, "symbolic-ref", "--short", "HEAD") == "feat/issue-7"
    assert run_git(restored.path, "rev-parse", "HEAD") == tip
    assert (Path(restored.path) / "work.txt").read_text() == "work.txt\n"


async def test_restore_recreates_a_deleted_local_branch_from_origin(
    workspace: WorktreeWorkspace, make_config: MakeConfig, repo: Path, origin: Path
) -> None:
    config = make_config("app-1", "feat/pushed")
    info = await workspace.create(config)
    tip = _commit(info.path, "pushed.txt")
    run_git(info.path, "push", "--quiet", "origin", "feat/pushed")
    await workspace.destroy(info.path)
    run_git(repo, "branch", "--quiet", "-D", "feat/pushed")
    run_git(repo, "update-ref", "-d", "refs/remotes/origin/feat/pushed")

    restored = await workspace.restore(config, info.path)

    assert run_git(restored.path, "rev-parse", "HEAD") == tip
    assert run_git(restored.path, "rev-parse", "--abbrev-ref", "@{upstream}") == "origin/feat/pushed"
    assert run_git(origin, "rev-parse", "feat/pushed") == tip


async def test_restore_without_any_branch_starts_it_from_the_default_branch(
    workspace: WorktreeWorkspace, make_config: MakeConfig, repo: Path
) -> None:
    config = make_config("app-1", "feat/gone")
    info = await workspace.create(config)
    await workspace.destroy(info.path)
    run_git(repo, "branch", "--quiet", "-D", "feat/gone")

    restored = await workspace.restore(config, info.path)

    assert run_git(restored.path, "symbolic-ref", "--short", "HEAD") == "feat/gone"
    assert run_git(restored.path, "rev-parse", "HEAD") == run_git(repo, "rev-parse", "origin/main")


async def test_restore_of_a_present_worktree_returns_it(workspace: WorktreeWorkspace, make_config: MakeConfig) -> None:
    config = make_config("app-1")
    info = await workspace.create(config)
    (Path(info.path) / "keep.txt").write_text("still here\n")
    assert await workspace.restore(config, info.path) == info
    assert (Path(info.path) / "keep.txt").read_text() == "still here\n"


async def test_restore_refuses_when_something_else_is_at_the_path(
    workspace: WorktreeWorkspace, make_config: MakeConfig, base_dir: Path
) -> None:
    other = base_dir / "app" / "app-1"
    other.mkdir(parents=True)
    (other / "precious.txt").write_text("x")
    with pytest.raises(WorkspaceError, match="something else is there"):
        await workspace.restore(make_config("app-1"), str(other))
    assert (other / "precious.txt").exists()


async def test_restore_fails_cleanly_when_the_branch_is_checked_out_elsewhere(
    workspace: WorktreeWorkspace,
    make_config: MakeConfig,
    repo: Path,
    worktrees: Callable[[], list[str]],
) -> None:
    config = make_config("app-1", "feat/busy")
    info = await workspace.create(config)
    await workspace.destroy(info.path)
    run_git(repo, "worktree", "add", "--quiet", str(repo.parent / "manual"), "feat/busy")

    with pytest.raises(WorkspaceError, match="feat/busy"):
        await workspace.restore(config, info.path)

    assert not Path(info.path).exists()
    assert worktrees() == [str(repo), str(repo.parent / "manual")]
    assert "feat/busy" in run_git(repo, "branch", "--list", "feat/busy")


async def test_restore_refuses_a_path_outside_its_directories(
    workspace: WorktreeWorkspace, make_config: MakeConfig, tmp_path: Path
) -> None:
    with pytest.raises(WorkspaceError, match="refusing to restore into"):
        await workspace.restore(make_config("app-1"), str(tmp_path / "elsewhere" / "app-1"))
    assert not (tmp_path / "elsewhere").exists()
