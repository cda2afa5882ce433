"""An exhausted GitHub rate limit through the whole stack (the `ao` CLI, the lifecycle, the real plugins).

GitHub answers 403 with ``X-RateLimit-Remaining: 0``, then 429 with ``Retry-After``: each poll and each
command says when the limit resets, decides nothing from the missing data, and loses nothing; once the
limit clears, the loop goes on where it was.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from ao_testing.fakes.github import FakeGitHub
from e2e_support import GITHUB_REPO as REPO
from e2e_support import AoEnv

pytestmark = pytest.mark.integration


def sessions(env: AoEnv) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in env.ao_json("status")}


@pytest.mark.parametrize(
    ("kind", "limit"),
    [
        ("403 X-RateLimit-Remaining: 0", lambda gh: gh.rate_limit_next(1000, reset_in=120)),
        ("429 Retry-After", lambda gh: gh.throttle_next(1000, retry_after=30)),
    ],
)
def test_a_rate_limit_keeps_every_state_and_says_when_it_resets(
    github_env: AoEnv, fake_github: FakeGitHub, kind: str, limit: Callable[[FakeGitHub], Any]
) -> None:
    fake_github.commit(REPO, "fix/login", {"login.py": "def login():\n    return True\n"}, "Fix login")
    number = fake_github.create_pr(REPO, "fix/login", title="Fix login")
    fake_github.pass_ci(REPO, number)
    issue = fake_github.create_issue(REPO, "Add a logout button")
    github_env.ao("spawn", "app", "--prompt", "work")
    github_env.ao("session", "claim-pr", str(number), "app-1")
    github_env.ao_json("lifecycle", "run-once")
    before = sessions(github_env)
    assert before["app-1"]["status"] == "review_pending"
    branches, worktrees = github_env.branches(), github_env.worktrees()

    limit(fake_github)
    sent_before = len(fake_github.requests)
    report = github_env.ao_json("lifecycle", "run-once")
    assert report["transitions"] == []
    assert report["events"] == []
    assert report["reactions"] == []
    assert report["errors"], kind
    assert all("rate limit exhausted" in e and "resets at" in e for e in report["errors"]), report["errors"]
    sent = [r.target for r in fake_github.requests[sent_before:]]
    assert len(sent) == 1, f"the first refusal pauses the SCM until the reset, no per-PR fallback: {sent}"
    after = sessions(github_env)
    for key in ("status", "pr", "branch", "metadata", "workspace_path"):
        assert after["app-1"][key] == before["app-1"][key], key

    # The tracker is refused too: spawning from the issue says when to retry and leaves nothing behind.
    refused = github_env.ao("spawn", "app", str(issue), check=False)
    assert refused.returncode != 0
    assert re.search(r"rate limit exhausted .*; it resets at \d{4}-", refused.stderr), refused.stderr
    assert "Traceback" not in refused.stderr
    assert set(sessions(github_env)) == {"app-1"}
    assert (github_env.branches(), github_env.worktrees()) == (branches, worktrees)

    fake_github.clear_faults()
    fake_github.approve(REPO, number)
    report = github_env.ao_json("lifecycle", "run-once")
    assert not report["errors"], report["errors"]
    assert [(t["session_id"], t["new"]) for t in report["transitions"]] == [("app-1", "mergeable")]
    github_env.ao("spawn", "app", str(issue))
    assert sessions(github_env)["app-2"]["issue_id"] == str(issue)
