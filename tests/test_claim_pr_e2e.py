"""`ao session claim-pr`: a session takes over an existing pull request (fake GitHub, real git, the CLI)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from ao_testing.fakes.github import FakeGitHub
from ao_testing.fakes.github.pytest_fixtures import fake_github
from e2e_support import AoEnv, git, make_env

__all__ = ["fake_github"]

pytestmark = pytest.mark.integration

REPO = "acme/widgets"


@pytest.fixture
def world(tmp_path: Path, fake_github: FakeGitHub) -> AoEnv:
    fake_github.create_repo(REPO, files={"README.md": "# widgets\n"})
    env = make_env(tmp_path / "ao")
    # The project is a clone of the fake's bare repository, so fetches and pushes reach the fake.
    subprocess.run(["rm", "-rf", str(env.repo)], check=True)
    subprocess.run(["git", "clone", "-q", str(fake_github.repo_path(REPO)), str(env.repo)], check=True)
    git(env.repo, "config", "user.name", "Test")
    git(env.repo, "config", "user.email", "test@example.invalid")
    env.write_config(
        runtime="process",
        project_extra=(
            f"    repo: {REPO}\n"
            f"    scm: {{plugin: github, baseUrl: '{fake_github.url}', tokenEnv: AO_TEST_GITHUB_TOKEN}}\n"
        ),
    )
    env.extra["token"] = fake_github.default_token
    return env


def ao(env: AoEnv, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    run_env = {**env.env(), "AO_TEST_GITHUB_TOKEN": env.extra["token"]}
    result = subprocess.run(
        [str(Path(__file__).resolve().parents[1] / ".venv" / "bin" / "ao"), *args],
        cwd=env.repo,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"ao {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def test_claim_pr_checks_out_the_branch_and_takes_it_over(world: AoEnv, fake_github: FakeGitHub) -> None:
    fake_github.commit(REPO, "fix/login", {"login.py": "def login():\n    return True\n"}, "Fix login")
    number = fake_github.create_pr(REPO, "fix/login", title="Fix login")
    ao(world, "spawn", "app", "--prompt", "first")
    ao(world, "spawn", "app", "--prompt", "second")

    out = ao(world, "session", "claim-pr", str(number), "app-1").stdout
    assert f"app-1 now tracks PR #{number}" in out
    sessions = {s["id"]: s for s in json.loads(ao(world, "status", "--json").stdout)}
    claimed = sessions["app-1"]
    assert claimed["pr"]["number"] == number
    assert claimed["branch"] == "fix/login"
    workspace = Path(claimed["workspace_path"])
    assert git(workspace, "branch", "--show-current") == "fix/login"
    assert (workspace / "login.py").exists()

    # The second session claims the same PR: the first lets go of it and stops detecting PRs by branch.
    out = ao(world, "session", "claim-pr", f"{fake_github.url}/{REPO}/pull/{number}", "app-2").stdout
    assert "taken over from: app-1" in out
    after = {s["id"]: s for s in json.loads(ao(world, "status", "--json").stdout)}
    assert after["app-2"]["pr"]["number"] == number
    assert after["app-1"]["pr"] is None
    assert after["app-1"]["metadata"]["prAutoDetect"] is False

    # A worktree with uncommitted changes is refused, and nothing changes.
    ao(world, "spawn", "app", "--prompt", "third")
    third = {s["id"]: s for s in json.loads(ao(world, "status", "--json").stdout)}["app-3"]
    (Path(third["workspace_path"]) / "README.md").write_text("local edit\n")
    refused = ao(world, "session", "claim-pr", str(number), "app-3", check=False)
    assert refused.returncode != 0
    assert "uncommitted changes" in refused.stderr
    final = {s["id"]: s for s in json.loads(ao(world, "status", "--json").stdout)}
    assert final["app-3"]["pr"] is None
    assert final["app-2"]["pr"]["number"] == number
    assert git(Path(final["app-2"]["workspace_path"]), "branch", "--show-current") == "fix/login"


def test_claim_pr_of_a_closed_or_missing_pr_is_a_clear_error(world: AoEnv, fake_github: FakeGitHub) -> None:
    ao(world, "spawn", "app", "--prompt", "work")
    missing = ao(world, "session", "claim-pr", "999", "app-1", check=False)
    assert missing.returncode != 0
    assert "999" in missing.stderr
    assert "Traceback" not in missing.stderr
    bad = ao(world, "session", "claim-pr", "not-a-pr", "app-1", check=False)
    assert bad.returncode != 0
    assert "not-a-pr" in bad.stderr
