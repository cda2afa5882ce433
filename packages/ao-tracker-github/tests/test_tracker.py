from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import anyio
import pytest
from ao_core.config import ProjectConfig
from ao_core.errors import IssueNotFoundError, RateLimitedError, TrackerError
from ao_core.models import CreateIssueInput, IssueFilters, IssueState, IssueUpdate
from ao_testing.fakes.github import FakeGitHub
from ao_tracker_github import GitHubTrackerConfig, create
from ao_tracker_github._tracker import GitHubTracker

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.timeout(60)]

REPO = "octo/app"


def issue_requests(github: FakeGitHub, number: int) -> int:
    return sum(1 for r in github.requests if r.path == f"/repos/{REPO}/issues/{number}" and r.method == "GET")


# --------------------------------------------------------------------------- reading


async def test_get_issue_maps_every_field(github: FakeGitHub, tracker: GitHubTracker, project: ProjectConfig) -> None:
    number = github.create_issue(REPO, "Crash on empty input", "Run it without input.", labels=["bug", "p1"])
    github.issue(REPO, number).assignees.append("alice")
    issue = await tracker.get_issue(str(number), project)
    assert issue.id == str(number)
    assert issue.title == "Crash on empty input"
    assert issue.description == "Run it without input."
    assert issue.labels == ["bug", "p1"]
    assert issue.assignee == "alice"
    assert issue.state is IssueState.OPEN
    assert issue.url == f"{github.url}/{REPO}/issues/{number}"


async def test_hash_form_is_accepted(github: FakeGitHub, tracker: GitHubTracker, project: ProjectConfig) -> None:
    number = github.create_issue(REPO, "Title")
    assert (await tracker.get_issue(f"#{number}", project)).id == str(number)
    assert tracker.branch_name(f"#{number}", project) == f"feat/issue-{number}"
    assert tracker.branch_name(str(number), project) == f"feat/issue-{number}"


@pytest.mark.parametrize("bad", ["abc", "42; rm -rf /", "0", "-1", "42/../x", "", "#", "feat/issue-1", "1 2"])
async def test_anything_but_a_number_is_refused(tracker: GitHubTracker, project: ProjectConfig, bad: str) -> None:
    with pytest.raises(TrackerError, match="not a GitHub issue number"):
        tracker.branch_name(bad, project)
    with pytest.raises(TrackerError, match="not a GitHub issue number"):
        await tracker.get_issue(bad, project)


@pytest.mark.parametrize(
    ("reason", "expected", "completed"),
    [("completed", IssueState.CLOSED, True), ("not_planned", IssueState.CANCELLED, True)],
)
async def test_closed_and_not_planned(
    github: FakeGitHub,
    tracker: GitHubTracker,
    project: ProjectConfig,
    reason: str,
    expected: IssueState,
    completed: bool,
) -> None:
    number = github.create_issue(REPO, "Old")
    github.set_issue_state(REPO, number, "closed", reason)
    assert (await tracker.get_issue(str(number), project)).state is expected
    assert await tracker.is_completed(str(number), project) is completed


async def test_open_issue_is_not_completed(github: FakeGitHub, tracker: GitHubTracker, project: ProjectConfig) -> None:
    number = github.create_issue(REPO, "Open")
    assert await tracker.is_completed(str(number), project) is False


async def test_urls_and_labels(github: FakeGitHub, tracker: GitHubTracker, project: ProjectConfig) -> None:
    url = tracker.issue_url("#7", project)
    assert url == f"{github.url}/{REPO}/issues/7"
    assert tracker.issue_label(url, project) == "#7"
    assert tracker.issue_label(f"{github.url}/{REPO}/pull/12", project) == "#12"
    assert tracker.issue_label("not a url", project) == "not a url"


def test_issue_url_of_github_com_and_enterprise(project: ProjectConfig) -> None:
    public = create(GitHubTrackerConfig())
    assert public.issue_url("3", project) == "https://github.com/octo/app/issues/3"
    enterprise = create(GitHubTrackerConfig(base_url="https://ghe.example.com/api/v3"))
    assert enterprise.issue_url("3", project) == "https://ghe.example.com/octo/app/issues/3"


