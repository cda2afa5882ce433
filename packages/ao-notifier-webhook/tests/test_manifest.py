"""The package is installed as an ao notifier plugin: entry point, manifest, and ao's registry finds it."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import ao_notifier_webhook
import pytest
from ao_core.errors import ConfigError
from ao_core.interfaces import API_VERSION, Notifier, PluginModule, SupportsActions, SupportsPost
from ao_core.models import PluginSlot
from ao_core.registry import Registry
from ao_notifier_webhook import WebhookNotifierConfig, manifest


def test_entry_point_is_installed() -> None:
    installed = {ep.name: ep.value for ep in entry_points(group="ao.notifier")}
    assert installed.get("webhook") == "ao_notifier_webhook"


def test_manifest_names_the_plugin() -> None:
    assert manifest.name == "webhook"
    assert manifest.slot is PluginSlot.NOTIFIER
    assert manifest.api_version == API_VERSION
    assert manifest.version == "0.1.0"


def test_registry_loads_it_with_its_config_model() -> None:
    loaded = Registry().load("notifier", "webhook")
    assert loaded.module.__name__ == "ao_notifier_webhook"
    assert loaded.config_model is WebhookNotifierConfig


def test_module_is_a_notifier_plugin_with_both_capabilities() -> None:
    plugin: PluginModule[Notifier] = ao_notifier_webhook
    notifier = plugin.create(WebhookNotifierConfig(url="http://127.0.0.1:9/hook"))
    assert notifier.name == "webhook"
    assert isinstance(notifier, SupportsActions)
    assert isinstance(notifier, SupportsPost)


def test_create_without_options_names_the_missing_url() -> None:
    with pytest.raises(ConfigError, match="'url'"):
        ao_notifier_webhook.create(None)


def test_importing_the_plugin_does_not_import_httpx() -> None:
    code = "import ao_notifier_webhook, sys; print('httpx' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "False"
