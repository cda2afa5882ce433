"""The tracker contract suite."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from ao_core.config._schema import ProjectConfig
from ao_core.errors import IssueNotFoundError
from ao_core.interfaces import (
    SupportsCreateIssue,
    SupportsIssueLabel,
    SupportsListIssues,
    SupportsUpdateIssue,
    Tracker,
)
from ao_core.models import CreateIssueInput, Issue, IssueFilters, IssueState, IssueUpdate

from ao_testing.contracts._checks import branch_name_problem
from ao_testing.contracts._common import unique_id

__all__ = ["TrackerContract"]


@pytest.mark.anyio
class TrackerContract:
    """What every tracker plugin must do. Subclass it in a ``Test*`` class and provide the fixtures.

    Fixtures the subclass provides (all required):

    - ``tracker``: the :class:`~ao_core.interfaces.Tracker` under test.
    - ``project``: the :class:`~ao_core.config.ProjectConfig` whose issues the tracker serves.
    - ``existing_issue_id``: the identifier of an issue that exists (open or closed).
    - ``missing_issue_id``: an identifier of the right form that names no issue.

    Checked: ``get_issue`` round-trips (fetching by the returned id gives the same issue); a missing
    issue raises ``IssueNotFoundError`` (from ``get_issue``); ``is_completed`` is a bool that agrees with
    the issue's state; ``issue_url`` is an http(s) URL; ``branch_name`` is a valid git branch name (the
    rules of ``git check-ref-format --branch``); ``generate_prompt`` mentions the title. When supported:
    ``issue_label`` is non-empty, ``list_issues`` honours the state filter and limit, ``create_issue``
    creates an issue that ``get_issue`` then finds, ``update_issue`` adds labels and comments.
    Creating and updating issues changes the backing system: point the fixtures at a fake.
    """

    async def test_name_is_set(self, tracker: Tracker) -> None:
        assert isinstance(tracker.name, str)
        assert tracker.name

    async def test_get_issue_round_trips(
        self, tracker: Tracker, project: ProjectConfig, existing_issue_id: str
    ) -> None:
        issue = await tracker.get_issue(existing_issue_id, project)
        assert isinstance(issue, Issue)
        assert issue.id
        assert issue.title
        again = await tracker.get_issue(issue.id, project)
        assert (again.id, again.title, again.url) == (issue.id, issue.title, issue.url)

    async def test_missing_issue_raises_issue_not_found(
        self, tracker: Tracker, project: ProjectConfig, missing_issue_id: str
    ) -> None:
        with pytest.raises(IssueNotFoundError) as caught:
            await tracker.get_issue(missing_issue_id, project)
        assert caught.value.identifier

    async def test_is_completed_agrees_with_the_state(
        self, tracker: Tracker, project: ProjectConfig, existing_issue_id: str
    ) -> None:
        completed = await tracker.is_completed(existing_issue_id, project)
        assert isinstance(completed, bool)
        issue = await tracker.get_issue(existing_issue_id, project)
        assert completed == (issue.state in (IssueState.CLOSED, IssueState.CANCELLED))

    async def test_issue_url_is_a_web_url(
        self, tracker: Tracker, project: ProjectConfig, existing_issue_id: str
    ) -> None:
        url = tracker.issue_url(existing_issue_id, project)
        parsed = urlparse(url)
        assert parsed.scheme in ("http", "https"), f"not a web URL: {url!r}"
        assert parsed.netloc

    async def test_branch_name_is_a_valid_git_branch(
        self, tracker: Tracker, project: ProjectConfig, existing_issue_id: str
    ) -> None:
        branch = tracker.branch_name(existing_issue_id, project)
        problem = branch_name_problem(branch)
        assert problem is None, f"branch name {branch!r} {problem}"

    async def test_generate_prompt_mentions_the_title(
        self, tracker: Tracker, project: ProjectConfig, existing_issue_id: str
    ) -> None:
        issue = await tracker.get_issue(existing_issue_id, project)
        prompt = await tracker.generate_prompt(existing_issue_id, project)
        assert isinstance(prompt, str)
        assert issue.title in prompt

    async def test_issue_label_when_supported(
        self, tracker: Tracker, project: ProjectConfig, existing_issue_id: str
    ) -> None:
        if not isinstance(tracker, SupportsIssueLabel):
            pytest.skip(f"tracker {tracker.name!r} does not implement SupportsIssueLabel")
        label = tracker.issue_label(tracker.issue_url(existing_issue_id, project), project)
        assert isinstance(label, str)
        assert label.strip()

    async def test_list_issues_when_supported(self, tracker: Tracker, project: ProjectConfig) -> None:
        if not isinstance(tracker, SupportsListIssues):
            pytest.skip(f"tracker {tracker.name!r} does not implement SupportsListIssues")
        open_issues = await tracker.list_issues(IssueFilters(state="open", limit=50), project)
        assert all(isinstance(issue, Issue) for issue in open_issues)
        assert all(issue.state in (IssueState.OPEN, IssueState.IN_PROGRESS) for issue in open_issues)
        closed = await tracker.list_issues(IssueFilters(state="closed", limit=50), project)
        assert all(issue.state in (IssueState.CLOSED, IssueState.CANCELLED) for issue in closed)
        assert len(await tracker.list_issues(IssueFilters(state="all", limit=1), project)) <= 1

    async def test_create_issue_when_supported(self, tracker: Tracker, project: ProjectConfig) -> None:
        if not isinstance(tracker, SupportsCreateIssue):
            pytest.skip(f"tracker {tracker.name!r} does not implement SupportsCreateIssue")
        title = f"Contract issue {unique_id()}"
        created = await tracker.create_issue(CreateIssueInput(title=title, description="made by a test"), project)
        assert created.title == title
        fetched = await tracker.get_issue(created.id, project)
        assert fetched.title == title
        assert await tracker.is_completed(created.id, project) is False

    async def test_update_issue_when_supported(
        self, tracker: Tracker, project: ProjectConfig, existing_issue_id: str
    ) -> None:
        if not isinstance(tracker, SupportsUpdateIssue):
            pytest.skip(f"tracker {tracker.name!r} does not implement SupportsUpdateIssue")
        label = "ao-contract"
        await tracker.update_issue(existing_issue_id, IssueUpdate(labels=[label], comment="from a test"), project)
        assert label in (await tracker.get_issue(existing_issue_id, project)).labels
        await tracker.update_issue(existing_issue_id, IssueUpdate(remove_labels=[label]), project)
        assert label not in (await tracker.get_issue(existing_issue_id, project)).labels
