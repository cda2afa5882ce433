from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from ao_core.config import ProjectConfig
from ao_core.errors import SCMError
from ao_core.models import (
    CheckStatus,
    CIStatus,
    MergeMethod,
    PRInfo,
    PRState,
    ReviewDecision,
    ReviewState,
    Session,
    WebhookRequest,
)
from ao_scm_github import GitHubSCMConfig, create
from ao_scm_github._scm import GitHubSCM
from ao_testing.fakes.github import FakeGitHub, WebhookDelivery

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.timeout(60)]

REPO = "octo/app"
OpenPR = Callable[..., PRInfo]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=30
    ).stdout.strip()


# --------------------------------------------------------------------------- finding pull requests


async def test_detect_pr_by_branch(scm: GitHubSCM, project: ProjectConfig, open_pr: OpenPR) -> None:
    pr = open_pr("feat/issue-7", draft=True, title="Fix it")
    found = await scm.detect_pr(Session(id="app-1", project_id="app", branch="feat/issue-7"), project)
    assert found == pr
    assert found is not None
    assert found.is_draft
    assert await scm.detect_pr(Session(id="app-2", project_id="app", branch="feat/other"), project) is None
    assert await scm.detect_pr(Session(id="app-3", project_id="app"), project) is None


async def test_detect_pr_sees_an_agents_push(
    github: FakeGitHub, scm: GitHubSCM, project: ProjectConfig, workspace: Path
) -> None:
    git(workspace, "checkout", "--quiet", "-b", "feat/issue-9")
    (workspace / "fix.py").write_text("FIXED = True\n")
    git(workspace, "add", "fix.py")
    git(workspace, "commit", "--quiet", "-m", "Fix")
    git(workspace, "push", "--quiet", "origin", "feat/issue-9")
    number = github.create_pr(REPO, "feat/issue-9")
    found = await scm.detect_pr(Session(id="app-1", project_id="app", branch="feat/issue-9"), project)
    assert found is not None
    assert found.number == number
    assert github.head_sha(REPO, number) == git(workspace, "rev-parse", "HEAD")


async def test_resolve_pr(github: FakeGitHub, scm: GitHubSCM, project: ProjectConfig, open_pr: OpenPR) -> None:
    pr = open_pr()
    assert await scm.resolve_pr(str(pr.number), project) == pr
    assert await scm.resolve_pr(f"#{pr.number}", project) == pr
    assert await scm.resolve_pr(f"{github.url}/{REPO}/pull/{pr.number}", project) == pr
    assert await scm.resolve_pr(f"https://github.com/{REPO}/pull/{pr.number}/files", project) == pr
    with pytest.raises(SCMError, match="not of octo/app"):
        await scm.resolve_pr(f"https://github.com/other/repo/pull/{pr.number}", project)
    with pytest.raises(SCMError, match="not a pull request number"):
        await scm.resolve_pr("feat/issue-1", project)
    with pytest.raises(SCMError, match=r"octo/app#999 does not exist|not found"):
        await scm.resolve_pr("999", project)


# --------------------------------------------------------------------------- state, summary, merge, close


