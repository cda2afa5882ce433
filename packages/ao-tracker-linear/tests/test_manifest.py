from __future__ import annotations

import importlib
import subprocess
import sys
from importlib.metadata import entry_points

import ao_tracker_linear
import pytest
from ao_core.config import PluginRef
from ao_core.errors import ConfigError
from ao_core.interfaces import (
    PluginModule,
    SupportsCreateIssue,
    SupportsIssueLabel,
    SupportsListIssues,
    SupportsUpdateIssue,
    Tracker,
)
from ao_core.models import PluginSlot
from ao_core.registry import Registry
from ao_tracker_linear import LinearTracker, LinearTrackerConfig
from pydantic import ValidationError


def test_entry_point_is_installed() -> None:
    (entry,) = [ep for ep in entry_points(group="ao.tracker") if ep.name == "linear"]
    assert entry.value == "ao_tracker_linear"
    module = importlib.import_module(entry.value)
    assert module.manifest.name == "linear"
    assert module.manifest.slot is PluginSlot.TRACKER
    assert module.manifest.version == "0.1.0"


def test_module_is_a_tracker_plugin_with_every_capability() -> None:
    plugin: PluginModule[Tracker] = ao_tracker_linear
    tracker = plugin.create(None)
    assert isinstance(tracker, LinearTracker)
    assert tracker.name == "linear"
    for capability in (SupportsIssueLabel, SupportsListIssues, SupportsUpdateIssue, SupportsCreateIssue):
        assert isinstance(tracker, capability), capability.__name__


def test_importing_the_plugin_does_not_import_httpx() -> None:
    code = "import sys, ao_tracker_linear; assert 'httpx' not in sys.modules, 'httpx imported'; print('ok')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_config_uses_camel_case_aliases_and_normalizes() -> None:
    config = LinearTrackerConfig.model_validate(
        {
            "apiKey": "lin_api_secret_value_123",
            "teamId": "int",
            "workspaceSlug": "acme",
            "baseUrl": "http://127.0.0.1:9/graphql",
            "timeoutS": 3,
            "cacheTtlS": 0,
        }
    )
    assert config.team_id == "INT"
    assert config.workspace_slug == "acme"
    assert (config.timeout_s, config.cache_ttl_s) == (3.0, 0.0)
    assert config.api_key is not None
    assert config.api_key.get_secret_value() == "lin_api_secret_value_123"
    assert "lin_api_secret_value_123" not in repr(config)
    assert "lin_api_secret_value_123" not in str(config)
    uuid_team = LinearTrackerConfig(team_id="9CFB482A-81E3-4154-B5B9-2C805E70A02D")
    assert uuid_team.team_id == "9cfb482a-81e3-4154-b5b9-2c805e70a02d"
    defaults = LinearTrackerConfig()
    assert (defaults.api_key, defaults.team_id, defaults.base_url) == (None, None, "https://api.linear.app/graphql")


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"teamId": "IN T"}, "teamId"),
        ({"teamId": "INT-1"}, "teamId"),
        ({"workspaceSlug": "acme/x"}, "workspaceSlug"),
        ({"baseUrl": "ftp://example.test/graphql"}, "baseUrl"),
        ({"timeoutS": 0}, "timeoutS"),
        ({"apiKey": "  "}, "apiKey"),
        ({"team": "INT"}, "team"),
    ],
)
def test_config_rejects_bad_values(options: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        LinearTrackerConfig.model_validate(options)


def test_credentials_in_the_base_url_are_refused_without_echoing_them() -> None:
    with pytest.raises(ValidationError) as caught:
        LinearTrackerConfig.model_validate({"baseUrl": "https://user:hunter2secret@api.linear.app/graphql"})
    assert "credentials" in str(caught.value)
    assert "hunter2secret" not in str(caught.value)


def test_registry_builds_it_from_yaml_style_options() -> None:
    registry = Registry()
    tracker = registry.create(
        "tracker",
        PluginRef.model_validate({"plugin": "linear", "teamId": "int", "baseUrl": "http://127.0.0.1:9/graphql"}),
        key_path="projects.app.tracker",
    )
    assert isinstance(tracker, LinearTracker)
    assert tracker.config.team_id == "INT"
    with pytest.raises(ConfigError, match=r"projects\.app\.tracker\.teamId"):
        registry.create(
            "tracker",
            PluginRef.model_validate({"plugin": "linear", "teamId": "no such"}),
            key_path="projects.app.tracker",
        )
