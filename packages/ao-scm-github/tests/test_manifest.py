from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import ao_scm_github
from ao_core.interfaces import (
    SupportsClaimPR,
    SupportsPRSnapshots,
    SupportsPRSummary,
    SupportsReviewThreads,
    SupportsWebhooks,
)
from ao_core.models import PluginSlot


def test_entry_point_is_installed() -> None:
    found = {ep.name: ep.value for ep in entry_points(group="ao.scm")}
    assert found.get("github") == "ao_scm_github"


def test_manifest_names_the_plugin() -> None:
    assert ao_scm_github.manifest.name == "github"
    assert ao_scm_github.manifest.slot is PluginSlot.SCM


def test_create_gives_every_capability() -> None:
    scm = ao_scm_github.create()
    assert scm.name == "github"
    for capability in (
        SupportsPRSnapshots,
        SupportsPRSummary,
        SupportsReviewThreads,
        SupportsClaimPR,
        SupportsWebhooks,
    ):
        assert isinstance(scm, capability), capability.__name__


def test_import_does_not_load_pygithub_or_httpx() -> None:
    code = "import sys, ao_scm_github; ao_scm_github.create(); print('github' in sys.modules, 'httpx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False False"