async def test_prompt_is_complete(github: FakeGitHub, tracker: GitHubTracker, project: ProjectConfig) -> None:
    number = github.create_issue(REPO, "Add dark mode", "Use the system setting.", labels=["feature", "ui"])
    prompt = await tracker.generate_prompt(str(number), project)
    assert f"GitHub issue #{number}: Add dark mode" in prompt
    assert f"{github.url}/{REPO}/issues/{number}" in prompt
    assert "Labels: feature, ui" in prompt
    assert "## Description" in prompt
    assert "Use the system setting." in prompt
    assert "complete context" in prompt


async def test_prompt_without_description(github: FakeGitHub, tracker: GitHubTracker, project: ProjectConfig) -> None:
    number = github.create_issue(REPO, "Just a title")
    prompt = await tracker.generate_prompt(str(number), project)
    assert "no description" in prompt
    assert "Labels:" not in prompt


async def test_list_issues_filters(github: FakeGitHub, tracker: GitHubTracker, project: ProjectConfig) -> None:
    bug = github.create_issue(REPO, "Bug", labels=["bug"], assignees=["alice"])
    both = github.create_issue(REPO, "Bug and UI", labels=["bug", "ui"])
    closed = github.create_issue(REPO, "Closed bug", labels=["bug"])
    github.set_issue_state(REPO, closed, "closed")
    github.commit(REPO, "feat/x", {"x.py": "x = 1\n"})
    pull = github.create_pr(REPO, "feat/x")

    open_ids = {i.id for i in await tracker.list_issues(IssueFilters(state="open"), project)}
    assert open_ids == {str(bug), str(both)}, "pull requests are not issues"
    closed_ids = {i.id for i in await tracker.list_issues(IssueFilters(state="closed"), project)}
    assert closed_ids == {str(closed)}
    all_ids = {i.id for i in await tracker.list_issues(IssueFilters(state="all"), project)}
    assert all_ids == {str(bug), str(both), str(closed)}
    assert str(pull) not in all_ids
    labelled = await tracker.list_issues(IssueFilters(labels=["bug", "ui"]), project)
    assert [i.id for i in labelled] == [str(both)]
    assigned = await tracker.list_issues(IssueFilters(assignee="alice"), project)
    assert [i.id for i in assigned] == [str(bug)]
    assert len(await tracker.list_issues(IssueFilters(state="all", limit=1), project)) == 1


async def test_list_issues_follows_pages(github: FakeGitHub, tracker: GitHubTracker, project: ProjectConfig) -> None:
    for n in range(130):
        github.create_issue(REPO, f"Issue {n}")
    github.clear_requests()
    issues = await tracker.list_issues(IssueFilters(limit=120), project)
    assert len(issues) == 120
    assert len({i.id for i in issues}) == 120
    pages = [r for r in github.requests if r.path == f"/repos/{REPO}/issues"]
    assert len(pages) == 2, [r.target for r in pages]
    assert "page=2" in pages[1].query


# --------------------------------------------------------------------------- writing


async def test_update_issue(github: FakeGitHub, tracker: GitHubTracker, project: ProjectConfig) -> None:
    number = github.create_issue(REPO, "Work", labels=["triage"])
    await tracker.update_issue(
        str(number),
        IssueUpdate(labels=["agent"], remove_labels=["triage", "absent"], assignee="bob", comment="Working on it"),
        project,
    )
    stored = github.issue(REPO, number)
    assert stored.labels == ["agent"]
    assert stored.assignees == ["bob"]
    assert [c.body for c in stored.comments] == ["Working on it"]

    await tracker.update_issue(str(number), IssueUpdate(state="closed"), project)
    assert (stored.state, stored.state_reason) == ("closed", "completed")
    assert (await tracker.get_issue(str(number), project)).state is IssueState.CLOSED
    await tracker.update_issue(str(number), IssueUpdate(state="open"), project)
    assert (await tracker.get_issue(str(number), project)).state is IssueState.OPEN
    await tracker.update_issue(str(number), IssueUpdate(state="in_progress"), project)
    assert stored.state == "open"


