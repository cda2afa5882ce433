"""The workspace contract suite of ao-testing, against real git."""

from __future__ import annotations

import pytest
from ao_core.interfaces import Workspace
from ao_testing.contracts import WorkspaceContract
from ao_workspace_clone import CloneWorkspaceConfig, create

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


class TestCloneWorkspaceContract(WorkspaceContract):
    @pytest.fixture
    def workspace(self) -> Workspace:
        # No baseDir: the suite's kernel-style workspace_dir decides where clones go.
        return create(CloneWorkspaceConfig(post_create_timeout_s=30))
