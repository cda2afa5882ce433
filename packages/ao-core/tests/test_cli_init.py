"""``ao init`` in real git repositories."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from ao_core.cli import main
from ao_core.cli.commands.init import parse_remote_url, render_config
from ao_core.config import PluginRef, load_config
from ao_core.testing import require_executable

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def git_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An environment where git sees no user or system config and never looks above ``tmp_path``."""
    require_executable("git")
    home = tmp_path / "home"
    home.mkdir()
    values = {
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CEILING_DIRECTORIES": str(tmp_path),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    for name in ("GIT_DIR", "GIT_WORK_TREE", "AO_CONFIG_PATH"):
        monkeypatch.delenv(name, raising=False)
    return {**os.environ, **values}


def git(cwd: Path, env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=ao test", "-c", "user.email=ao@example.invalid", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout.strip()


def make_repo(parent: Path, env: dict[str, str], name: str = "widgets", branch: str = "main") -> Path:
    repo = parent / name
    repo.mkdir()
    git(repo, env, "init", "-q", "-b", branch)
    return repo


@pytest.mark.integration
def test_init_writes_a_config_from_the_origin_remote(
    tmp_path: Path, git_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path, git_env)
    git(repo, git_env, "remote", "add", "origin", "git@github.com:acme/widgets.git")
    (repo / "src").mkdir()
    monkeypatch.chdir(repo / "src")

    assert main(["init"]) == 0

    target = repo / "agent-orchestrator.yaml"
    out = capsys.readouterr().out
    assert out.startswith(f"Wrote {target}\n")
    assert "repo            acme/widgets (from the origin remote on github.com)" in out
    assert "default branch  main" in out
    assert "ao config validate" in out
    assert "ao spawn widgets <issue>" in out

    text = target.read_text()
    for section in ("defaults:", "projects:", "notifiers:", "notificationRouting:", "# reactions:"):
        assert f"\n{section}" in text
    assert "${SLACK_BOT_TOKEN}" in text  # shows how secrets come from the environment
    config = load_config(target, env={})
    project = config.projects["widgets"]
    assert project.repo == "acme/widgets"
    assert project.path == str(repo)
    assert project.default_branch == "main"
    assert project.session_prefix == "wid"
    assert project.scm == PluginRef(plugin="github")
    assert config.notifiers["desktop"] == PluginRef(plugin="desktop")


@pytest.mark.integration
def test_default_branch_comes_from_origin_head(
    tmp_path: Path, git_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, git_env)
    git(repo, git_env, "remote", "add", "origin", "https://github.com/acme/widgets")
    git(repo, git_env, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/trunk")
    monkeypatch.chdir(repo)
    assert main(["init"]) == 0
    assert load_config(repo / "agent-orchestrator.yaml", env={}).projects["widgets"].default_branch == "trunk"


@pytest.mark.integration
def test_default_branch_falls_back_to_the_current_branch(
    tmp_path: Path, git_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, git_env, branch="release/2.x")
    monkeypatch.chdir(repo)
    assert main(["init"]) == 0
    assert load_config(repo / "agent-orchestrator.yaml", env={}).projects["widgets"].default_branch == "release/2.x"


@pytest.mark.integration
def test_default_branch_is_main_on_a_detached_head(
    tmp_path: Path, git_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, git_env, branch="work")
    git(repo, git_env, "commit", "-q", "--allow-empty", "-m", "first")
    git(repo, git_env, "checkout", "-q", "--detach")
    monkeypatch.chdir(repo)
    assert main(["init"]) == 0
    assert load_config(repo / "agent-orchestrator.yaml", env={}).projects["widgets"].default_branch == "main"


@pytest.mark.integration
def test_without_origin_the_repo_is_left_out_and_said_so(
    tmp_path: Path, git_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path, git_env)
    monkeypatch.chdir(repo)
    assert main(["init"]) == 0
    assert "repo            not set: this repository has no 'origin' remote" in capsys.readouterr().out
    config = load_config(repo / "agent-orchestrator.yaml", env={})
    assert config.projects["widgets"].repo is None
    assert config.projects["widgets"].scm is None
    assert "# repo: owner/name" in (repo / "agent-orchestrator.yaml").read_text()


@pytest.mark.integration
def test_an_origin_that_is_a_local_path_is_not_a_repo(
    tmp_path: Path, git_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path, git_env)
    git(repo, git_env, "remote", "add", "origin", "/srv/git/widgets.git")
    monkeypatch.chdir(repo)
    assert main(["init"]) == 0
    assert "does not name a hosted repository" in capsys.readouterr().out
    assert load_config(repo / "agent-orchestrator.yaml", env={}).projects["widgets"].repo is None


@pytest.mark.integration
def test_refuses_to_overwrite_without_force(
    tmp_path: Path, git_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path, git_env)
    target = repo / "agent-orchestrator.yaml"
    target.write_text("# mine\n")
    monkeypatch.chdir(repo)
    assert main(["init"]) == 2
    err = capsys.readouterr().err
    assert err == f"ao: error: {target} already exists; edit it, or run 'ao init --force' to overwrite it\n"
    assert target.read_text() == "# mine\n"


@pytest.mark.integration
def test_an_existing_yml_also_blocks(
    tmp_path: Path, git_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path, git_env)
    (repo / "agent-orchestrator.yml").write_text("# mine\n")
    monkeypatch.chdir(repo)
    assert main(["init"]) == 2
    assert "agent-orchestrator.yml already exists" in capsys.readouterr().err
    assert not (repo / "agent-orchestrator.yaml").exists()


@pytest.mark.integration
def test_force_overwrites(
    tmp_path: Path, git_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path, git_env)
    target = repo / "agent-orchestrator.yaml"
    target.write_text("# mine\n")
    monkeypatch.chdir(repo)
    assert main(["init", "--force", "--project-id", "wdg"]) == 0
    assert capsys.readouterr().out.startswith(f"Wrote {target}\n")
    assert list(load_config(target, env={}).projects) == ["wdg"]


@pytest.mark.integration
def test_not_a_git_repository(
    tmp_path: Path, git_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.chdir(plain)
    assert main(["init"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ao: error: {plain} is not inside a git repository;")
    assert list(plain.iterdir()) == []


@pytest.mark.integration
def test_path_option_and_project_id_from_the_directory_name(
    tmp_path: Path, git_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, git_env, name="My Widgets.v2")
    (repo / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert main(["init", "--path", str(repo / "deep" / "er")]) == 0
    config = load_config(repo / "agent-orchestrator.yaml", env={})
    assert list(config.projects) == ["My-Widgets-v2"]


@pytest.mark.integration
def test_an_invalid_project_id_is_refused(
    tmp_path: Path, git_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path, git_env)
    monkeypatch.chdir(repo)
    assert main(["init", "--project-id", "my app"]) == 2
    assert "--project-id 'my app' may only contain" in capsys.readouterr().err
    assert not (repo / "agent-orchestrator.yaml").exists()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("git@github.com:acme/widgets.git", ("github.com", "acme/widgets")),
        ("git@github.com:acme/widgets", ("github.com", "acme/widgets")),
        ("https://github.com/acme/widgets.git", ("github.com", "acme/widgets")),
        ("https://github.com/acme/widgets", ("github.com", "acme/widgets")),
        ("https://github.com/acme/widgets/", ("github.com", "acme/widgets")),
        ("https://user:pw@github.com/acme/widgets.git", ("github.com", "acme/widgets")),
        ("ssh://git@github.com:22/acme/widgets.git", ("github.com", "acme/widgets")),
        ("git@gitlab.com:group/sub/tool.git", ("gitlab.com", "group/sub/tool")),
        ("github.com:acme/widgets", ("github.com", "acme/widgets")),
        ("/srv/git/widgets.git", None),
        ("file:///srv/git/widgets.git", None),
        ("../widgets", None),
        ("https://github.com/widgets", None),
        ("git@github.com:acme/wid gets.git", None),
    ],
)
def test_parse_remote_url(url: str, expected: tuple[str, str] | None) -> None:
    assert parse_remote_url(url) == expected


@pytest.mark.parametrize("branch", ["main", "release/2.x", "1.0", "yes", "null", "feat: colon #hash", "ünïcode"])
def test_rendered_config_keeps_any_branch_name(tmp_path: Path, branch: str) -> None:
    path = tmp_path / "agent-orchestrator.yaml"
    path.write_text(render_config("app", "acme/app", branch, "app"), encoding="utf-8")
    assert load_config(path, env={}).projects["app"].default_branch == branch


def test_rendered_config_without_repo_loads(tmp_path: Path) -> None:
    path = tmp_path / "agent-orchestrator.yaml"
    path.write_text(render_config("app", None, "main", "app"), encoding="utf-8")
    project = load_config(path, env={}).projects["app"]
    assert (project.repo, project.tracker, project.path) == (None, None, str(tmp_path))
