"""`ao session claim-pr`: a session takes over an existing pull request (fake GitHub, real git, the CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ao_testing.fakes.github import FakeGitHub
from e2e_support import GITHUB_REPO as REPO
from e2e_support import AoEnv, git

pytestmark = pytest.mark.integration


def test_claim_pr_checks_out_the_branch_and_takes_it_over(github_env: AoEnv, fake_github: FakeGitHub) -> None:
    fake_github.commit(REPO, "fix/login", {"login.py": "def login():\n    return True\n"}, "Fix login")
    number = fake_github.create_pr(REPO, "fix/login", title="Fix login")
    github_env.ao("spawn", "app", "--prompt", "first")
    github_env.ao("spawn", "app", "--prompt", "second")

    out = github_env.ao("session", "claim-pr", str(number), "app-1").stdout
    assert f"app-1 now tracks PR #{number}" in out
    sessions = {s["id"]: s for s in json.loads(github_env.ao("status", "--json").stdout)}
    claimed = sessions["app-1"]
    assert claimed["pr"]["number"] == number
    assert claimed["branch"] == "fix/login"
    workspace = Path(claimed["workspace_path"])
    assert git(workspace, "branch", "--show-current") == "fix/login"
    assert (workspace / "login.py").exists()

    # The second session claims the same PR: the first lets go of it and stops detecting PRs by branch.
    out = github_env.ao("session", "claim-pr", f"{fake_github.url}/{REPO}/pull/{number}", "app-2").stdout
    assert "taken over from: app-1" in out
    after = {s["id"]: s for s in json.loads(github_env.ao("status", "--json").stdout)}
    assert after["app-2"]["pr"]["number"] == number
    assert after["app-1"]["pr"] is None
    assert after["app-1"]["metadata"]["prAutoDetect"] is False

    # A worktree with uncommitted changes is refused, and nothing changes.
    github_env.ao("spawn", "app", "--prompt", "third")
    third = {s["id"]: s for s in json.loads(github_env.ao("status", "--json").stdout)}["app-3"]
    (Path(third["workspace_path"]) / "README.md").write_text("local edit\n")
    refused = github_env.ao("session", "claim-pr", str(number), "app-3", check=False)
    assert refused.returncode != 0
    assert "uncommitted changes" in refused.stderr
    final = {s["id"]: s for s in json.loads(github_env.ao("status", "--json").stdout)}
    assert final["app-3"]["pr"] is None
    assert final["app-2"]["pr"]["number"] == number
    assert git(Path(final["app-2"]["workspace_path"]), "branch", "--show-current") == "fix/login"


def test_claim_pr_of_a_closed_or_missing_pr_is_a_clear_error(github_env: AoEnv, fake_github: FakeGitHub) -> None:
    github_env.ao("spawn", "app", "--prompt", "work")
    missing = github_env.ao("session", "claim-pr", "999", "app-1", check=False)
    assert missing.returncode != 0
    assert "999" in missing.stderr
    assert "Traceback" not in missing.stderr
    bad = github_env.ao("session", "claim-pr", "not-a-pr", "app-1", check=False)
    assert bad.returncode != 0
    assert "not-a-pr" in bad.stderr
