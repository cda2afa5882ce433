"""The clone workspace against real git: where clones come from, where they push, and what destroy keeps."""

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
from ao_workspace_clone import CloneWorkspaceConfig
from ao_workspace_clone._clone import CloneWorkspace

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.timeout(120)]

MakeConfig = Callable[..., WorkspaceCreateConfig]


def _fresh(base_dir: Path, **options: object) -> CloneWorkspace:
    """A new instance with the same config: what another ao process would have."""
    return CloneWorkspace(CloneWorkspaceConfig.model_validate({"base_dir": str(base_dir), **options}))


def _commit(path: str | Path, name: str) -> str:
    (Path(path) / name).write_text(f"{name}\n")
    run_git(path, "add", name)
    run_git(path, "commit", "--quiet", "-m", f"Add {name}")
    return run_git(path, "rev-parse", "HEAD")


def _has_ref(repo: Path, ref: str) -> bool:
    try:
        run_git(repo, "rev-parse", "--verify", "--quiet", ref)
    except subprocess.CalledProcessError:
        return False
    return True


# --------------------------------------------------------------------------- create


@pytest.mark.usefixtures("untouched")
async def test_create_clones_from_origin_onto_a_new_branch_sharing_objects(
    workspace: CloneWorkspace, make_config: MakeConfig, repo: Path, origin: Path, base_dir: Path
) -> None:
    info = await workspace.create(make_config("app-1", "feat/issue-42"))

    ws = Path(info.path)
    assert info == WorkspaceInfo(
        path=str((base_dir / "app" / "app-1").resolve()), branch="feat/issue-42", session_id="app-1", project_id="app"
    )
    assert run_git(ws, "symbolic-ref", "--short", "HEAD") == "feat/issue-42"
    assert run_git(ws, "rev-parse", "HEAD") == run_git(repo, "rev-parse", "origin/main")
    assert run_git(ws, "remote", "get-url", "origin") == str(origin)
    alternates = (ws / ".git" / "objects" / "info" / "alternates").read_text().split()
    assert [Path(a).resolve() for a in alternates] == [(repo / ".git" / "objects").resolve()]
    with pytest.raises(subprocess.CalledProcessError):
        run_git(ws, "config", "--get", "branch.feat/issue-42.merge")
    assert await workspace.exists(info.path)


async def test_without_reference_the_clone_has_its_own_objects(make_config: MakeConfig, base_dir: Path) -> None:
    info = await _fresh(base_dir, reference=False).create(make_config("app-1"))
    assert not (Path(info.path) / ".git" / "objects" / "info" / "alternates").exists()
    run_git(info.path, "fsck", "--connectivity-only")


@pytest.mark.usefixtures("untouched")
async def test_a_push_from_the_clone_reaches_the_projects_origin(
    workspace: CloneWorkspace, make_config: MakeConfig, repo: Path, origin: Path
) -> None:
    info = await workspace.create(make_config("app-1", "feat/pushed"))
    tip = _commit(info.path, "work.txt")

    run_git(info.path, "push", "--quiet", "origin", "feat/pushed")

    assert run_git(origin, "rev-parse", "refs/heads/feat/pushed") == tip
    assert not _has_ref(repo, "refs/heads/feat/pushed"), "the project checkout got nothing"


