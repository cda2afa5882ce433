"""Bad input is refused with WorkspaceError, and a failed create leaves nothing behind."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest
from ao_core.errors import WorkspaceError
from ao_core.models import WorkspaceCreateConfig
from ao_core.testing import run_git, wait_until
from ao_workspace_worktree import WorktreeWorkspaceConfig
from ao_workspace_worktree._worktree import WorktreeWorkspace

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.timeout(60)]

MakeConfig = Callable[..., WorkspaceCreateConfig]


@pytest.fixture
def nothing_left(
    repo: Path,
    base_dir: Path,
    worktrees: Callable[[], list[str]],
    branches: Callable[[], set[str]],
    checkout_state: Callable[[], object],
) -> Callable[[], None]:
    """Checks that no worktree, branch or session directory appeared and the checkout is as it was."""
    branches_before = branches()
    state_before = checkout_state()

    def check() -> None:
        assert worktrees() == [str(repo)]
        assert branches() == branches_before
        session_dirs = list((base_dir / "app").iterdir()) if (base_dir / "app").is_dir() else []
        assert session_dirs == []
        assert not (repo / ".git" / "worktrees").exists() or not any((repo / ".git" / "worktrees").iterdir())
        assert checkout_state() == state_before

    return check


@pytest.mark.parametrize(
    "branch",
    [
        "feat/a..b",
        "-rf",
        "--force",
        "feat/$(touch x)",
        "feat/$(touch${IFS}x)",
        "feat/`touch x`",
        "feat;touch x",
        "feat/a b",
        "feat/x~1",
        "feat/x^",
        "feat:x",
        "feat/x?",
        "feat/*",
        "feat/[x]",
        "feat\\x",
        "feat/x.lock",
        "feat/",
        "HEAD",
        "@",
        "feat/@{-1}",
        "feat/x\n",
        "",
    ],
)
async def test_an_invalid_branch_is_refused_before_anything_is_made(
    workspace: WorktreeWorkspace,
    make_config: MakeConfig,
    nothing_left: Callable[[], None],
    branch: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WorkspaceError, match="is not a valid branch name"):
        await workspace.create(make_config("app-1", branch))
    nothing_left()
    assert not [p for p in tmp_path.rglob("x") if p.is_file()], "a shell ran part of the branch name"


@pytest.mark.parametrize("session_id", ["../evil", "a/b", "", "a b", "x;y", "ä"])
async def test_an_invalid_session_id_is_refused(
    workspace: WorktreeWorkspace, make_config: MakeConfig, nothing_left: Callable[[], None], session_id: str
) -> None:
    with pytest.raises(WorkspaceError, match="session id"):
        await workspace.create(make_config(session_id, "feat/ok"))
    nothing_left()


async def test_an_invalid_project_id_is_refused(workspace: WorktreeWorkspace, make_config: MakeConfig) -> None:
    with pytest.raises(WorkspaceError, match=r"project id '\.\./app'"):
        await workspace.create(make_config("app-1", project_id="../app"))


async def test_an_invalid_default_branch_is_refused(
    workspace: WorktreeWorkspace, make_config: MakeConfig, nothing_left: Callable[[], None]
) -> None:
    with pytest.raises(WorkspaceError, match="default branch '--upload-pack=x'"):
        await workspace.create(make_config("app-1", default_branch="--upload-pack=x"))
    nothing_left()


async def test_an_existing_branch_is_an_error_and_stays_as_it_was(
    workspace: WorktreeWorkspace,
    make_config: MakeConfig,
    repo: Path,
    base_dir: Path,
    branches: Callable[[], set[str]],
    worktrees: Callable[[], list[str]],
) -> None:
    run_git(repo, "branch", "feat/taken", "HEAD~1")
    taken = run_git(repo, "rev-parse", "feat/taken")

    with pytest.raises(WorkspaceError, match="branch 'feat/taken' already exists"):
        await workspace.create(make_config("app-1", "feat/taken"))

    assert run_git(repo, "rev-parse", "feat/taken") == taken
    assert branches() == {"main", "feat/taken"}
    assert worktrees() == [str(repo)]
    assert not (base_dir / "app" / "app-1").exists()


async def test_an_existing_path_is_an_error_and_is_not_deleted(
    workspace: WorktreeWorkspace,
    make_config: MakeConfig,
    repo: Path,
    base_dir: Path,
    branches: Callable[[], set[str]],
    worktrees: Callable[[], list[str]],
) -> None:
    existing = base_dir / "app" / "app-1"
    existing.mkdir(parents=True)
    (existing / "precious.txt").write_text("not ao's\n")

    with pytest.raises(WorkspaceError, match="already exists"):
        await workspace.create(make_config("app-1"))

    assert (existing / "precious.txt").read_text() == "not ao's\n"
    assert branches() == {"main"}
    assert worktrees() == [str(repo)]


async def test_an_uncreatable_base_dir_is_an_error(
    make_config: MakeConfig, tmp_path: Path, branches: Callable[[], set[str]], worktrees: Callable[[], list[str]]
) -> None:
    # Tests run as root, which ignores permission bits: a regular file on the path makes mkdir fail for anyone.
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    workspace = WorktreeWorkspace(WorktreeWorkspaceConfig(base_dir=str(blocker / "below")))

    with pytest.raises(WorkspaceError, match="cannot create the workspace directory"):
        await workspace.create(make_config("app-1"))

    assert blocker.read_text() == ""
    assert branches() == {"main"}
    assert len(worktrees()) == 1


async def test_a_project_path_that_is_not_a_checkout_is_an_error(
    workspace: WorktreeWorkspace, make_config: MakeConfig, tmp_path: Path
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(WorkspaceError, match="is not a git checkout"):
        await workspace.create(make_config("app-1", project_path=str(plain)))
    with pytest.raises(WorkspaceError, match="is not a directory"):
        await workspace.create(make_config("app-1", project_path=str(tmp_path / "missing")))


async def test_a_git_failure_midway_removes_the_directory_the_record_and_the_new_branch(
    workspace: WorktreeWorkspace, make_config: MakeConfig, repo: Path, nothing_left: Callable[[], None]
) -> None:
    # git worktree add creates the branch and the checkout, then fails with the post-checkout hook's status.
    hook = repo / ".git" / "hooks" / "post-checkout"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text("#!/bin/sh\necho 'hook says no' >&2\nexit 7\n")
    hook.chmod(0o755)

    with pytest.raises(WorkspaceError, match=r"(?s)exit 7.*hook says no"):
        await workspace.create(make_config("app-1", "feat/half"))

    nothing_left()


@pytest.fixture(params=["checkout", "hook"])
def held(request: pytest.FixtureRequest, repo: Path, tmp_path: Path) -> tuple[Path, Path]:
    """Holds git worktree add at a stage until ``release`` exists; ``entered`` appears when it got there.

    ``checkout``: a smudge filter, while git's record of the new worktree is still locked ("initializing").
    ``hook``: the post-checkout hook, after the checkout.
    """
    entered, release = tmp_path / "entered", tmp_path / "release"
    block = f"touch '{entered}'; while [ ! -e '{release}' ]; do sleep 0.05; done"
    if request.param == "checkout":
        run_git(repo, "config", "filter.hold.smudge", f"{block}; cat")
        (repo / ".gitattributes").write_text("src.txt filter=hold\n")
        run_git(repo, "add", ".gitattributes")
        run_git(repo, "commit", "--quiet", "-m", "Hold src.txt at checkout")
        run_git(repo, "push", "--quiet", "origin", "main")
    else:
        hook = repo / ".git" / "hooks" / "post-checkout"
        hook.parent.mkdir(exist_ok=True)
        hook.write_text(f"#!/bin/sh\n{block}\n")
        hook.chmod(0o755)
    return entered, release


async def test_a_cancelled_create_leaves_nothing_behind(
    workspace: WorktreeWorkspace,
    make_config: MakeConfig,
    held: tuple[Path, Path],
    nothing_left: Callable[[], None],
) -> None:
    entered, release = held
    try:
        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                tg.start_soon(workspace.create, make_config("app-1"))
                await wait_until(entered.exists, within=15, message="git never reached the held stage")
                tg.cancel_scope.cancel()
    finally:
        release.touch()

    nothing_left()


async def test_creating_one_session_twice_at_once_keeps_exactly_one(
    workspace: WorktreeWorkspace, make_config: MakeConfig, repo: Path, worktrees: Callable[[], list[str]]
) -> None:
    outcomes: list[str] = []

    async def attempt() -> None:
        try:
            await workspace.create(make_config("app-1"))
            outcomes.append("created")
        except WorkspaceError:
            outcomes.append("refused")

    async with anyio.create_task_group() as tg:
        tg.start_soon(attempt)
        tg.start_soon(attempt)

    assert sorted(outcomes) == ["created", "refused"]
    survivors = worktrees()[1:]
    assert len(survivors) == 1
    assert run_git(survivors[0], "symbolic-ref", "--short", "HEAD") == "session/app-1"
    assert (Path(survivors[0]) / "src.txt").is_file()


def _half_written_record(repo: Path) -> Path:
    """The records of a worktree that another git process is still writing (its commondir still empty).

    git locks records while it writes them ("initializing"), so that a prune leaves them alone.
    """
    record = repo / ".git" / "worktrees" / "other"
    record.mkdir(parents=True)
    (record / "locked").write_text("initializing")
    (record / "gitdir").write_text(f"{repo.parent / 'other' / '.git'}\n")
    (record / "commondir").write_text("")
    return record


async def test_an_add_that_meets_another_git_process_is_retried(
    workspace: WorktreeWorkspace, make_config: MakeConfig, repo: Path, caplog: pytest.LogCaptureFixture
) -> None:
    record = _half_written_record(repo)

    def retried() -> bool:
        return any("retrying" in r.getMessage() for r in caplog.records)

    async def other_process_finishes() -> None:
        await wait_until(retried, within=10, message="no retry was logged")
        shutil.rmtree(record)

    with caplog.at_level(logging.INFO, logger="ao_workspace_worktree"):
        async with anyio.create_task_group() as tg:
            tg.start_soon(other_process_finishes)
            info = await workspace.create(make_config("app-1"))

    assert run_git(info.path, "symbolic-ref", "--short", "HEAD") == "session/app-1"


async def test_an_add_that_keeps_meeting_another_git_process_gives_up_cleanly(
    workspace: WorktreeWorkspace,
    make_config: MakeConfig,
    repo: Path,
    base_dir: Path,
    branches: Callable[[], set[str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    _half_written_record(repo)
    with (
        caplog.at_level(logging.INFO, logger="ao_workspace_worktree"),
        pytest.raises(WorkspaceError, match=r"git worktree add .*failed to read .*commondir"),
    ):
        await workspace.create(make_config("app-1"))
    assert sum("retrying" in r.getMessage() for r in caplog.records) == 2
    assert not (base_dir / "app" / "app-1").exists()
    assert branches() == {"main"}
