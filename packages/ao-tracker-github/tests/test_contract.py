from __future__ import annotations

import pytest
from ao_testing.contracts import TrackerContract
from ao_testing.fakes.github import FakeGitHub

REPO = "octo/app"

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


class TestGitHubTrackerContract(TrackerContract):
    @pytest.fixture
    def existing_issue_id(self, github: FakeGitHub) -> str:
        return str(github.create_issue(REPO, "Crash on empty input", "Steps: run it with no input.", labels=["bug"]))

    @pytest.fixture
    def missing_issue_id(self, github: FakeGitHub) -> str:
        return "4242"
