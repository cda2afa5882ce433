"""post_create: relative symlinks into the project checkout, and the project's postCreate commands."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest
from ao_core.config import ProjectConfig
from ao_core.errors import WorkspaceError
from ao_core.models import WorkspaceCreateConfig, WorkspaceInfo
from ao_core.testing import run_git, wait_until
from ao_workspace_worktree import WorktreeWorkspaceConfig
from ao_workspace_worktree._worktree import WorktreeWorkspace
from pydantic import ValidationError

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.timeout(60)]

MakeConfig = Callable[..., WorkspaceCreateConfig]


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie may linger when PID 1 does not reap)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


@pytest.fixture
async def info(workspace: WorktreeWorkspace, make_config: MakeConfig) -> WorkspaceInfo:
    return await workspace.create(make_config("app-1"))


def _project(repo: Path, **fields: object) -> ProjectConfig:
    return ProjectConfig.model_validate({"path": str(repo), **fields})


def _unvalidated(repo: Path, symlinks: list[str]) -> ProjectConfig:
    """A project whose symlinks skipped the config's validation (a plugin must not rely on it)."""
    return ProjectConfig.model_construct(path=str(repo), symlinks=symlinks, post_create=[])


async def test_symlinks_are_relative_links_to_the_project_checkout(
    workspace: WorktreeWorkspace, info: WorkspaceInfo, repo: Path
) -> None:
    (repo / "node_modules" / "left-pad").mkdir(parents=True)
    (repo / "node_modules" / "left-pad" / "index.js").write_text("module.exports = 1\n")
    (repo / ".env").write_text("TOKEN=dev\n")
    (repo / "config").mkdir()
    (repo / "config" / "local.yaml").write_text("a: 1\n")
    ws = Path(info.path)

    await workspace.post_create(info, _project(repo, symlinks=["node_modules", ".env", "config/local.yaml", "absent"]))

    for entry in ("node_modules", ".env", "config/local.yaml"):
        link = ws / entry
        assert link.is_symlink(), entry
        target = link.readlink()
        assert not Path(target).is_absolute(), f"{entry} -> {target} is absolute"
        assert (link.parent / target).resolve() == (repo / entry).resolve()
    assert (ws / "node_modules" / "left-pad" / "index.js").read_text() == "module.exports = 1\n"
    assert (ws / ".env").read_text() == "TOKEN=dev\n"
    assert not os.path.lexists(ws / "absent")


async def test_a_symlink_replaces_what_the_workspace_has_at_that_path(
    workspace: WorktreeWorkspace, info: WorkspaceInfo, repo: Path
) -> None:
    ws = Path(info.path)
    (ws / "node_modules" / "stale").mkdir(parents=True)
    (ws / "node_modules" / "stale" / "f").write_text("old")
    (repo / "node_modules").mkdir()
    (repo / "node_modules" / "fresh").write_text("new")
    (ws / "src.txt").write_text("workspace copy\n")

    await workspace.post_create(info, _project(repo, symlinks=["node_modules", "src.txt"]))
    await workspace.post_create(info, _project(repo, symlinks=["node_modules", "src.txt"]))  # again: same result

    assert sorted(p.name for p in (ws / "node_modules").iterdir()) == ["fresh"]
    assert (ws / "src.txt").is_symlink()
    assert (ws / "src.txt").read_text() == "hello\n"


@pytest.mark.parametrize("entry", ["../x", "a/../../x", "/etc/passwd", "", ".", ".git", ".git/config"])
async def test_an_entry_outside_the_workspace_is_refused(
    workspace: WorktreeWorkspace, info: WorkspaceInfo, repo: Path, tmp_path: Path, entry: str
) -> None:
    (tmp_path / "x").write_text("outside\n")
    with pytest.raises(WorkspaceError, match="symlink entry"):
        await workspace.post_create(info, _unvalidated(repo, [entry]))
    assert not os.path.lexists(Path(info.path).parent / "x")
    assert (Path(info.path) / ".git").is_file()


def test_the_config_itself_refuses_parent_and_absolute_entries(repo: Path) -> None:
    for entry in ("../x", "/abs"):
        with pytest.raises(ValidationError):
            _project(repo, symlinks=[entry])


async def test_an_entry_that_resolves_outside_through_a_committed_symlink_is_refused(
    workspace: WorktreeWorkspace, make_config: MakeConfig, repo: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo / "escape").symlink_to(outside)
    run_git(repo, "add", "escape")
    run_git(repo, "commit", "--quiet", "-m", "Add a symlink that leads out")
    run_git(repo, "push", "--quiet", "origin", "main")
    info = await workspace.create(make_config("app-1"))
    assert (Path(info.path) / "escape").is_symlink()

    # The source exists (escape/shared.env through the project's own link), but the place in the workspace
    # would be outside it.
    (outside / "shared.env").write_text("outside\n")
    with pytest.raises(WorkspaceError, match="leads outside the workspace"):
        await workspace.post_create(info, _project(repo, symlinks=["node_modules", "escape/shared.env"]))

    assert (outside / "shared.env").read_text() == "outside\n"
    assert not (outside / "shared.env").is_symlink()
    assert not os.path.lexists(Path(info.path) / "node_modules"), "nothing is linked when one entry is refused"