async def test_state_and_summary(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr(files={"a.py": "one\ntwo\nthree\n", "app.py": "def main():\n    return 2\n"}, title="Three lines")
    summary = await scm.get_pr_summary(pr)
    assert (summary.state, summary.title, summary.additions, summary.deletions) == (PRState.OPEN, "Three lines", 4, 1)
    github.close_pr(REPO, pr.number)
    assert await scm.get_pr_state(pr) is PRState.CLOSED


@pytest.mark.parametrize("method", list(MergeMethod))
async def test_merge_really_merges_in_git(
    github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR, method: MergeMethod
) -> None:
    pr = open_pr(files={"merged.py": "MERGED = 1\n"})
    head = github.head_sha(REPO, pr.number)
    github.pass_ci(REPO, pr.number)
    github.approve(REPO, pr.number)
    await scm.merge_pr(pr, method)
    assert await scm.get_pr_state(pr) is PRState.MERGED
    git_repo = github.repo(REPO).git
    assert git_repo.out("show", "main:merged.py") == "MERGED = 1"
    parents = git_repo.out("log", "-1", "--format=%P", "main").split()
    assert len(parents) == (2 if method is MergeMethod.MERGE else 1)
    is_ancestor = git_repo.run("merge-base", "--is-ancestor", head, "main", check=False).returncode == 0
    assert is_ancestor is (method is MergeMethod.MERGE)
    assert git_repo.branch_sha(pr.branch) is None, "the head branch is deleted after the merge"


async def test_merge_keeps_the_branch_when_configured(
    github: FakeGitHub, config: GitHubSCMConfig, open_pr: OpenPR
) -> None:
    scm = create(config.model_copy(update={"delete_branch_on_merge": False}))
    pr = open_pr()
    github.approve(REPO, pr.number)
    await scm.merge_pr(pr)
    assert github.repo(REPO).git.branch_sha(pr.branch) is not None


async def test_merge_refusals_name_the_reason(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr()
    with pytest.raises(SCMError, match="approving review is required"):
        await scm.merge_pr(pr)
    github.request_changes(REPO, pr.number, [("app.py", 1, "no")])
    with pytest.raises(SCMError, match="Changes must be made"):
        await scm.merge_pr(pr)
    draft = open_pr(draft=True)
    github.approve(REPO, draft.number)
    with pytest.raises(SCMError, match="still a draft"):
        await scm.merge_pr(draft)


async def test_conflicts_block_the_merge(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr(files={"app.py": "def main():\n    return 'branch'\n"})
    github.commit(REPO, "main", {"app.py": "def main():\n    return 'main'\n"})
    github.approve(REPO, pr.number)
    readiness = await scm.get_mergeability(pr)
    assert readiness.no_conflicts is False
    assert "Merge conflicts" in readiness.blockers
    with pytest.raises(SCMError, match="not mergeable"):
        await scm.merge_pr(pr)


async def test_close_pr(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr()
    await scm.close_pr(pr)
    assert github.pr(REPO, pr.number).state == "closed"
    assert not github.pr(REPO, pr.number).merged


# --------------------------------------------------------------------------- CI


async def test_ci_checks_merge_check_runs_and_statuses(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr()
    github.set_check(REPO, pr.number, "lint", "completed", "success", "https://ci.example/lint")
    github.set_check(REPO, pr.number, "tests", "in_progress", None)
    github.set_check(REPO, pr.number, "docs", "queued", None)
    github.set_check(REPO, pr.number, "optional", "completed", "skipped")
    github.set_status(REPO, pr.number, "codecov/patch", "failure", "https://codecov.example/1")
    checks = {c.name: c for c in await scm.get_ci_checks(pr)}
    assert {name: c.status for name, c in checks.items()} == {
        "lint": CheckStatus.PASSED,
        "tests": CheckStatus.RUNNING,
        "docs": CheckStatus.PENDING,
        "optional": CheckStatus.SKIPPED,
        "codecov/patch": CheckStatus.FAILED,
    }
    assert checks["lint"].url == "https://ci.example/lint"
    assert checks["codecov/patch"].url == "https://codecov.example/1"
    assert checks["lint"].completed_at is not None


@pytest.mark.parametrize(
    ("checks", "expected"),
    [
        ([("a", "completed", "success"), ("b", "completed", "failure")], CIStatus.FAILING),
        ([("a", "completed", "success"), ("b", "in_progress", None)], CIStatus.PENDING),
        ([("a", "completed", "success"), ("b", "completed", "skipped")], CIStatus.PASSING),
        ([("a", "completed", "skipped")], CIStatus.NONE),
        ([], CIStatus.NONE),
        ([("a", "completed", "timed_out")], CIStatus.FAILING),
        ([("a", "completed", "neutral")], CIStatus.PASSING),
    ],
)
async def test_ci_summary_rules(
    github: FakeGitHub,
    scm: GitHubSCM,
    open_pr: OpenPR,
    checks: list[tuple[str, str, str | None]],
    expected: CIStatus,
) -> None:
    pr = open_pr()
    for name, status, conclusion in checks:
        github.set_check(REPO, pr.number, name, status, conclusion)
    assert await scm.get_ci_summary(pr) is expected


async def test_ci_summary_fails_closed(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr()
    github.pass_ci(REPO, pr.number)
    github.fail_next(1, path=r"/check-runs$")
    assert await scm.get_ci_summary(pr) is CIStatus.FAILING, "unreadable checks of an open PR count as failing"
    assert await scm.get_ci_summary(pr) is CIStatus.PASSING
    github.approve(REPO, pr.number)
    github.merge(REPO, pr.number)
    github.fail_next(1, path=r"/check-runs$")
    assert await scm.get_ci_summary(pr) is CIStatus.NONE, "a merged PR has no CI worth failing"


# --------------------------------------------------------------------------- reviews


async def test_reviews_and_decision(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr()
    assert await scm.get_review_decision(pr) is ReviewDecision.PENDING
    github.comment(REPO, pr.number, "Looks interesting", path="app.py", line=1)
    github.request_changes(REPO, pr.number, [("app.py", 2, "Return 2")], reviewer="alice")
    assert await scm.get_review_decision(pr) is ReviewDecision.CHANGES_REQUESTED
    github.approve(REPO, pr.number, reviewer="alice", body="Thanks")
    assert await scm.get_review_decision(pr) is ReviewDecision.APPROVED
    reviews = await scm.get_reviews(pr)
    assert [(r.author, r.state) for r in reviews] == [
        ("octo-reviewer", ReviewState.COMMENTED),
        ("alice", ReviewState.CHANGES_REQUESTED),
        ("alice", ReviewState.APPROVED),
    ]
    assert reviews[2].body == "Thanks"
    assert reviews[2].submitted_at is not None


async def test_no_required_review_means_decision_none(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    github.create_repo("octo/free", required_approvals=0)
    pr = open_pr(repo="octo/free")
    assert await scm.get_review_decision(pr) is ReviewDecision.NONE
    readiness = await scm.get_mergeability(pr)
    assert readiness.mergeable is True, readiness.blockers


async def test_pending_and_automated_comments(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr()
    github.request_changes(REPO, pr.number, [("app.py", 1, "Rename main"), ("app.py", 2, "Return 2")])
    github.add_bot_comment(REPO, pr.number, "app.py", 2, "Potential bug: unchecked value", bot="cursor[bot]")
    github.add_bot_comment(REPO, pr.number, "README.md", 1, "Coverage fell", bot="codecov[bot]")
    github.resolve_thread(REPO, pr.number, 1)
    github.resolve_thread(REPO, pr.number, 3)

    pending = await scm.get_pending_comments(pr)
    assert [(c.author, c.body, c.path, c.line, c.is_bot) for c in pending] == [
        ("octo-reviewer", "Rename main", "app.py", 1, False)
    ]
    assert pending[0].thread_id == github.threads(REPO, pr.number)[0].node_id
    assert pending[0].url.startswith(f"{github.url}/{REPO}/pull/{pr.number}#discussion_r")

    automated = await scm.get_automated_comments(pr)
    assert [(c.bot_name, c.body, c.path, c.line, c.severity) for c in automated] == [
        ("cursor[bot]", "Potential bug: unchecked value", "app.py", 2, "error")
    ]

    threads = await scm.get_review_threads(pr)
    assert [(t.author, t.is_bot) for t in threads.threads] == [("octo-reviewer", False), ("cursor[bot]", True)]
    assert [(r.author, r.body) for r in threads.reviews] == [("octo-reviewer", "Please address the comments.")]


def thread_requests(github: FakeGitHub) -> list[tuple[str, str, int, int, bool]]:
    """The logged requests as ``(method, path?query, status, cost, conditional)``, REST sorted by target."""
    return sorted((r.method, r.target, r.status, r.cost, r.conditional) for r in github.requests)


async def test_unchanged_review_threads_cost_nothing(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr()
    github.request_changes(REPO, pr.number, [("app.py", 1, "Rename main")])
    base = f"/repos/{REPO}/pulls/{pr.number}"

    github.clear_requests()
    first = await scm.get_review_threads(pr)
    assert [t.body for t in first.threads] == ["Rename main"]
    cold = thread_requests(github)
    assert [(method, target, status, conditional) for method, target, status, _, conditional in cold] == [
        ("GET", f"{base}/comments?per_page=100", 200, False),
        ("GET", f"{base}/reviews?per_page=100", 200, False),
        ("POST", "/graphql", 200, False),
    ]

    github.clear_requests()
    second = await scm.get_review_threads(pr)
    assert second == first
    assert thread_requests(github) == [
        ("GET", f"{base}/comments?per_page=100", 304, 0, True),
        ("GET", f"{base}/reviews?per_page=100", 304, 0, True),
    ]


async def test_new_review_comments_and_reviews_are_seen(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr()
    github.request_changes(REPO, pr.number, [("app.py", 1, "Rename main")])
    await scm.get_review_threads(pr)

    github.comment(REPO, pr.number, "Return 2 here", path="app.py", line=2)
    github.clear_requests()
    threads = await scm.get_review_threads(pr)
    assert [t.body for t in threads.threads] == ["Rename main", "Return 2 here"]
    assert sum(1 for r in github.requests if r.path == "/graphql") == 1

    github.approve(REPO, pr.number, body="Looks good now")  # moves only the reviews list
    threads = await scm.get_review_threads(pr)
    assert ("octo-reviewer", "Looks good now") in [(r.author, r.body) for r in threads.reviews]

    github.clear_requests()
    assert await scm.get_review_threads(pr) == threads
    assert {r.status for r in github.requests} == {304}


async def test_review_webhook_drops_cached_threads(
    github: FakeGitHub,
    scm: GitHubSCM,
    open_pr: OpenPR,
    project: ProjectConfig,
    as_request: Callable[[WebhookDelivery], WebhookRequest],
) -> None:
    pr = open_pr()
    other = open_pr()
    github.request_changes(REPO, pr.number, [("app.py", 1, "Rename main")])
    github.request_changes(REPO, other.number, [("app.py", 1, "Elsewhere")])
    assert len((await scm.get_review_threads(pr)).threads) == 1
    await scm.get_review_threads(other)

    # resolving a thread moves neither guarded list: the known limitation, until a webhook says so
    github.resolve_thread(REPO, pr.number, 0)
    assert len((await scm.get_review_threads(pr)).threads) == 1

    event = await scm.parse_webhook(as_request(github.webhook("pull_request_review", REPO, number=pr.number)), project)
    assert event is not None
    github.clear_requests()
    assert (await scm.get_review_threads(pr)).threads == []
    assert sum(1 for r in github.requests if r.path == "/graphql") == 1

    github.clear_requests()
    assert [t.body for t in (await scm.get_review_threads(other)).threads] == ["Elsewhere"]
    assert {r.status for r in github.requests} == {304}  # another pull request's cache is kept


# --------------------------------------------------------------------------- mergeability


async def test_mergeability_blockers(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr()
    github.fail_ci(REPO, pr.number)
    readiness = await scm.get_mergeability(pr)
    assert readiness.blockers == ["CI is failing", "Review required", "Merge is blocked by branch protection"]
    assert (readiness.mergeable, readiness.ci_passing, readiness.approved, readiness.no_conflicts) == (
        False,
        False,
        False,
        True,
    )
    github.pass_ci(REPO, pr.number)
    github.approve(REPO, pr.number)
    assert (await scm.get_mergeability(pr)).blockers == []
    github.commit(REPO, "main", {"other.py": "OTHER = 1\n"})
    assert (await scm.get_mergeability(pr)).blockers == ["Branch is behind base branch"]
    github.mergeability_computing(REPO, pr.number)
    assert "Merge status unknown (GitHub is computing)" in (await scm.get_mergeability(pr)).blockers
    draft = open_pr(draft=True)
    assert "PR is still a draft" in (await scm.get_mergeability(draft)).blockers


async def test_merged_pr_is_ready_by_definition(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr()
    github.merge(REPO, pr.number, force=True)
    readiness = await scm.get_mergeability(pr)
    assert readiness.mergeable
    assert readiness.blockers == []


# --------------------------------------------------------------------------- claiming


async def test_checkout_pr(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR, workspace: Path) -> None:
    pr = open_pr("feat/claimed", files={"claimed.py": "CLAIMED = 1\n"})
    assert await scm.checkout_pr(pr, str(workspace)) is True
    assert git(workspace, "branch", "--show-current") == "feat/claimed"
    assert (workspace / "claimed.py").read_text() == "CLAIMED = 1\n"
    assert await scm.checkout_pr(pr, str(workspace)) is False, "already on the branch"

    github.commit(REPO, "feat/claimed", {"claimed.py": "CLAIMED = 2\n"})
    git(workspace, "checkout", "--quiet", "main")
    assert await scm.checkout_pr(pr, str(workspace)) is True
    assert (workspace / "claimed.py").read_text() == "CLAIMED = 2\n", "an existing branch is fast-forwarded"


async def test_checkout_refuses_a_dirty_workspace(scm: GitHubSCM, open_pr: OpenPR, workspace: Path) -> None:
    pr = open_pr()
    (workspace / "app.py").write_text("uncommitted\n")
    with pytest.raises(SCMError, match="uncommitted changes"):
        await scm.checkout_pr(pr, str(workspace))
    assert git(workspace, "branch", "--show-current") == "main"


async def test_checkout_of_a_pr_whose_branch_is_gone(
    github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR, workspace: Path
) -> None:
    pr = open_pr("feat/fork-like", files={"fork.py": "FORK = 1\n"})
    github.repo(REPO).git.delete_branch("feat/fork-like")
    assert await scm.checkout_pr(pr, str(workspace)) is True
    assert (workspace / "fork.py").read_text() == "FORK = 1\n", "fetched from refs/pull/<n>/head"


async def test_checkout_refuses_a_hostile_branch_name(scm: GitHubSCM, open_pr: OpenPR, workspace: Path) -> None:
    pr = open_pr().model_copy(update={"branch": "--upload-pack=touch /tmp/pwned"})
    with pytest.raises(SCMError, match="branch name git refuses"):
        await scm.checkout_pr(pr, str(workspace))


async def test_assign_to_current_user(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr()
    await scm.assign_pr_to_current_user(pr)
    assert github.issue(REPO, pr.number).assignees == ["ao-user"]


# --------------------------------------------------------------------------- bad input


async def test_invisible_repository_names_repo_and_key(github: FakeGitHub, scm: GitHubSCM, tmp_path: Path) -> None:
    github.create_repo("acme/secret", private=True)
    project = ProjectConfig(name="secret-app", path=str(tmp_path), repo="acme/secret")
    with pytest.raises(SCMError) as caught:
        await scm.detect_pr(Session(id="s-1", project_id="secret-app", branch="feat/x"), project)
    assert "acme/secret" in str(caught.value)
    assert "projects.secret-app.repo" in str(caught.value)


@pytest.mark.parametrize("repo", [None, "octo/app/extra", "../app", "octo/.."])
async def test_malformed_repo_names_the_key(scm: GitHubSCM, tmp_path: Path, repo: str | None) -> None:
    project = ProjectConfig.model_construct(name="app", path=str(tmp_path), repo=repo)
    with pytest.raises(SCMError, match=r"projects\.app\.repo"):
        await scm.detect_pr(Session(id="s-1", project_id="app", branch="feat/x"), project)


async def test_missing_pr_is_named(scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr().model_copy(update={"number": 4040})
    with pytest.raises(SCMError, match=r"octo/app#4040 does not exist"):
        await scm.get_pr_state(pr)
    with pytest.raises(SCMError, match=r"octo/app#4040 does not exist"):
        await scm.get_review_decision(pr)


async def test_bad_token_is_named_but_never_printed(
    github: FakeGitHub, open_pr: OpenPR, monkeypatch: pytest.MonkeyPatch
) -> None:
    pr = open_pr()
    secret = "ghp_this_must_never_be_printed_0123456789"
    monkeypatch.setenv("AO_TEST_BAD_TOKEN", secret)
    scm = create(GitHubSCMConfig(base_url=github.url, token_env="AO_TEST_BAD_TOKEN"))
    for call in (scm.get_pr_state(pr), scm.get_review_decision(pr)):
        with pytest.raises(SCMError, match="rejected the token from AO_TEST_BAD_TOKEN") as caught:
            await call
        chain: BaseException | None = caught.value
        while chain is not None:
            assert secret not in str(chain)
            chain = chain.__cause__
    snapshots = create(GitHubSCMConfig(base_url=github.url, token_env="AO_TEST_BAD_TOKEN"))
    assert isinstance(snapshots, GitHubSCM)
    assert await snapshots.get_pr_snapshots([pr]) == {}, "a poll with a bad token reads nothing"
