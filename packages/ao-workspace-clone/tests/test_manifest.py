"""The plugin is installed under its entry point and describes itself correctly."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import ao_workspace_clone
import pytest
from ao_core.interfaces import SupportsPostCreate, SupportsWorkspaceExists, SupportsWorkspaceRestore
from ao_core.models import PluginSlot
from ao_workspace_clone import CloneWorkspaceConfig
from pydantic import ValidationError


def test_entry_point_names_the_module() -> None:
    found = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="ao.workspace")}
    assert found.get("clone") == "ao_workspace_clone"


def test_manifest_matches_the_entry_point() -> None:
    manifest = ao_workspace_clone.manifest
    assert manifest.name == "clone"
    assert manifest.slot is PluginSlot.WORKSPACE
    assert manifest.version == importlib.metadata.version("ao-workspace-clone")


def test_create_gives_a_workspace_with_every_optional_capability() -> None:
    workspace = ao_workspace_clone.create()
    assert workspace.name == "clone"
    assert isinstance(workspace, SupportsPostCreate)
    assert isinstance(workspace, SupportsWorkspaceExists)
    assert isinstance(workspace, SupportsWorkspaceRestore)


def test_config_reads_camel_case_keys_and_refuses_unknown_ones() -> None:
    config = CloneWorkspaceConfig.model_validate({"baseDir": "~/c", "reference": False, "postCreateTimeoutS": 5})
    assert (config.base_dir, config.reference, config.post_create_timeout_s) == ("~/c", False, 5)
    defaults = CloneWorkspaceConfig()
    assert (defaults.base_dir, defaults.reference, defaults.post_create_timeout_s) == (None, True, 600)
    with pytest.raises(ValidationError):
        CloneWorkspaceConfig.model_validate({"cloneDir": "/tmp"})


def test_importing_the_plugin_does_not_load_its_implementation() -> None:
    code = "import sys, ao_workspace_clone; print(sorted(m for m in sys.modules if m.startswith('ao_workspace')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "['ao_workspace_clone', 'ao_workspace_clone._config']"
