from __future__ import annotations

import importlib
from importlib.metadata import entry_points

import ao_runtime_process
import pytest
from ao_core.interfaces import PluginModule, Runtime, SupportsAttachInfo, SupportsMetrics
from ao_core.models import PluginSlot
from ao_runtime_process import ProcessRuntime, ProcessRuntimeConfig
from pydantic import ValidationError


def test_entry_point_is_installed() -> None:
    (entry,) = [ep for ep in entry_points(group="ao.runtime") if ep.name == "process"]
    assert entry.value == "ao_runtime_process"
    module = importlib.import_module(entry.value)
    assert module.manifest.name == "process"
    assert module.manifest.slot is PluginSlot.RUNTIME
    assert module.manifest.version == "0.1.0"


def test_module_is_a_runtime_plugin() -> None:
    plugin: PluginModule[Runtime] = ao_runtime_process
    runtime = plugin.create(None)
    assert isinstance(runtime, ProcessRuntime)
    assert runtime.name == "process"
    assert isinstance(runtime, SupportsMetrics)
    assert isinstance(runtime, SupportsAttachInfo)


def test_config_uses_camel_case_aliases_and_rejects_unknown_keys() -> None:
    config = ProcessRuntimeConfig.model_validate(
        {"shell": "/bin/bash", "gracePeriodS": 1.5, "sendTimeoutS": 3, "baseDir": "/tmp/x"}
    )
    assert (config.shell, config.grace_period_s, config.send_timeout_s, config.base_dir) == (
        "/bin/bash",
        1.5,
        3.0,
        "/tmp/x",
    )
    defaults = ProcessRuntimeConfig()
    assert (defaults.shell, defaults.grace_period_s, defaults.base_dir) == ("/bin/sh", 5.0, None)
    with pytest.raises(ValidationError, match="gracePeriod"):
        ProcessRuntimeConfig.model_validate({"gracePeriod": 1})
    with pytest.raises(ValidationError, match="gracePeriodS"):
        ProcessRuntimeConfig.model_validate({"gracePeriodS": -1})
