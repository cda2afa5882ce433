"""The package is installed as an ao notifier plugin: entry point, manifest, registry, config model."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import ao_notifier_slack
import pytest
from ao_core.interfaces import API_VERSION, Notifier, PluginModule, SupportsActions, SupportsPost
from ao_core.models import PluginSlot
from ao_core.registry import Registry
from ao_notifier_slack import SlackNotifierConfig, manifest
from pydantic import ValidationError


def test_entry_point_is_installed() -> None:
    installed = {ep.name: ep.value for ep in entry_points(group="ao.notifier")}
    assert installed.get("slack") == "ao_notifier_slack"


def test_manifest_names_the_plugin() -> None:
    assert manifest.name == "slack"
    assert manifest.slot is PluginSlot.NOTIFIER
    assert manifest.api_version == API_VERSION


def test_registry_loads_it_with_its_config_model() -> None:
    loaded = Registry().load("notifier", "slack")
    assert loaded.source == "built-in"  # a first-party plugin: ao knows its distribution by name
    assert loaded.module.__name__ == "ao_notifier_slack"
    assert loaded.config_model is SlackNotifierConfig


def test_create_gives_a_notifier_with_actions_and_post(tmp_path: Path) -> None:
    plugin: PluginModule[Notifier] = ao_notifier_slack
    notifier = plugin.create(SlackNotifierConfig(token="xoxb-1", channel="#agents", state_file=tmp_path / "t.json"))
    assert notifier.name == "slack"
    assert isinstance(notifier, SupportsActions)
    assert isinstance(notifier, SupportsPost)


def test_importing_the_module_does_not_import_slack_sdk() -> None:
    code = "import sys, ao_notifier_slack; print('slack_sdk' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "False"


def test_config_uses_camel_case_aliases() -> None:
    config = SlackNotifierConfig.model_validate(
        {
            "token": "xoxb-1",
            "channel": "#agents",
            "baseUrl": "http://127.0.0.1:9/api/",
            "stateFile": "/tmp/threads.json",
            "threadPerSession": False,
            "broadcastUrgent": False,
            "timeoutS": 3,
            "maxRateLimitRetries": 1,
            "maxRetryAfterS": 5,
            "iconEmoji": ":robot_face:",
        }
    )
    assert config.token is not None
    assert config.token.get_secret_value() == "xoxb-1"
    assert (config.base_url, config.thread_per_session, config.timeout_s, config.max_rate_limit_retries) == (
        "http://127.0.0.1:9/api/",
        False,
        3,
        1,
    )
    assert SlackNotifierConfig.model_validate({"webhookUrl": "https://hooks.slack.test/services/T/B/x"}).webhook_url


def test_config_rejects_unknown_keys_and_both_modes_without_echoing_secrets() -> None:
    with pytest.raises(ValidationError, match="webhook"):
        SlackNotifierConfig.model_validate({"webhook": "x"})
    with pytest.raises(ValidationError) as caught:
        SlackNotifierConfig.model_validate(
            {"token": "xoxb-very-secret", "channel": "#a", "webhookUrl": "https://hooks.test/services/T/B/sEcReT"}
        )
    text = str(caught.value)
    assert "not both" in text
    assert "xoxb-very-secret" not in text
    assert "sEcReT" not in text


def test_config_rejects_a_webhook_url_that_is_not_http_without_echoing_it() -> None:
    with pytest.raises(ValidationError) as caught:
        SlackNotifierConfig.model_validate({"webhookUrl": "hooks.slack.com/services/T/B/sEcReT"})
    assert "https://" in str(caught.value)
    assert "sEcReT" not in str(caught.value)


def test_blank_values_from_unset_variables_mean_not_configured() -> None:
    config = SlackNotifierConfig.model_validate({"token": "", "webhookUrl": " ", "channel": ""})
    assert (config.token, config.webhook_url, config.channel) == (None, None, None)
