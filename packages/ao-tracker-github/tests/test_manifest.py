from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import ao_tracker_github
from ao_core.interfaces import SupportsCreateIssue, SupportsIssueLabel, SupportsListIssues, SupportsUpdateIssue
from ao_core.models import PluginSlot


def test_entry_point_is_installed() -> None:
    found = {ep.name: ep.value for ep in entry_points(group="ao.tracker")}
    assert found.get("github") == "ao_tracker_github"


def test_manifest_names_the_plugin() -> None:
    assert ao_tracker_github.manifest.name == "github"
    assert ao_tracker_github.manifest.slot is PluginSlot.TRACKER


def test_create_gives_every_capability() -> None:
    tracker = ao_tracker_github.create()
    assert tracker.name == "github"
    for capability in (SupportsIssueLabel, SupportsListIssues, SupportsUpdateIssue, SupportsCreateIssue):
        assert isinstance(tracker, capability), capability.__name__


def test_import_does_not_load_pygithub() -> None:
    code = "import sys, ao_tracker_github; ao_tracker_github.create(); print('github' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"