async def test_update_missing_issue(github: FakeGitHub, tracker: GitHubTracker, project: ProjectConfig) -> None:
    with pytest.raises(IssueNotFoundError, match="'999' does not exist in GitHub repository octo/app"):
        await tracker.update_issue("999", IssueUpdate(comment="hello"), project)


async def test_create_issue(github: FakeGitHub, tracker: GitHubTracker, project: ProjectConfig) -> None:
    created = await tracker.create_issue(
        CreateIssueInput(title="New", description="Body", labels=["bug"], assignee="carol", priority=1), project
    )
    stored = github.issue(REPO, int(created.id))
    assert (stored.title, stored.body, stored.labels, stored.assignees) == ("New", "Body", ["bug"], ["carol"])
    assert created.url == f"{github.url}/{REPO}/issues/{created.id}"
    github.clear_requests()
    assert (await tracker.get_issue(created.id, project)).title == "New"
    assert issue_requests(github, int(created.id)) == 0, "a created issue is cached"


# --------------------------------------------------------------------------- the cache


async def test_concurrent_reads_share_one_request(
    github: FakeGitHub, tracker: GitHubTracker, project: ProjectConfig
) -> None:
    number = github.create_issue(REPO, "Shared")
    github.latency = 0.2
    github.clear_requests()
    results = []

    async def read() -> None:
        results.append(await tracker.get_issue(str(number), project))

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(read)
    assert len(results) == 5
    assert issue_requests(github, number) == 1
    await tracker.get_issue(f"#{number}", project)
    assert issue_requests(github, number) == 1, "a fresh entry is served from the cache"


async def test_cache_expires(github: FakeGitHub, config: GitHubTrackerConfig, project: ProjectConfig) -> None:
    tracker = create(config.model_copy(update={"cache_ttl_seconds": 0.0}))
    number = github.create_issue(REPO, "Fresh")
    github.clear_requests()
    await tracker.get_issue(str(number), project)
    github.issue(REPO, number).title = "Renamed"
    assert (await tracker.get_issue(str(number), project)).title == "Renamed"
    assert issue_requests(github, number) == 2


async def test_failed_fetch_is_not_cached(github: FakeGitHub, tracker: GitHubTracker, project: ProjectConfig) -> None:
    number = github.create_issue(REPO, "Flaky")
    github.fail_next(1, path=f"/issues/{number}$")
    with pytest.raises(TrackerError, match="Server Error"):
        await tracker.get_issue(str(number), project)
    assert (await tracker.get_issue(str(number), project)).title == "Flaky"


# --------------------------------------------------------------------------- bad input and failures


async def test_missing_issue_names_issue_and_repo(
    github: FakeGitHub, tracker: GitHubTracker, project: ProjectConfig
) -> None:
    with pytest.raises(IssueNotFoundError) as caught:
        await tracker.get_issue("#404", project)
    assert caught.value.identifier == "#404"
    assert "octo/app" in str(caught.value)


async def test_pull_request_is_not_an_issue(github: FakeGitHub, tracker: GitHubTracker, project: ProjectConfig) -> None:
    github.commit(REPO, "feat/y", {"y.py": "y = 1\n"})
    number = github.create_pr(REPO, "feat/y")
    with pytest.raises(TrackerError, match="is a pull request"):
        await tracker.get_issue(str(number), project)


async def test_invisible_repository_names_repo_and_key(
    github: FakeGitHub, tracker: GitHubTracker, tmp_path: Path
) -> None:
    github.create_repo("acme/secret", private=True, collaborators=["someone-else"])
    github.create_issue("acme/secret", "Hidden")
    project = ProjectConfig(name="secret-app", path=str(tmp_path), repo="acme/secret")
    with pytest.raises(TrackerError) as caught:
        await tracker.get_issue("1", project)
    assert not isinstance(caught.value, IssueNotFoundError)
    message = str(caught.value)
    assert "acme/secret" in message
    assert "projects.secret-app.repo" in message


