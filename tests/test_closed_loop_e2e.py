"""The closed loop end to end (must-show 1), with the real Claude Code CLI in tmux, the scripted model and the
fake GitHub: issue → spawn → the agent commits, pushes and opens a PR → CI fails → within one poll the agent
is told which check failed → it pushes a fix → CI passes → a reviewer requests changes with two comments →
the agent receives both with file:line → fixes → approval → auto-merge on the fake → the worktree is cleaned
up → an all-complete notification.

The scenario is ``ao_testing.demo.run_demo`` (what ``ao demo`` shows); this test checks every step against
the evidence: the model server's request log (what the agent was told), git in the fake's bare repository
and in the project, and ao's store. Run it with ``-s`` to see the timeline as it happens.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from ao_core.models import EventType, SessionStatus
from ao_core.store import Store
from ao_core.testing import require_executable, run_git
from ao_testing.demo import GREETING_V3, ISSUE_TITLE, PROJECT, REVIEW_COMMENTS, run_demo


@pytest.mark.anyio
@pytest.mark.agents
@pytest.mark.integration
@pytest.mark.timeout(300)
async def test_issue_to_merged_pr_with_real_claude_code(tmp_path: Path) -> None:
    for tool in ("git", "tmux", "claude"):
        require_executable(tool)

    result = await run_demo(tmp_path / "demo", out=print, poll_interval_s=1.0, timeout_s=200)
    print(result.summary())

    # What the agent was told, as the model server received it: the task, the CI failure, the review.
    assert len(result.agent_messages) == 3, result.agent_messages  # nothing was sent twice
    prompt, ci, review = result.agent_messages
    assert ISSUE_TITLE in prompt
    assert ci == result.ci_message
    assert result.check_name in ci
    assert result.check_url in ci
    assert f"#{result.pr_number}" in ci
    # Within one poll of the CI failure the agent was sent its name.
    assert result.ci_failed_after_poll >= 0
    assert 1 <= result.ci_sent_in_poll - result.ci_failed_after_poll <= 1
    assert review == result.review_message
    for path, line, body in REVIEW_COMMENTS:
        where = f"{path}:{line}"
        assert any(where in row and f"@{result.reviewer}" in row and body in row for row in review.splitlines()), (
            f"no line of the review message names {where}, @{result.reviewer} and the comment"
        )
    assert 1 <= result.review_sent_in_poll - result.changes_requested_after_poll <= 1

    # The fake merged the pull request: main of the bare repository has the agent's final code.
    assert result.pr_merged
    assert result.merge_commit is not None
    origin = result.origin_path
    assert run_git(origin, "rev-parse", "main") == result.merge_commit
    assert run_git(origin, "log", "-1", "--format=%s", "main") == f"{ISSUE_TITLE} (#{result.pr_number})"
    assert run_git(origin, "show", "main:greeting.py") + "\n" == GREETING_V3

    # The worktree is gone (directory and git's record), its branch is kept with the agent's commits.
    assert result.worktree_removed
    assert not Path(result.workspace_path).exists()
    worktrees = run_git(result.project_path, "worktree", "list", "--porcelain")
    assert result.workspace_path not in worktrees
    assert run_git(result.project_path, "log", "-3", "--format=%s", result.branch).splitlines() == [
        "review: type hints and an f-string",
        "fix: remove the unused import (lint)",
        "feat: greeting module (#1)",
    ]
    assert result.branch_kept
    assert result.final_status == SessionStatus.CLEANUP.value

    # ao's own record of the loop, in order, and the all-complete notification delivered.
    store = Store.open(result.state_dir)
    try:
        statuses = [t.new_status for t in store.list_transitions(result.session_id)]
        events = store.list_events(project_id=PROJECT, limit=1000)
    finally:
        store.close()
    expected = [
        SessionStatus.SPAWNING,
        SessionStatus.CI_FAILED,
        SessionStatus.CHANGES_REQUESTED,
        SessionStatus.MERGEABLE,
        SessionStatus.MERGED,
        SessionStatus.CLEANUP,
    ]
    remaining = iter(statuses)
    assert all(status in remaining for status in expected), statuses  # in this order
    types = [event.type for event, _ in events]
    assert types.count(EventType.CI_FIX_SENT) == 1
    assert types.count(EventType.REVIEW_COMMENTS_SENT) == 1
    assert types.count(EventType.MERGE_COMPLETED) == 1
    (summary, results) = next((e, r) for e, r in events if e.type is EventType.SUMMARY_ALL_COMPLETE)
    assert "1 PR(s) merged" in summary.message
    assert [(r.notifier, r.ok) for r in results] == [("demo", True)]
    assert result.all_complete_delivered
    assert [e.type for e in result.notifications][-1] is EventType.SUMMARY_ALL_COMPLETE


def test_ao_demo_says_what_is_missing_and_how_to_get_it(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"  # a PATH with git only: no tmux, no claude
    bin_dir.mkdir()
    (bin_dir / "git").symlink_to(require_executable("git"))
    env = {key: value for key, value in os.environ.items() if not key.startswith("AO_")}
    env["PATH"] = str(bin_dir)
    env["TMPDIR"] = str(tmp_path)  # where the demo's scratch directory would go
    done = subprocess.run(
        [sys.executable, "-m", "ao_core", "demo"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert "tmux is not on PATH: install it with 'apt-get install tmux'" in done.stderr
    assert "Claude Code ('claude') is not on PATH" in done.stderr
    assert "npm install --prefix ~/.ao-agents --no-audit --no-fund @anthropic-ai/claude-code@2.1.197" in done.stderr
    assert "git is not on PATH" not in done.stderr
    assert not any(tmp_path.glob("ao-demo-*"))  # nothing was started
