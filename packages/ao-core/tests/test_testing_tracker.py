from __future__ import annotations

import pytest
from ao_core.config import ProjectConfig
from ao_core.errors import IssueNotFoundError, TrackerError
from ao_core.models import CreateIssueInput, IssueFilters, IssueState, IssueUpdate
from ao_core.testing import FakeTracker

pytestmark = pytest.mark.anyio

PROJECT = ProjectConfig(path="/repo", repo="acme/app")


@pytest.fixture
def tracker(fake_tracker: FakeTracker) -> FakeTracker:
    fake_tracker.add_issue("42", "Parser drops comments", description="Repro: ...", labels=["bug", "parser"])
    fake_tracker.add_issue("7", "Old thing", state=IssueState.CLOSED, assignee="ann")
    fake_tracker.add_issue("INT-3", "Linear style", branch_name="ann/int-3-linear-style")
    return fake_tracker


async def test_get_issue_by_number_or_hash(tracker: FakeTracker) -> None:
    issue = await tracker.get_issue("#42", PROJECT)
    assert (issue.id, issue.title, issue.url) == ("42", "Parser drops comments", tracker.issue_url("42", PROJECT))
    issue.title = "changed"
    assert (await tracker.get_issue("42", PROJECT)).title == "Parser drops comments"


async def test_unknown_issue_raises_issue_not_found(tracker: FakeTracker) -> None:
    with pytest.raises(IssueNotFoundError, match="issue '99' does not exist in fake tracker 'fake'") as caught:
        await tracker.get_issue("99", PROJECT)
    assert isinstance(caught.value, TrackerError)
    with pytest.raises(IssueNotFoundError):
        await tracker.is_completed("99", PROJECT)


async def test_completion_urls_labels_and_branches(tracker: FakeTracker) -> None:
    assert await tracker.is_completed("7", PROJECT) is True
    assert await tracker.is_completed("42", PROJECT) is False
    assert tracker.issue_url("42", PROJECT) == "https://tracker.example.test/issues/42"
    assert tracker.issue_label("https://tracker.example.test/issues/42", PROJECT) == "#42"
    assert tracker.branch_name("42", PROJECT) == "feat/issue-42"
    assert tracker.branch_name("INT-3", PROJECT) == "ann/int-3-linear-style"
    assert tracker.branch_name("a b/../c~x.lock", PROJECT) == "feat/issue-a-b-.-c-x"


async def test_generate_prompt(tracker: FakeTracker) -> None:
    prompt = await tracker.generate_prompt("42", PROJECT)
    assert prompt.splitlines() == [
        "Work on issue 42: Parser drops comments",
        "URL: https://tracker.example.test/issues/42",
        "Labels: bug, parser",
        "",
        "Repro: ...",
    ]


async def test_list_issues_filters(tracker: FakeTracker) -> None:
    assert [i.id for i in await tracker.list_issues(IssueFilters(), PROJECT)] == ["42", "INT-3"]
    assert [i.id for i in await tracker.list_issues(IssueFilters(state="closed"), PROJECT)] == ["7"]
    assert [i.id for i in await tracker.list_issues(IssueFilters(state="all", limit=2), PROJECT)] == ["7", "42"]
    assert [i.id for i in await tracker.list_issues(IssueFilters(labels=["bug", "parser"]), PROJECT)] == ["42"]
    assert [i.id for i in await tracker.list_issues(IssueFilters(state="all", assignee="ann"), PROJECT)] == ["7"]


async def test_update_and_create(tracker: FakeTracker) -> None:
    await tracker.update_issue(
        "42",
        IssueUpdate(
            state="in_progress", labels=["wip", "bug"], remove_labels=["parser"], assignee="bo", comment="on it"
        ),
        PROJECT,
    )
    issue = await tracker.get_issue("42", PROJECT)
    assert (issue.state, issue.labels, issue.assignee) == (IssueState.IN_PROGRESS, ["bug", "wip"], "bo")
    assert tracker.comments == {"42": ["on it"]}
    created = await tracker.create_issue(CreateIssueInput(title="New", labels=["x"]), PROJECT)
    assert (created.id, created.state, created.labels) == ("43", IssueState.OPEN, ["x"])
    tracker.set_state("43", IssueState.CANCELLED)
    assert await tracker.is_completed("43", PROJECT)
    assert tracker.calls["get_issue"] == 1
