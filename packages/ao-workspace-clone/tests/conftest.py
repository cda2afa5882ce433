"""Fixtures: the shared project repository and checkout checks from ao_testing, and the plugin."""

from __future__ import annotations

from pathlib import Path

import pytest
from ao_testing.workspace_fixtures import (
    base_dir,
    branches,
    checkout_state,
    isolated_git,
    make_config,
    origin,
    repo,
    untouched,
)
from ao_workspace_clone import CloneWorkspaceConfig
from ao_workspace_clone._clone import CloneWorkspace

__all__ = [
    "base_dir",
    "branches",
    "checkout_state",
    "isolated_git",
    "make_config",
    "origin",
    "repo",
    "untouched",
    "workspace",
]


@pytest.fixture
def workspace(base_dir: Path) -> CloneWorkspace:
    """The plugin, configured with ``base_dir`` (and ``reference: true``)."""
    return CloneWorkspace(CloneWorkspaceConfig(base_dir=str(base_dir), post_create_timeout_s=30))
