from __future__ import annotations

import shutil
from pathlib import Path

import anyio
import ao_core.testing
import pytest
from ao_core.models import EventPriority, EventType
from ao_core.testing import (
    in_ci,
    init_git_repo,
    make_event,
    make_project,
    make_session,
    require_env,
    require_executable,
    run_git,
    wait_until,
)

MISSING = "ao-definitely-not-installed-7f3a"


def test_public_names_are_sorted_and_importable() -> None:
    assert ao_core.testing.__all__ == sorted(ao_core.testing.__all__)
    for name in ao_core.testing.__all__:
        assert getattr(ao_core.testing, name) is not None
    assert set(ao_core.testing.__all__) <= set(dir(ao_core.testing))
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = ao_core.testing.Nope


def test_require_executable_returns_the_path() -> None:
    assert require_executable("sh") == shutil.which("sh")


def test_missing_executable_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=f"'{MISSING}' is not installed"):
        require_executable(MISSING)


@pytest.mark.parametrize("value", ["true", "1", "TRUE"])
def test_missing_executable_fails_in_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        require_executable(MISSING)


def test_require_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AO_TEST_VALUE", "x")
    assert require_env("AO_TEST_VALUE") == "x"
    monkeypatch.setenv("AO_TEST_VALUE", "")
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="AO_TEST_VALUE is not set"):
        require_env("AO_TEST_VALUE")
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception):
        require_env("AO_TEST_VALUE")


def test_in_ci() -> None:
    assert in_ci({"CI": " true "})
    assert not in_ci({"CI": "false"})
    assert not in_ci({})


@pytest.mark.anyio
async def test_wait_until_sync_and_async_conditions() -> None:
    ticks: list[int] = []

    def grows() -> bool:
        ticks.append(1)
        return len(ticks) >= 3

    await wait_until(grows, within=2, interval=0.001)

    async def ready() -> bool:
        await anyio.lowlevel.checkpoint()
        return True

    await wait_until(ready)
    assert len(ticks) == 3


@pytest.mark.anyio
async def test_wait_until_says_what_did_not_happen() -> None:
    with pytest.raises(AssertionError, match=r"condition not met within 0.05 s: the flag to flip"):
        await wait_until(lambda: False, within=0.05, message="the flag to flip")


@pytest.mark.integration
def test_git_repo_fixture(git_repo: Path) -> None:
    assert run_git(git_repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert run_git(git_repo, "rev-parse", "--abbrev-ref", "main@{upstream}") == "origin/main"
    assert run_git(git_repo, "ls-remote", "origin", "main").split()[0] == run_git(git_repo, "rev-parse", "HEAD")
    assert run_git(git_repo, "config", "--local", "user.email") == "ao-test@example.invalid"
    assert run_git(git_repo, "status", "--porcelain") == ""
    assert run_git(git_repo, "rev-list", "--count", "HEAD") == "1"
    origin = Path(run_git(git_repo, "remote", "get-url", "origin"))
    assert run_git(origin, "rev-parse", "--is-bare-repository") == "true"


@pytest.mark.integration
def test_init_git_repo_with_other_names(tmp_path: Path) -> None:
    repo = init_git_repo(tmp_path, name="lib", default_branch="trunk")
    assert repo == tmp_path / "lib"
    assert run_git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "trunk"
    assert (tmp_path / "lib-origin.git").is_dir()


def test_builders() -> None:
    session = make_session("x-2", "x", branch="feat/a")
    assert (session.id, session.project_id, session.branch) == ("x-2", "x", "feat/a")
    project = make_project("/repo", repo="acme/app")
    assert (project.path, project.repo) == ("/repo", "acme/app")
    event = make_event("ci.failing", priority="action", data={"k": 1})
    assert (event.type, event.priority, event.message) == (
        EventType.CI_FAILING,
        EventPriority.ACTION,
        "ci.failing for app-1",
    )
    assert event.data == {"k": 1}
