"""Every method the tracker owes (``Tracker`` and each optional capability it has), once, over real HTTP.

``exercise_methods`` fails when one is not called. Each call runs on a fresh tracker (its cache cannot
answer); URLs, labels and branch names are computed without a request.
"""

from __future__ import annotations

import pytest
from ao_core.config import ProjectConfig
from ao_core.interfaces import Tracker
from ao_core.models import CreateIssueInput, IssueFilters, IssueState, IssueUpdate
from ao_testing.contracts import MethodCall, exercise_methods, protocol_methods
from ao_testing.fakes.github import FakeGitHub
from ao_tracker_github import GitHubTrackerConfig, create

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.timeout(60)]

REPO = "octo/app"


async def test_every_method_over_real_http(
    github: FakeGitHub, config: GitHubTrackerConfig, project: ProjectConfig
) -> None:
    number = github.create_issue(REPO, "Add dark mode", "Use the system setting.", labels=["ui"])
    done = github.create_issue(REPO, "Old bug")
    github.set_issue_state(REPO, done, "closed", "completed")
    url = f"{github.url}/{REPO}/issues/{number}"

    calls = {
        "get_issue": MethodCall(lambda t: t.get_issue(str(number), project), lambda r: r.title == "Add dark mode"),
        "is_completed": MethodCall(lambda t: t.is_completed(str(done), project), lambda r: r is True),
        "issue_url": MethodCall(lambda t: t.issue_url(str(number), project), lambda r: r == url, False),
        "branch_name": MethodCall(
            lambda t: t.branch_name(str(number), project), lambda r: r == f"feat/issue-{number}", False
        ),
        "generate_prompt": MethodCall(
            lambda t: t.generate_prompt(str(number), project), lambda r: "Use the system setting." in r
        ),
        "issue_label": MethodCall(lambda t: t.issue_label(url, project), lambda r: r == f"#{number}", False),
        "list_issues": MethodCall(
            lambda t: t.list_issues(IssueFilters(state="all"), project),
            lambda r: {i.id for i in r} == {str(number), str(done)},
        ),
        "update_issue": MethodCall(
            lambda t: t.update_issue(
                str(number), IssueUpdate(state="in_progress", labels=["agent"], comment="An agent is on it."), project
            ),
            lambda r: r is None,
        ),
        "create_issue": MethodCall(
            lambda t: t.create_issue(CreateIssueInput(title="Follow-up", labels=["ui"]), project),
            lambda r: r.title == "Follow-up" and r.state is IssueState.OPEN,
        ),
    }
    await exercise_methods(
        protocol_methods(create(config), Tracker), calls, lambda: create(config), lambda: len(github.requests)
    )

    updated = github.issue(REPO, number)
    assert "agent" in updated.labels
    assert [c.body for c in updated.comments] == ["An agent is on it."]
