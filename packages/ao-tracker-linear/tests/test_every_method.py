"""Every method the tracker owes (``Tracker`` and each optional capability it has), once, over real HTTP.

``exercise_methods`` fails when one is not called. Each call runs on a fresh tracker (its cache cannot
answer); URLs and labels are computed without a request. ``branch_name`` is Linear's own once the
tracker has read the issue, so its call reads the issue first.
"""

from __future__ import annotations

import pytest
from ao_core.config import ProjectConfig
from ao_core.interfaces import Tracker
from ao_core.models import CreateIssueInput, IssueFilters, IssueUpdate
from ao_testing.contracts import MethodCall, exercise_methods, protocol_methods
from ao_testing.fakes.linear import FakeLinear
from ao_tracker_linear import LinearTracker, LinearTrackerConfig

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.timeout(60)]


async def test_every_method_over_real_http(
    linear: FakeLinear, config: LinearTrackerConfig, project: ProjectConfig
) -> None:
    url = "https://linear.app/acme/issue/INT-100"

    async def branch(tracker: LinearTracker) -> str:
        await tracker.get_issue("INT-100", project)
        return tracker.branch_name("INT-100", project)

    calls = {
        "get_issue": MethodCall(lambda t: t.get_issue("INT-100", project), lambda r: r.title == "Fix login timeout"),
        "is_completed": MethodCall(lambda t: t.is_completed("INT-102", project), lambda r: r is True),
        "issue_url": MethodCall(lambda t: t.issue_url("INT-100", project), lambda r: r == url, False),
        "branch_name": MethodCall(branch, lambda r: r == linear.branch_name(linear.issue("INT-100"))),
        "generate_prompt": MethodCall(lambda t: t.generate_prompt("INT-100", project), lambda r: "High" in r),
        "issue_label": MethodCall(lambda t: t.issue_label(url, project), lambda r: r == "INT-100", False),
        "list_issues": MethodCall(
            lambda t: t.list_issues(IssueFilters(state="all"), project),
            lambda r: {i.id for i in r} == {"INT-100", "INT-101", "INT-102", "INT-103"},
        ),
        "update_issue": MethodCall(
            lambda t: t.update_issue(
                "INT-100",
                IssueUpdate(state="in_progress", labels=["ao-contract"], comment="An agent is on it."),
                project,
            ),
            lambda r: r is None,
        ),
        "create_issue": MethodCall(
            lambda t: t.create_issue(CreateIssueInput(title="Follow-up", priority=3), project),
            lambda r: r.title == "Follow-up" and r.id.startswith("INT-"),
        ),
    }
    await exercise_methods(
        protocol_methods(LinearTracker(config), Tracker),
        calls,
        lambda: LinearTracker(config),
        lambda: len(linear.requests),
    )

    assert linear.state_of("INT-100").name == "In Progress"
    assert "ao-contract" in linear.labels_of("INT-100")
    assert linear.comments("INT-100") == ["An agent is on it."]
