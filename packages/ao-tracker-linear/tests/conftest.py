from __future__ import annotations

from pathlib import Path

import pytest
from ao_core.config import ProjectConfig
from ao_testing.fakes.linear import FakeLinear
from ao_testing.fakes.linear_pytest_fixtures import fake_linear
from ao_tracker_linear import LinearTracker, LinearTrackerConfig
from pydantic import SecretStr

__all__ = ["fake_linear"]


@pytest.fixture
def linear(fake_linear: FakeLinear) -> FakeLinear:
    """The fake with team INT (Linear's default states), labels, a second user and four issues.

    INT-100 "Fix login timeout": Backlog, High, labels bug (team) + backend (workspace), assigned to bob.
    INT-101 "Add dark mode": In Progress. INT-102 "Old crash": Done. INT-103 "Wontfix idea": Canceled.
    Team ENG has ENG-1 (so team filtering is visible).
    """
    fake_linear.create_team("INT", "Integrations")
    fake_linear.create_team("ENG", "Engineering")
    fake_linear.create_label("bug", team="INT")
    fake_linear.create_label("ao-contract", team="INT")
    fake_linear.create_label("backend")  # a workspace label
    fake_linear.create_label("frontend", team="ENG")
    fake_linear.add_user("bob", name="Bob Builder", email="bob@example.test")
    fake_linear.create_issue(
        "INT",
        "Fix login timeout",
        number=100,
        description="Users are logged out after 5 minutes.\n\nExpected: 30 minutes.",
        labels=["bug", "backend"],
        priority=2,
        assignee="bob",
    )
    fake_linear.create_issue("INT", "Add dark mode", state="In Progress", priority=3)
    fake_linear.create_issue("INT", "Old crash", state="Done", priority=1)
    fake_linear.create_issue("INT", "Wontfix idea", state="Canceled")
    fake_linear.create_issue("ENG", "Other team's work", labels=["frontend"])
    fake_linear.clear_requests()
    return fake_linear


@pytest.fixture
def project(tmp_path: Path) -> ProjectConfig:
    return ProjectConfig(name="app", path=str(tmp_path / "app"))


@pytest.fixture
def config(linear: FakeLinear) -> LinearTrackerConfig:
    return LinearTrackerConfig(
        api_key=SecretStr(linear.default_api_key),
        team_id="INT",
        workspace_slug="acme",
        base_url=linear.url,
        timeout_s=10,
    )


@pytest.fixture
def tracker(config: LinearTrackerConfig) -> LinearTracker:
    return LinearTracker(config)