async def test_commands_run_in_order_in_the_workspace_after_the_links(
    workspace: WorktreeWorkspace, info: WorkspaceInfo, repo: Path
) -> None:
    (repo / ".env").write_text("NAME=ao\n")
    project = _project(
        repo,
        symlinks=[".env"],
        post_create=[
            "pwd > where.txt",
            '. ./.env && echo "first $NAME" > order.txt',
            "echo second >> order.txt; echo noise >&2",
        ],
    )
    await workspace.post_create(info, project)
    ws = Path(info.path)
    assert Path((ws / "where.txt").read_text().strip()).resolve() == ws.resolve()
    assert (ws / "order.txt").read_text() == "first ao\nsecond\n"


async def test_a_failing_command_stops_the_rest_and_says_why(
    workspace: WorktreeWorkspace, info: WorkspaceInfo, repo: Path
) -> None:
    commands = [
        "echo ran > first.txt",
        "for i in 1 2 3 4 5; do echo line-$i; done; echo oops >&2; exit 3",
        "touch never",
    ]
    with pytest.raises(WorkspaceError) as caught:
        await workspace.post_create(info, _project(repo, post_create=commands))
    message = str(caught.value)
    assert "exit code 3" in message
    assert "exit 3" in message  # the command itself
    assert "line-5" in message
    assert "oops" in message
    ws = Path(info.path)
    assert (ws / "first.txt").exists()
    assert not (ws / "never").exists()


async def test_after_a_failed_setup_the_kernel_rollback_leaves_no_orphan(
    workspace: WorktreeWorkspace,
    make_config: MakeConfig,
    repo: Path,
    worktrees: Callable[[], list[str]],
    branches: Callable[[], set[str]],
    checkout_state: Callable[[], object],
) -> None:
    before = checkout_state()
    info = await workspace.create(make_config("app-1"))
    with pytest.raises(WorkspaceError, match="exit code 3"):
        await workspace.post_create(info, _project(repo, post_create=["exit 3"]))
    # Decided behaviour: post_create leaves the workspace for its caller, which destroys it on spawn failure.
    assert await workspace.exists(info.path)

    await workspace.destroy(info.path)

    assert not os.path.lexists(info.path)
    assert worktrees() == [str(repo)]
    records = repo / ".git" / "worktrees"
    assert not records.exists() or not any(records.iterdir())
    assert branches() == {"main", "session/app-1"}  # branches are kept, as always
    assert checkout_state() == before


async def test_a_command_that_hangs_is_killed_with_everything_it_started(
    make_config: MakeConfig, repo: Path, base_dir: Path
) -> None:
    workspace = WorktreeWorkspace(WorktreeWorkspaceConfig(base_dir=str(base_dir), post_create_timeout_s=1))
    info = await workspace.create(make_config("app-1"))
    pid_file = Path(info.path) / "child.pid"
    command = f"echo starting; sleep 60 & echo $! > {pid_file}; wait"

    with anyio.fail_after(20), pytest.raises(WorkspaceError, match=r"(?s)did not finish within 1 s.*starting"):
        await workspace.post_create(info, _project(repo, post_create=[command]))

    child = int(pid_file.read_text())
    await wait_until(lambda: not _running(child), within=5, message=f"background child {child} survived")


async def test_a_background_process_that_keeps_the_output_open_does_not_block(
    workspace: WorktreeWorkspace, info: WorkspaceInfo, repo: Path
) -> None:
    pid_file = Path(info.path) / "daemon.pid"
    command = f"sleep 30 & echo $! > {pid_file}; echo started"
    with anyio.fail_after(10):
        await workspace.post_create(info, _project(repo, post_create=[command]))
    daemon = int(pid_file.read_text())
    assert _running(daemon), "a process the command left running on purpose must survive"
    os.kill(daemon, 9)


async def test_post_create_needs_an_existing_workspace(
    workspace: WorktreeWorkspace, repo: Path, tmp_path: Path
) -> None:
    missing = WorkspaceInfo(path=str(tmp_path / "gone"), branch="b", session_id="app-1", project_id="app")
    with pytest.raises(WorkspaceError, match="does not exist"):
        await workspace.post_create(missing, _project(repo, post_create=["true"]))