@pytest.mark.parametrize("repo", [None, "octo/app/extra", "../app", "octo/.."])
async def test_malformed_repo_names_the_key(tracker: GitHubTracker, tmp_path: Path, repo: str | None) -> None:
    project = ProjectConfig.model_construct(name="app", path=str(tmp_path), repo=repo)
    with pytest.raises(TrackerError, match=r"projects\.app\.repo"):
        await tracker.get_issue("1", project)
    with pytest.raises(TrackerError, match=r"projects\.app\.repo"):
        tracker.issue_url("1", project)


async def test_no_token_says_how_to_provide_one(
    github: FakeGitHub, project: ProjectConfig, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("AO_TEST_NO_TOKEN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no `gh` to ask either
    tracker = create(GitHubTrackerConfig(base_url=github.url, token_env="AO_TEST_NO_TOKEN"))
    with pytest.raises(TrackerError, match="set the environment variable AO_TEST_NO_TOKEN") as caught:
        await tracker.get_issue("1", project)
    assert "gh auth login" in str(caught.value)


async def test_bad_token_is_not_printed(
    github: FakeGitHub, project: ProjectConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "ghp_this_must_never_be_printed_0123456789"
    monkeypatch.setenv("AO_TEST_BAD_TOKEN", secret)
    tracker = create(GitHubTrackerConfig(base_url=github.url, token_env="AO_TEST_BAD_TOKEN"))
    with pytest.raises(TrackerError) as caught:
        await tracker.get_issue("1", project)
    assert "rejected the token from AO_TEST_BAD_TOKEN" in str(caught.value)
    chain: BaseException | None = caught.value
    while chain is not None:
        assert secret not in str(chain)
        chain = chain.__cause__
    assert secret not in os.environ.get("AO_TEST_GITHUB_TOKEN", "")


async def test_rate_limit_says_when_it_resets(
    github: FakeGitHub, tracker: GitHubTracker, project: ProjectConfig
) -> None:
    number = github.create_issue(REPO, "Limited")
    github.rate_limit_next(1, reset_in=120)
    with pytest.raises(RateLimitedError, match=r"rate limit exhausted.*resets at") as caught:
        await tracker.get_issue(str(number), project)
    assert isinstance(caught.value, TrackerError), "callers of a tracker catch their slot's error"
    assert caught.value.reset_at is not None
    assert 60 < (caught.value.reset_at - datetime.now(UTC)).total_seconds() <= 121
    assert (await tracker.get_issue(str(number), project)).title == "Limited", "recovers once the limit clears"


async def test_secondary_rate_limit_carries_retry_after(
    github: FakeGitHub, tracker: GitHubTracker, project: ProjectConfig
) -> None:
    number = github.create_issue(REPO, "Throttled")
    github.throttle_next(1, retry_after=30)
    with pytest.raises(RateLimitedError) as caught:
        await tracker.get_issue(str(number), project)
    assert caught.value.reset_at is not None
    assert 25 <= (caught.value.reset_at - datetime.now(UTC)).total_seconds() <= 31
    assert (await tracker.get_issue(str(number), project)).title == "Throttled"


async def test_token_from_gh_auth_token(
    github: FakeGitHub, project: ProjectConfig, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # `gh` is replaced at the process boundary by a script that answers like `gh auth token` does
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    host = github.url.removeprefix("http://")
    script = bin_dir / "gh"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1 $2 $3 $4" = "auth token --hostname {host}" ]; then echo {github.default_token}; exit 0; fi\n'
        "exit 1\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("AO_TEST_NO_TOKEN", raising=False)
    tracker = create(GitHubTrackerConfig(base_url=github.url, token_env="AO_TEST_NO_TOKEN"))
    number = github.create_issue(REPO, "Via gh")
    assert (await tracker.get_issue(str(number), project)).title == "Via gh"
