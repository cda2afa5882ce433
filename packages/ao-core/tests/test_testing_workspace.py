from __future__ import annotations

from pathlib import Path

import pytest
from ao_core.config import ProjectConfig
from ao_core.errors import WorkspaceError
from ao_core.models import WorkspaceCreateConfig
from ao_core.testing import FakeWorkspace

pytestmark = pytest.mark.anyio


def _config(session_id: str = "app-1", project_id: str = "app", **fields: object) -> WorkspaceCreateConfig:
    values: dict[str, object] = {
        "project_id": project_id,
        "project_path": "/repo",
        "session_id": session_id,
        "branch": f"feat/{session_id}",
    }
    values.update(fields)
    return WorkspaceCreateConfig.model_validate(values)


async def test_create_makes_a_directory_under_the_base(fake_workspace: FakeWorkspace, tmp_path: Path) -> None:
    info = await fake_workspace.create(_config())
    assert Path(info.path) == (tmp_path / "workspaces" / "app" / "app-1").resolve()
    assert Path(info.path).is_dir()
    assert (info.branch, info.session_id, info.project_id) == ("feat/app-1", "app-1", "app")
    assert fake_workspace.branch_of(info.path) == "feat/app-1"


async def test_workspace_dir_of_the_config_wins(fake_workspace: FakeWorkspace, tmp_path: Path) -> None:
    info = await fake_workspace.create(_config(workspace_dir=str(tmp_path / "elsewhere")))
    assert Path(info.path) == (tmp_path / "elsewhere" / "app-1").resolve()


@pytest.mark.parametrize("session_id", ["../escape", "a/b", "..", ".hidden", ""])
async def test_unsafe_ids_are_refused(fake_workspace: FakeWorkspace, session_id: str) -> None:
    with pytest.raises(WorkspaceError, match="cannot name a directory"):
        await fake_workspace.create(_config(session_id=session_id))
    assert fake_workspace.workspaces == {}


async def test_duplicate_create_fails_and_keeps_the_first(fake_workspace: FakeWorkspace) -> None:
    info = await fake_workspace.create(_config())
    (Path(info.path) / "work.txt").write_text("progress")
    with pytest.raises(WorkspaceError, match="already exists"):
        await fake_workspace.create(_config())
    assert (Path(info.path) / "work.txt").read_text() == "progress"


async def test_list_and_exists_follow_the_directories(fake_workspace: FakeWorkspace) -> None:
    first = await fake_workspace.create(_config("app-1"))
    await fake_workspace.create(_config("other-1", project_id="other"))
    assert [i.session_id for i in await fake_workspace.list("app")] == ["app-1"]
    assert await fake_workspace.exists(first.path)
    await fake_workspace.destroy(first.path)
    assert not Path(first.path).exists()
    assert await fake_workspace.list("app") == []
    assert not await fake_workspace.exists(first.path)
    assert fake_workspace.destroyed == [first.path]


async def test_destroy_never_touches_directories_it_did_not_create(
    fake_workspace: FakeWorkspace, tmp_path: Path
) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    await fake_workspace.destroy(str(precious))
    assert precious.is_dir()


async def test_restore_brings_the_branch_back(fake_workspace: FakeWorkspace) -> None:
    config = _config()
    info = await fake_workspace.create(config)
    with pytest.raises(WorkspaceError, match="still exists"):
        await fake_workspace.restore(config, info.path)
    await fake_workspace.destroy(info.path)
    restored = await fake_workspace.restore(config, info.path)
    assert restored == info
    assert fake_workspace.branch_of(info.path) == "feat/app-1"
    assert fake_workspace.restored == [info.path]


async def test_fail_create_and_post_create(tmp_path: Path) -> None:
    failing = FakeWorkspace(tmp_path, fail_create=True)
    with pytest.raises(WorkspaceError):
        await failing.create(_config())
    assert not any(tmp_path.iterdir())
    workspace = FakeWorkspace(tmp_path)
    info = await workspace.create(_config())
    await workspace.post_create(info, ProjectConfig(path="/repo", post_create=["make setup"]))
    assert workspace.post_created[0][1].post_create == ["make setup"]


def test_branch_of_unknown_path(fake_workspace: FakeWorkspace) -> None:
    with pytest.raises(WorkspaceError, match="no workspace"):
        fake_workspace.branch_of("/nowhere")