async def test_the_base_is_origins_default_branch_when_origin_is_ahead(
    workspace: CloneWorkspace, make_config: MakeConfig, repo: Path, origin: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    run_git(tmp_path, "clone", "--quiet", str(origin), str(other))
    ahead = _commit(other, "ahead.txt")
    run_git(other, "push", "--quiet", "origin", "main")
    local_main = run_git(repo, "rev-parse", "refs/heads/main")

    info = await workspace.create(make_config("app-1"))

    assert run_git(info.path, "rev-parse", "HEAD") == ahead
    assert run_git(repo, "rev-parse", "refs/heads/main") == local_main


async def test_without_origin_the_clone_comes_from_and_pushes_to_the_checkout(
    workspace: CloneWorkspace, make_config: MakeConfig, repo: Path
) -> None:
    run_git(repo, "remote", "remove", "origin")
    info = await workspace.create(make_config("app-1"))
    assert run_git(info.path, "remote", "get-url", "origin") == str(repo)
    assert run_git(info.path, "rev-parse", "HEAD") == run_git(repo, "rev-parse", "main")


async def test_a_relative_origin_url_is_made_absolute(
    workspace: CloneWorkspace, make_config: MakeConfig, repo: Path, origin: Path
) -> None:
    run_git(repo, "remote", "set-url", "origin", f"../{origin.name}")
    info = await workspace.create(make_config("app-1"))
    assert Path(run_git(info.path, "remote", "get-url", "origin")) == origin.resolve()


async def test_an_unreachable_origin_is_an_error_and_leaves_nothing(
    workspace: CloneWorkspace,
    make_config: MakeConfig,
    repo: Path,
    base_dir: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    run_git(repo, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    with caplog.at_level(logging.WARNING), pytest.raises(WorkspaceError, match=r"git clone .*gone\.git.*reachable"):
        await workspace.create(make_config("app-1"))
    assert not (base_dir / "app" / "app-1").exists()
    assert any("fetching main from origin failed" in r.getMessage() for r in caplog.records)


async def test_credentials_in_the_origin_url_never_reach_the_message(
    workspace: CloneWorkspace, make_config: MakeConfig, repo: Path
) -> None:
    run_git(repo, "remote", "set-url", "origin", "http://ao:s3cret-token@127.0.0.1:9/repo.git")
    with pytest.raises(WorkspaceError) as caught:
        await workspace.create(make_config("app-1"))
    assert "s3cret-token" not in str(caught.value)
    assert "http://***@127.0.0.1:9/repo.git" in str(caught.value)


async def test_ten_concurrent_clones_then_destroying_one(
    workspace: CloneWorkspace, make_config: MakeConfig, repo: Path, checkout_state: Callable[[], object]
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
    logging.getLogger(__name__).info("10 concurrent clones took %.2f s", time.perf_counter() - started)

    assert [i.session_id for i in await _fresh(Path(infos["app-1"].path).parent.parent).list("app")] == sorted(infos)
    for session_id, info in infos.items():
        assert run_git(info.path, "symbolic-ref", "--short", "HEAD") == f"session/{session_id}"
    await workspace.destroy(infos["app-5"].path)
    assert not Path(infos["app-5"].path).exists()
    assert run_git(repo, "status", "--porcelain") == ""
    assert checkout_state() == before


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("branch", ["feat/a..b", "-rf", "feat/$(touch x)", "feat;touch x", "feat/x~1", "HEAD"])
async def test_an_invalid_branch_is_refused(
    workspace: CloneWorkspace, make_config: MakeConfig, base_dir: Path, branch: str
) -> None:
    with pytest.raises(WorkspaceError, match="is not a valid branch name"):
        await workspace.create(make_config("app-1", branch))
    assert not (base_dir / "app" / "app-1").exists()


async def test_a_branch_in_the_project_is_an_error(
    workspace: CloneWorkspace, make_config: MakeConfig, repo: Path, base_dir: Path
) -> None:
    run_git(repo, "branch", "feat/local")
    with pytest.raises(WorkspaceError, match="'feat/local' already exists in the project checkout"):
        await workspace.create(make_config("app-1", "feat/local"))
    assert not (base_dir / "app" / "app-1").exists()


async def test_a_branch_on_origin_is_an_error_and_the_clone_is_removed(
    workspace: CloneWorkspace, make_config: MakeConfig, repo: Path, origin: Path, base_dir: Path
) -> None:
    run_git(repo, "push", "--quiet", "origin", "main:refs/heads/feat/remote")
    run_git(repo, "update-ref", "-d", "refs/remotes/origin/feat/remote")
    with pytest.raises(WorkspaceError, match="'feat/remote' already exists in the project's origin"):
        await workspace.create(make_config("app-1", "feat/remote"))
    assert not (base_dir / "app" / "app-1").exists()
    assert run_git(origin, "rev-parse", "feat/remote") == run_git(repo, "rev-parse", "main")


async def test_an_existing_path_is_an_error_and_is_not_deleted(
    workspace: CloneWorkspace, make_config: MakeConfig, base_dir: Path
) -> None:
    existing = base_dir / "app" / "app-1"
    existing.mkdir(parents=True)
    (existing / "precious.txt").write_text("not ao's\n")
    with pytest.raises(WorkspaceError, match="already exists"):
        await workspace.create(make_config("app-1"))
    assert (existing / "precious.txt").read_text() == "not ao's\n"


async def test_an_uncreatable_base_dir_is_an_error(make_config: MakeConfig, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"  # root ignores permission bits; a file on the path stops mkdir for anyone
    blocker.write_text("")
    with pytest.raises(WorkspaceError, match="cannot create the workspace directory"):
        await _fresh(blocker / "below").create(make_config("app-1"))
    assert blocker.read_text() == ""


# --------------------------------------------------------------------------- destroy / restore


@pytest.mark.usefixtures("untouched")
async def test_destroy_keeps_unpushed_commits_and_restore_brings_them_back(
    workspace: CloneWorkspace, make_config: MakeConfig, repo: Path, base_dir: Path
) -> None:
    config = make_config("app-1", "feat/unpushed")
    info = await workspace.create(config)
    tip = _commit(info.path, "work.txt")

    await workspace.destroy(info.path)
    await workspace.destroy(info.path)

    assert not Path(info.path).exists()
    assert run_git(repo, "rev-parse", "refs/heads/feat/unpushed") == tip, "the branch was kept in the project"

    restored = await _fresh(base_dir).restore(config, info.path)

    assert restored == info
    assert run_git(restored.path, "symbolic-ref", "--short", "HEAD") == "feat/unpushed"
    assert run_git(restored.path, "rev-parse", "HEAD") == tip
    assert (Path(restored.path) / "work.txt").read_text() == "work.txt\n"


async def test_destroy_of_a_pushed_branch_adds_nothing_to_the_project_and_restore_uses_origin(
    workspace: CloneWorkspace, make_config: MakeConfig, repo: Path, base_dir: Path
) -> None:
    config = make_config("app-1", "feat/pushed")
    info = await workspace.create(config)
    tip = _commit(info.path, "pushed.txt")
    run_git(info.path, "push", "--quiet", "origin", "feat/pushed")

    await workspace.destroy(info.path)
    assert not _has_ref(repo, "refs/heads/feat/pushed")

    restored = await workspace.restore(config, info.path)
    assert run_git(restored.path, "rev-parse", "HEAD") == tip
    assert run_git(restored.path, "rev-parse", "--abbrev-ref", "@{upstream}") == "origin/feat/pushed"


async def test_restore_moves_a_kept_branch_forward_to_origin_when_origin_is_ahead(
    workspace: CloneWorkspace, make_config: MakeConfig, repo: Path, origin: Path, tmp_path: Path
) -> None:
    config = make_config("app-1", "feat/both")
    info = await workspace.create(config)
    kept = _commit(info.path, "one.txt")
    await workspace.destroy(info.path)  # kept in the project: not pushed
    assert run_git(repo, "rev-parse", "feat/both") == kept
    other = tmp_path / "other"  # meanwhile someone pushes the kept commit and one more
    run_git(tmp_path, "clone", "--quiet", str(origin), str(other))
    run_git(other, "fetch", "--quiet", str(repo), "feat/both:feat/both")
    run_git(other, "checkout", "--quiet", "feat/both")
    ahead = _commit(other, "two.txt")
    run_git(other, "push", "--quiet", "origin", "feat/both")

    restored = await workspace.restore(config, info.path)

    assert run_git(restored.path, "rev-parse", "HEAD") == ahead


async def test_destroy_refuses_to_lose_commits_it_cannot_keep(
    workspace: CloneWorkspace, make_config: MakeConfig, repo: Path
) -> None:
    info = await workspace.create(make_config("app-1", "feat/clash"))
    _commit(info.path, "mine.txt")
    # Meanwhile the project got its own, diverged branch of that name.
    theirs = run_git(repo, "commit-tree", "HEAD^{tree}", "-p", "HEAD", "-m", "Theirs")
    run_git(repo, "branch", "feat/clash", theirs)

    with pytest.raises(WorkspaceError, match=r"(?s)git fetch.*push the branch from"):
        await workspace.destroy(info.path)

    assert Path(info.path, "mine.txt").exists(), "nothing was deleted"
    assert run_git(repo, "rev-parse", "feat/clash") == theirs


async def test_destroy_refuses_a_repository_it_did_not_make(base_dir: Path, tmp_path: Path) -> None:
    stray = base_dir / "app" / "app-9"
    stray.mkdir(parents=True)
    run_git(stray, "init", "--quiet")
    with pytest.raises(WorkspaceError, match=r"did not make \(its config has no ao.workspace=clone\)"):
        await _fresh(base_dir).destroy(str(stray))
    assert (stray / ".git").is_dir()
    elsewhere = tmp_path / "elsewhere" / "app-1"
    elsewhere.mkdir(parents=True)
    with pytest.raises(WorkspaceError, match="refusing to remove"):
        await _fresh(base_dir).destroy(str(elsewhere))
    with pytest.raises(WorkspaceError, match="relative"):
        await _fresh(base_dir).destroy("app-1")
    assert elsewhere.is_dir()


async def test_restore_of_a_present_clone_returns_it_and_refuses_anything_else(
    workspace: CloneWorkspace, make_config: MakeConfig, base_dir: Path
) -> None:
    config = make_config("app-1")
    info = await workspace.create(config)
    assert await workspace.restore(config, info.path) == info
    other = base_dir / "app" / "app-2"
    other.mkdir()
    with pytest.raises(WorkspaceError, match="something else is there"):
        await workspace.restore(make_config("app-2"), str(other))
    assert other.is_dir()


# --------------------------------------------------------------------------- list / exists / post_create


async def test_list_in_a_fresh_instance_finds_only_this_projects_clones(
    workspace: CloneWorkspace, make_config: MakeConfig, repo: Path, base_dir: Path, tmp_path: Path
) -> None:
    a = await workspace.create(make_config("app-1"))
    b = await workspace.create(make_config("app-2"))
    run_git(b.path, "checkout", "--quiet", "--detach")
    run_git(base_dir / "app", "init", "--quiet", "not-ours")
    (base_dir / "app" / "plain").mkdir()

    listed = await _fresh(base_dir).list("app")

    assert [(i.session_id, i.branch, i.path) for i in listed] == [
        ("app-1", "session/app-1", a.path),
        ("app-2", "HEAD", b.path),
    ]
    assert await _fresh(base_dir).list("other") == []
    assert not await workspace.exists(str(base_dir / "app" / "plain"))
    assert await workspace.exists(a.path)


async def test_post_create_links_and_runs_and_a_failure_rolls_back_cleanly(
    workspace: CloneWorkspace, make_config: MakeConfig, repo: Path, base_dir: Path
) -> None:
    from ao_core.config import ProjectConfig

    (repo / ".env").write_text("A=1\n")
    info = await workspace.create(make_config("app-1"))
    project = ProjectConfig(path=str(repo), symlinks=[".env"], post_create=["cat .env > seen.txt", "exit 3"])

    with pytest.raises(WorkspaceError, match=r"(?s)'exit 3' failed with exit code 3"):
        await workspace.post_create(info, project)

    ws = Path(info.path)
    assert ws.joinpath(".env").readlink() == Path("../../../repo/.env")
    assert ws.joinpath("seen.txt").read_text() == "A=1\n"
    await workspace.destroy(info.path)  # the kernel's rollback
    assert not ws.exists()
    assert list((base_dir / "app").iterdir()) == []
    assert not _has_ref(repo, "refs/heads/session/app-1"), "no commits, so nothing needed keeping"


async def test_a_second_destroy_after_restore_moves_the_kept_branch_forward(
    workspace: CloneWorkspace, make_config: MakeConfig, repo: Path
) -> None:
    config = make_config("app-1", "feat/twice")
    info = await workspace.create(config)
    _commit(info.path, "one.txt")
    await workspace.destroy(info.path)
    restored = await workspace.restore(config, info.path)
    newer = _commit(restored.path, "two.txt")

    await workspace.destroy(restored.path)

    assert run_git(repo, "rev-parse", "feat/twice") == newer
