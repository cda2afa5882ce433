"""The package is installed as an ao notifier plugin: entry point, manifest, and ao's registry finds it."""

from __future__ import annotations

import sys
from importlib.metadata import entry_points

import ao_notifier_desktop
import pytest
from ao_core.interfaces import API_VERSION, Notifier, PluginModule, SupportsActions, SupportsPost
from ao_core.models import PluginSlot
from ao_core.registry import Registry
from ao_notifier_desktop import DesktopNotifierConfig, manifest
from pydantic import ValidationError


def test_entry_point_is_installed() -> None:
    installed = {ep.name: ep.value for ep in entry_points(group="ao.notifier")}
    assert installed.get("desktop") == "ao_notifier_desktop"


def test_manifest_names_the_plugin() -> None:
    assert manifest.name == "desktop"
    assert manifest.slot is PluginSlot.NOTIFIER
    assert manifest.api_version == API_VERSION
    assert manifest.version == "0.1.0"


def test_registry_loads_it_with_its_config_model() -> None:
    loaded = Registry().load("notifier", "desktop")
    assert loaded.module.__name__ == "ao_notifier_desktop"
    assert loaded.config_model is DesktopNotifierConfig


def test_module_is_a_notifier_plugin_with_both_capabilities() -> None:
    plugin: PluginModule[Notifier] = ao_notifier_desktop
    notifier = plugin.create(None)
    assert notifier.name == "desktop"
    assert isinstance(notifier, SupportsActions)
    assert isinstance(notifier, SupportsPost)


def test_importing_the_plugin_does_not_import_jeepney() -> None:
    import subprocess

    code = "import ao_notifier_desktop, sys; print('jeepney' in sys.modules, 'anyio' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.split() == ["False", "False"]


def test_config_uses_camel_case_aliases_and_rejects_unknown_keys() -> None:
    config = DesktopNotifierConfig.model_validate(
        {"appName": "my-ao", "timeoutMs": 5000, "sound": False, "backend": "dbus"}
    )
    assert (config.app_name, config.timeout_ms, config.sound, config.backend) == ("my-ao", 5000, False, "dbus")
    defaults = DesktopNotifierConfig()
    assert (defaults.app_name, defaults.timeout_ms, defaults.sound, defaults.backend) == ("ao", -1, True, "auto")
    with pytest.raises(ValidationError, match="urgency"):
        DesktopNotifierConfig.model_validate({"urgency": 2})
    with pytest.raises(ValidationError, match="timeoutMs"):
        DesktopNotifierConfig.model_validate({"timeoutMs": -2})
    with pytest.raises(ValidationError, match="appName"):
        DesktopNotifierConfig.model_validate({"appName": ""})
    with pytest.raises(ValidationError, match="backend"):
        DesktopNotifierConfig.model_validate({"backend": "notify-send"})
