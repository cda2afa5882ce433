"""Fixtures: the shared project repository and checkout checks from ao_testing, the plugin, and its worktrees."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from ao_core.testing import run_git
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
from ao_workspace_worktree import WorktreeWorkspaceConfig
from ao_workspace_worktree._worktree import WorktreeWorkspace

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
    "worktrees",
]


@pytest.fixture
def workspace(base_dir: Path) -> WorktreeWorkspace:
    """The plugin, configured with ``base_dir``."""
    return WorktreeWorkspace(WorktreeWorkspaceConfig(base_dir=str(base_dir), post_create_timeout_s=30))


@pytest.fixture
def worktrees(repo: Path) -> Callable[[], list[str]]:
    """Reads the paths ``git worktree list --porcelain`` reports in the project (its checkout first)."""

    def read() -> list[str]:
        out = run_git(repo, "worktree", "list", "--porcelain")
        return [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("worktree ")]

    return read
