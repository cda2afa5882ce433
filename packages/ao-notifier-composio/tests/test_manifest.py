"""The package is installed as an ao notifier plugin: entry point, manifest, registry, config model."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import ao_notifier_composio
import pytest
from ao_core.interfaces import API_VERSION, Notifier, PluginModule, SupportsActions, SupportsPost
from ao_core.models import PluginSlot
from ao_core.registry import Registry
from ao_notifier_composio import ComposioNotifierConfig, manifest
from pydantic import ValidationError


def test_entry_point_is_installed() -> None:
    installed = {ep.name: ep.value for ep in entry_points(group="ao.notifier")}
    assert installed.get("composio") == "ao_notifier_composio"


def test_manifest_names_the_plugin() -> None:
    assert manifest.name == "composio"
    assert manifest.slot is PluginSlot.NOTIFIER
    assert manifest.api_version == API_VERSION


def test_registry_loads_it_with_its_config_model() -> None:
    loaded = Registry().load("notifier", "composio")
    assert loaded.source == "built-in"  # a first-party plugin: ao knows its distribution by name
    assert loaded.module.__name__ == "ao_notifier_composio"
    assert loaded.config_model is ComposioNotifierConfig


def test_create_gives_a_notifier_with_actions_and_post() -> None:
    plugin: PluginModule[Notifier] = ao_notifier_composio
    notifier = plugin.create(None)
    assert notifier.name == "composio"
    assert isinstance(notifier, SupportsActions)
    assert isinstance(notifier, SupportsPost)


def test_importing_and_creating_do_not_import_the_sdk() -> None:
    code = (
        "import sys, ao_notifier_composio as m; m.create(None); "
        "print(any(n.split('.')[0] in {'composio', 'composio_client', 'openai'} for n in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "False"


def test_config_uses_camel_case_and_the_original_tools_names() -> None:
    config = ComposioNotifierConfig.model_validate(
        {
            "composioApiKey": "ak_1",
            "defaultApp": "gmail",
            "emailTo": "lead@example.test",
            "emailSubject": "ao",
            "entityId": "alice",
            "connectedAccountId": "ca_1",
            "baseUrl": "http://127.0.0.1:9",
            "toolSlug": "GMAIL_SEND_EMAIL",
            "toolkitVersion": "20250901_00",
            "timeoutS": 5,
        }
    )
    assert config.api_key is not None
    assert config.api_key.get_secret_value() == "ak_1"
    assert (config.default_app, config.email_to, config.user_id, config.connected_account_id) == (
        "gmail",
        "lead@example.test",
        "alice",
        "ca_1",
    )
    assert ComposioNotifierConfig.model_validate({"apiKey": "ak_2", "userId": "bob"}).user_id == "bob"
    assert ComposioNotifierConfig.model_validate({"apiKey": ""}).api_key is None


def test_config_rejects_unknown_keys_and_apps_without_echoing_the_key() -> None:
    with pytest.raises(ValidationError, match="channel"):
        ComposioNotifierConfig.model_validate({"channel": "#agents"})
    with pytest.raises(ValidationError) as caught:
        ComposioNotifierConfig.model_validate({"apiKey": "ak_very_secret", "defaultApp": "teams"})
    assert "defaultApp" in str(caught.value)
    assert "ak_very_secret" not in str(caught.value)
