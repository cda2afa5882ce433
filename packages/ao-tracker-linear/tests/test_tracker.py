"""Every method of the Linear tracker against the fake Linear, over real HTTP."""

from __future__ import annotations

import pytest
from ao_core.config import ProjectConfig
from ao_core.errors import TrackerError
from ao_core.models import CreateIssueInput, IssueFilters, IssueState, IssueUpdate
from ao_testing.contracts import is_valid_branch_name
from ao_testing.fakes.linear import FakeLinear
from ao_tracker_linear import LinearTracker, LinearTrackerConfig

pytestmark = pytest.mark.anyio


# ---------------------------------------------------------------------- get_issue


async def test_get_issue_maps_every_field(tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear) -> None:
    issue = await tracker.get_issue("INT-100", project)
    assert issue.id == "INT-100"
    assert issue.title == "Fix login timeout"
    assert issue.description == "Users are logged out after 5 minutes.\n\nExpected: 30 minutes."
    assert issue.url == "https://linear.app/acme/issue/INT-100/fix-login-timeout"
    assert issue.state is IssueState.OPEN
    assert issue.labels == ["bug", "backend"]
    assert issue.assignee == "bob"
    assert issue.priority == 2
    assert issue.branch_name == "alice/int-100-fix-login-timeout"
    (request,) = linear.requests
    assert (request.operation, request.kind, request.fields, request.user) == ("AoIssue", "query", ("issue",), "alice")
    assert request.variables == {"id": "INT-100"}


@pytest.mark.parametrize("spelling", ["int-100", " INT-100 ", "Int-100"])
async def test_identifiers_are_normalized(tracker: LinearTracker, project: ProjectConfig, spelling: str) -> None:
    assert (await tracker.get_issue(spelling, project)).id == "INT-100"


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("Backlog", IssueState.OPEN),
        ("Todo", IssueState.OPEN),
        ("Triage", IssueState.OPEN),
        ("In Progress", IssueState.IN_PROGRESS),
        ("In Review", IssueState.IN_PROGRESS),
        ("Done", IssueState.CLOSED),
        ("Canceled", IssueState.CANCELLED),
        ("Duplicate", IssueState.CANCELLED),
    ],
)
async def test_state_types_map_to_ao_states(
    linear: FakeLinear, config: LinearTrackerConfig, project: ProjectConfig, state: str, expected: IssueState
) -> None:
    linear.add_state("INT", "Triage", "triage")
    linear.move_issue("INT-100", state)
    tracker = LinearTracker(config)
    assert (await tracker.get_issue("INT-100", project)).state is expected
    assert await tracker.is_completed("INT-100", project) is (expected in (IssueState.CLOSED, IssueState.CANCELLED))


async def test_an_issue_without_description_assignee_or_labels(tracker: LinearTracker, project: ProjectConfig) -> None:
    issue = await tracker.get_issue("INT-101", project)
    assert (issue.description, issue.assignee, issue.labels, issue.priority) == ("", None, [], 3)


# ---------------------------------------------------------------------- urls, labels, branches


def test_issue_url_with_and_without_workspace_slug(
    tracker: LinearTracker, project: ProjectConfig, config: LinearTrackerConfig
) -> None:
    assert tracker.issue_url("int-100", project) == "https://linear.app/acme/issue/INT-100"
    bare = LinearTracker(config.model_copy(update={"workspace_slug": None}))
    assert bare.issue_url("INT-100", project) == "https://linear.app/issue/INT-100"


@pytest.mark.parametrize(
    "url",
    [
        "https://linear.app/acme/issue/INT-100/fix-login-timeout",
        "https://linear.app/acme/issue/int-100",
        "https://linear.app/issue/INT-100",
        "https://linear.app/acme/issue/INT-100/fix?x=1",
        "INT-100",
    ],
)
def test_issue_label_is_the_identifier(tracker: LinearTracker, project: ProjectConfig, url: str) -> None:
    assert tracker.issue_label(url, project) == "INT-100"


@pytest.mark.parametrize("url", ["https://github.com/acme/app/issues/4", "https://linear.app/acme/team/INT", ""])
def test_issue_label_of_something_else_is_an_error(tracker: LinearTracker, project: ProjectConfig, url: str) -> None:
    with pytest.raises(TrackerError, match="not a Linear issue URL"):
        tracker.issue_label(url, project)


