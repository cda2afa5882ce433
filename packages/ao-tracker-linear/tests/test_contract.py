from __future__ import annotations

import pytest
from ao_testing.contracts import TrackerContract


class TestLinearContract(TrackerContract):
    """The tracker contract against the fake Linear over real HTTP (``tracker`` and ``project``: conftest)."""

    @pytest.fixture
    def existing_issue_id(self) -> str:
        return "INT-100"

    @pytest.fixture
    def missing_issue_id(self) -> str:
        return "INT-9999"
