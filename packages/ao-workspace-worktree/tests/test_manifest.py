"""The plugin is installed under its entry point and describes itself correctly."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import ao_workspace_worktree
import pytest
from ao_core.interfaces import SupportsPostCreate, SupportsWorkspaceExists, SupportsWorkspaceRestore
from ao_core.models import PluginSlot
from ao_workspace_worktree import WorktreeWorkspaceConfig
from pydantic import ValidationError


def test_entry_point_names_the_module() -> None:
    found = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="ao.workspace")}
    assert found.get("worktree") == "ao_workspace_worktree"


def test_manifest_matches_the_entry_point() -> None:
    manifest = ao_workspace_worktree.manifest
    assert manifest.name == "worktree"
    assert manifest.slot is PluginSlot.WORKSPACE
    assert manifest.version == importlib.metadata.version("ao-workspace-worktree")


def test_create_gives_a_workspace_with_every_optional_capability() -> None:
    workspace = ao_workspace_worktree.create()
    assert workspace.name == "worktree"
    assert isinstance(workspace, SupportsPostCreate)
    assert isinstance(workspace, SupportsWorkspaceExists)
    assert isinstance(workspace, SupportsWorkspaceRestore)


def test_config_reads_camel_case_keys_and_refuses_unknown_ones() -> None:
    config = WorktreeWorkspaceConfig.model_validate({"baseDir": "~/wt", "postCreateTimeoutS": 5, "gitTimeoutS": 9})
    assert (config.base_dir, config.post_create_timeout_s, config.git_timeout_s) == ("~/wt", 5, 9)
    assert WorktreeWorkspaceConfig().post_create_timeout_s == 600
    with pytest.raises(ValidationError):
        WorktreeWorkspaceConfig.model_validate({"worktreeDir": "/tmp"})
    with pytest.raises(ValidationError):
        WorktreeWorkspaceConfig.model_validate({"postCreateTimeoutS": 0})


def test_importing_the_plugin_does_not_load_its_implementation() -> None:
    code = "import sys, ao_workspace_worktree; print(sorted(m for m in sys.modules if m.startswith('ao_workspace')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "['ao_workspace_worktree', 'ao_workspace_worktree._config']"