async def test_branch_name_is_linears_once_fetched(
    tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear
) -> None:
    assert tracker.branch_name("INT-100", project) == "feat/INT-100"
    assert linear.requests == []  # branch_name never calls the API
    await tracker.get_issue("INT-100", project)
    assert tracker.branch_name("int-100", project) == "alice/int-100-fix-login-timeout"


async def test_branch_names_of_hostile_titles_are_valid(
    tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear
) -> None:
    fake = linear.create_issue("INT", "Fix: `rm -rf /`; $(touch x) ../../etc/passwd ~^:?*[\\ .lock Ünïcødé ✓")
    issue = await tracker.get_issue(fake.identifier, project)
    assert issue.branch_name is not None
    assert is_valid_branch_name(issue.branch_name)
    assert is_valid_branch_name(tracker.branch_name(fake.identifier, project))
    assert is_valid_branch_name(tracker.branch_name("INT-77777", project))


async def test_a_branch_name_linear_gives_that_git_refuses_is_dropped(
    tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(linear, "branch_name", lambda issue, viewer=None: "alice/../evil branch")
    issue = await tracker.get_issue("INT-100", project)
    assert issue.branch_name is None
    assert tracker.branch_name("INT-100", project) == "feat/INT-100"


# ---------------------------------------------------------------------- prompt


async def test_generate_prompt_has_title_priority_labels_url_and_description(
    tracker: LinearTracker, project: ProjectConfig
) -> None:
    prompt = await tracker.generate_prompt("INT-100", project)
    assert prompt.splitlines()[0] == "You are working on Linear issue INT-100: Fix login timeout"
    assert "Issue URL: https://linear.app/acme/issue/INT-100/fix-login-timeout" in prompt
    assert "Priority: High" in prompt
    assert "Labels: bug, backend" in prompt
    assert "## Description\n\nUsers are logged out after 5 minutes.\n\nExpected: 30 minutes." in prompt


@pytest.mark.parametrize(
    ("priority", "name"), [(0, "No priority"), (1, "Urgent"), (2, "High"), (3, "Normal"), (4, "Low")]
)
async def test_prompt_priority_names(
    tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear, priority: int, name: str
) -> None:
    fake = linear.create_issue("INT", f"Priority {priority}", priority=priority)
    prompt = await tracker.generate_prompt(fake.identifier, project)
    assert f"\nPriority: {name}\n" in prompt
    assert "Labels:" not in prompt
    assert "(The issue has no description.)" in prompt


# ---------------------------------------------------------------------- list_issues


async def test_list_issues_by_state_within_the_team(tracker: LinearTracker, project: ProjectConfig) -> None:
    open_ids = {i.id for i in await tracker.list_issues(IssueFilters(state="open"), project)}
    closed_ids = {i.id for i in await tracker.list_issues(IssueFilters(state="closed"), project)}
    all_ids = {i.id for i in await tracker.list_issues(IssueFilters(state="all"), project)}
    assert open_ids == {"INT-100", "INT-101"}
    assert closed_ids == {"INT-102", "INT-103"}
    assert all_ids == open_ids | closed_ids  # ENG-1 is another team's


async def test_list_issues_without_a_team_sees_every_team(config: LinearTrackerConfig, project: ProjectConfig) -> None:
    tracker = LinearTracker(config.model_copy(update={"team_id": None}))
    ids = {i.id for i in await tracker.list_issues(IssueFilters(state="open"), project)}
    assert ids == {"INT-100", "INT-101", "ENG-1"}


async def test_list_issues_with_a_team_uuid(
    config: LinearTrackerConfig, project: ProjectConfig, linear: FakeLinear
) -> None:
    tracker = LinearTracker(config.model_copy(update={"team_id": linear.team("ENG").id}))
    assert [i.id for i in await tracker.list_issues(IssueFilters(state="all"), project)] == ["ENG-1"]


async def test_list_issues_needs_every_label(
    tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear
) -> None:
    linear.create_issue("INT", "Only a bug", labels=["bug"])
    both = await tracker.list_issues(IssueFilters(state="all", labels=["BUG", "backend"]), project)
    assert [i.id for i in both] == ["INT-100"]
    bugs = await tracker.list_issues(IssueFilters(state="all", labels=["bug"]), project)
    assert {i.id for i in bugs} == {"INT-100", "INT-104"}
    assert await tracker.list_issues(IssueFilters(state="all", labels=["nothing-has-this"]), project) == []


@pytest.mark.parametrize("who", ["bob", "BOB", "Bob Builder", "bob@example.test"])
async def test_list_issues_by_assignee(tracker: LinearTracker, project: ProjectConfig, who: str) -> None:
    assert [i.id for i in await tracker.list_issues(IssueFilters(state="all", assignee=who), project)] == ["INT-100"]


async def test_list_issues_assigned_to_me(tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear) -> None:
    assert await tracker.list_issues(IssueFilters(state="all", assignee="me"), project) == []
    linear.issue("INT-101").assignee_id = linear.default_user.id
    assert [i.id for i in await tracker.list_issues(IssueFilters(state="all", assignee="me"), project)] == ["INT-101"]


async def test_list_issues_pages_until_the_limit(
    tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear
) -> None:
    for n in range(300):
        linear.create_issue("INT", f"Bulk issue {n}")
    issues = await tracker.list_issues(IssueFilters(state="open", limit=260), project)
    assert len(issues) == 260
    assert len({i.id for i in issues}) == 260
    pages = linear.requests_for("issues")
    assert [r.variables["first"] for r in pages] == [250, 10]
    assert pages[1].variables["after"] is not None
    assert len(await tracker.list_issues(IssueFilters(state="open", limit=3), project)) == 3
    assert await tracker.list_issues(IssueFilters(state="open", limit=0), project) == []


async def test_list_issues_stops_when_linear_has_no_more(
    tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear
) -> None:
    issues = await tracker.list_issues(IssueFilters(state="all", limit=1000), project)
    assert len(issues) == 4
    assert len(linear.requests_for("issues")) == 1


async def test_list_issues_remembers_branch_names(tracker: LinearTracker, project: ProjectConfig) -> None:
    await tracker.list_issues(IssueFilters(state="open"), project)
    assert tracker.branch_name("INT-101", project) == "alice/int-101-add-dark-mode"


# ---------------------------------------------------------------------- update_issue


@pytest.mark.parametrize(
    ("start", "target", "landed"),
    [
        ("Backlog", "closed", "Done"),
        ("Backlog", "in_progress", "In Progress"),
        ("Done", "open", "Todo"),
        ("Canceled", "in_progress", "In Progress"),
    ],
)
async def test_update_state_moves_to_the_teams_first_state_of_that_type(
    tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear, start: str, target: str, landed: str
) -> None:
    linear.move_issue("INT-100", start)
    await tracker.update_issue("INT-100", IssueUpdate(state=target), project)
    assert linear.state_of("INT-100").name == landed


async def test_update_state_keeps_an_issue_already_in_that_kind_of_state(
    tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear
) -> None:
    linear.move_issue("INT-100", "In Review")
    await tracker.update_issue("INT-100", IssueUpdate(state="in_progress"), project)
    assert linear.state_of("INT-100").name == "In Review"
    await tracker.update_issue("INT-100", IssueUpdate(state="open"), project)
    assert linear.state_of("INT-100").name == "Todo"
    linear.move_issue("INT-100", "Backlog")
    await tracker.update_issue("INT-100", IssueUpdate(state="open"), project)
    assert linear.state_of("INT-100").name == "Backlog"
    assert len(linear.requests_for("issueUpdate")) == 1


async def test_update_state_to_a_type_the_team_lacks_is_an_error(
    tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear
) -> None:
    team = linear.create_team("OPS", states=[("Todo", "unstarted"), ("Done", "completed")])
    linear.create_issue(team, "No started state here", number=7)
    with pytest.raises(TrackerError, match=r"team OPS has no workflow state of type started") as caught:
        await tracker.update_issue("OPS-7", IssueUpdate(state="in_progress"), project)
    assert "Todo (unstarted), Done (completed)" in str(caught.value)
    assert linear.state_of("OPS-7").name == "Todo"


async def test_update_labels_by_name(tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear) -> None:
    await tracker.update_issue("INT-101", IssueUpdate(labels=["Bug", "backend"]), project)
    assert linear.labels_of("INT-101") == ["bug", "backend"]
    await tracker.update_issue("INT-101", IssueUpdate(labels=["bug"], remove_labels=["BACKEND", "never-had"]), project)
    assert linear.labels_of("INT-101") == ["bug"]
    (update, *_) = linear.requests_for("issueUpdate")
    assert update.variables["id"] == linear.issue("INT-101").id  # Linear's UUID, not the identifier


async def test_a_team_label_wins_over_a_workspace_label_of_the_same_name(
    tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear
) -> None:
    workspace_bug = linear.create_label("Bug")
    await tracker.update_issue("INT-101", IssueUpdate(labels=["bug"]), project)
    assert linear.issue("INT-101").label_ids != [workspace_bug.id]
    assert linear.labels_of("INT-101") == ["bug"]


async def test_update_with_an_unknown_label_changes_nothing(
    tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear
) -> None:
    with pytest.raises(TrackerError, match=r"no label 'urgent-fix'.*ao-contract, backend, bug") as caught:
        await tracker.update_issue("INT-101", IssueUpdate(state="closed", labels=["urgent-fix"]), project)
    assert "frontend" not in str(caught.value)  # another team's label is not offered
    assert linear.state_of("INT-101").name == "In Progress"
    assert linear.requests_for("issueUpdate") == []


async def test_update_with_another_teams_label_is_an_error(tracker: LinearTracker, project: ProjectConfig) -> None:
    with pytest.raises(TrackerError, match="no label 'frontend'"):
        await tracker.update_issue("INT-101", IssueUpdate(labels=["frontend"]), project)


@pytest.mark.parametrize("who", ["bob", "Bob Builder", "bob@example.test", "BOB"])
async def test_update_assignee(tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear, who: str) -> None:
    await tracker.update_issue("INT-101", IssueUpdate(assignee=who), project)
    assignee = linear.assignee_of("INT-101")
    assert assignee is not None
    assert assignee.display_name == "bob"


async def test_update_assignee_me(tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear) -> None:
    await tracker.update_issue("INT-100", IssueUpdate(assignee="me"), project)
    assert linear.assignee_of("INT-100") == linear.default_user


async def test_update_with_an_unknown_assignee_is_an_error(
    tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear
) -> None:
    with pytest.raises(TrackerError, match="no user matching 'carol'"):
        await tracker.update_issue("INT-100", IssueUpdate(assignee="carol"), project)
    assert linear.assignee_of("INT-100") == linear.user("bob")


async def test_update_with_an_ambiguous_assignee_is_an_error(
    tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear
) -> None:
    linear.add_user("sam", name="Sam One", email="sam1@example.test")
    linear.add_user("Sam", name="Sam Two", email="sam2@example.test")
    with pytest.raises(TrackerError, match="several users matching 'SAM'"):
        await tracker.update_issue("INT-100", IssueUpdate(assignee="SAM"), project)
    await tracker.update_issue("INT-100", IssueUpdate(assignee="Sam"), project)  # exact display name wins
    assignee = linear.assignee_of("INT-100")
    assert assignee is not None
    assert assignee.email == "sam2@example.test"


async def test_update_comment(tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear) -> None:
    text = "Working on it in `alice/int-100`.\n\n- step 1\n- step 2 ✓"
    await tracker.update_issue("INT-100", IssueUpdate(comment=text), project)
    assert linear.comments("INT-100") == [text]
    assert linear.requests_for("issueUpdate") == []  # nothing else changed, so no issueUpdate


async def test_update_everything_at_once_in_one_issue_update(
    tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear
) -> None:
    update = IssueUpdate(state="closed", labels=["ao-contract"], remove_labels=["bug"], assignee="me", comment="Done")
    await tracker.update_issue("INT-100", update, project)
    assert linear.state_of("INT-100").name == "Done"
    assert linear.labels_of("INT-100") == ["backend", "ao-contract"]
    assert linear.assignee_of("INT-100") == linear.default_user
    assert linear.comments("INT-100") == ["Done"]
    assert len(linear.requests_for("issueUpdate")) == 1


async def test_update_refreshes_the_cached_issue(
    tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear
) -> None:
    assert await tracker.is_completed("INT-100", project) is False
    await tracker.update_issue("INT-100", IssueUpdate(state="closed"), project)
    assert await tracker.is_completed("INT-100", project) is True


async def test_an_empty_update_sends_no_mutation(
    tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear
) -> None:
    await tracker.update_issue("INT-100", IssueUpdate(), project)
    assert [r.operation for r in linear.requests] == ["AoIssue"]


# ---------------------------------------------------------------------- create_issue


async def test_create_issue_with_everything(tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear) -> None:
    created = await tracker.create_issue(
        CreateIssueInput(
            title="Rotate the signing keys",
            description="Before **Friday**.",
            labels=["bug", "Backend"],
            assignee="bob",
            priority=1,
        ),
        project,
    )
    assert created.id == "INT-104"
    assert created.title == "Rotate the signing keys"
    assert created.description == "Before **Friday**."
    assert created.labels == ["bug", "backend"]
    assert created.assignee == "bob"
    assert created.priority == 1
    assert created.state is IssueState.OPEN
    assert created.url == "https://linear.app/acme/issue/INT-104/rotate-the-signing-keys"
    assert created.branch_name == "alice/int-104-rotate-the-signing-keys"
    stored = linear.issue("INT-104")
    assert (stored.title, stored.priority, linear.labels_of("INT-104")) == (
        "Rotate the signing keys",
        1,
        ["bug", "backend"],
    )
    (create,) = linear.requests_for("issueCreate")
    assert create.variables["input"]["teamId"] == linear.team("INT").id
    linear.clear_requests()
    assert (await tracker.get_issue("INT-104", project)).title == "Rotate the signing keys"
    assert linear.requests == []  # served from the cache the create filled


async def test_create_issue_minimal_and_the_team_is_looked_up_once(
    tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear
) -> None:
    first = await tracker.create_issue(CreateIssueInput(title="One"), project)
    second = await tracker.create_issue(CreateIssueInput(title="Two"), project)
    assert (first.id, second.id) == ("INT-104", "INT-105")
    assert (first.description, first.labels, first.assignee, first.priority) == ("", [], None, 0)
    assert len(linear.requests_for("teams")) == 1


async def test_create_issue_with_a_team_uuid(
    config: LinearTrackerConfig, project: ProjectConfig, linear: FakeLinear
) -> None:
    tracker = LinearTracker(config.model_copy(update={"team_id": linear.team("ENG").id}))
    assert (await tracker.create_issue(CreateIssueInput(title="By UUID"), project)).id == "ENG-2"


async def test_create_issue_needs_a_team(
    config: LinearTrackerConfig, project: ProjectConfig, linear: FakeLinear
) -> None:
    tracker = LinearTracker(config.model_copy(update={"team_id": None}))
    with pytest.raises(TrackerError, match="teamId"):
        await tracker.create_issue(CreateIssueInput(title="Nowhere"), project)
    assert linear.requests_for("issueCreate") == []


async def test_create_issue_in_a_team_linear_does_not_have(
    config: LinearTrackerConfig, project: ProjectConfig, linear: FakeLinear
) -> None:
    tracker = LinearTracker(config.model_copy(update={"team_id": "NOPE"}))
    with pytest.raises(TrackerError, match=r"no team 'NOPE'.*teamId"):
        await tracker.create_issue(CreateIssueInput(title="Nowhere"), project)


@pytest.mark.parametrize(
    ("issue", "fragment"),
    [
        (CreateIssueInput(title="   "), "empty title"),
        (CreateIssueInput(title="Bad priority", priority=7), "priority 7"),
        (CreateIssueInput(title="Bad label", labels=["no-such-label"]), "no label 'no-such-label'"),
        (CreateIssueInput(title="Bad user", assignee="nobody"), "no user matching 'nobody'"),
    ],
)
async def test_create_issue_refuses_bad_input(
    tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear, issue: CreateIssueInput, fragment: str
) -> None:
    with pytest.raises(TrackerError, match=fragment):
        await tracker.create_issue(issue, project)
    assert linear.requests_for("issueCreate") == []
