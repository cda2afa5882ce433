from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import ao_runtime_tmux
import pydantic
import pytest
from ao_core.interfaces import PluginModule, Runtime, SupportsAttachInfo, SupportsMetrics
from ao_core.models import PluginSlot
from ao_runtime_tmux import TmuxRuntime, TmuxRuntimeConfig, create

# Static conformance: mypy rejects this line if the module stops being a runtime plugin.
_MODULE: PluginModule[Runtime] = ao_runtime_tmux


def test_entry_point_names_the_module() -> None:
    (entry,) = [ep for ep in entry_points(group="ao.runtime") if ep.name == "tmux"]
    assert entry.value == "ao_runtime_tmux"
    assert entry.load() is ao_runtime_tmux


def test_manifest_name_and_slot() -> None:
    assert ao_runtime_tmux.manifest.name == "tmux"
    assert ao_runtime_tmux.manifest.slot is PluginSlot.RUNTIME
    assert ao_runtime_tmux.manifest.version == "0.1.0"


def test_create_returns_a_runtime_with_the_optional_capabilities() -> None:
    runtime = create(TmuxRuntimeConfig(socket_name="ao-x"))
    assert isinstance(runtime, TmuxRuntime)
    assert runtime.name == "tmux"
    assert runtime.config.socket_name == "ao-x"
    assert isinstance(runtime, SupportsMetrics)
    assert isinstance(runtime, SupportsAttachInfo)
    default = create()
    assert isinstance(default, TmuxRuntime)
    assert default.config == TmuxRuntimeConfig()


def test_import_does_not_load_the_runtime() -> None:
    code = "import sys, ao_runtime_tmux; print('ao_runtime_tmux._runtime' in sys.modules, 'anyio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30)
    assert out.stdout.split() == ["False", "False"]


def test_config_reads_camel_case_keys() -> None:
    config = TmuxRuntimeConfig.model_validate(
        {
            "socketName": "ao",
            "historyLimit": 500,
            "windowWidth": 120,
            "windowHeight": 40,
            "sendConfirmTimeoutMs": 800,
            "enterRetries": 1,
            "commandTimeoutMs": 2000,
            "tmuxPath": "/usr/bin/tmux",
        }
    )
    assert (config.socket_name, config.history_limit, config.window_width, config.window_height) == ("ao", 500, 120, 40)
    assert (config.send_confirm_timeout_ms, config.enter_retries, config.command_timeout_ms) == (800, 1, 2000)
    assert config.tmux_path == "/usr/bin/tmux"


def test_config_defaults() -> None:
    config = TmuxRuntimeConfig()
    assert config.socket_name is None
    assert (config.history_limit, config.window_width, config.window_height, config.enter_retries) == (
        10000,
        200,
        50,
        2,
    )


@pytest.mark.parametrize(
    "options",
    [{"socketName": "a/b"}, {"historyLimit": -1}, {"enterRetries": -1}, {"unknownKey": 1}, {"windowWidth": 0}],
)
def test_config_rejects_bad_values(options: dict[str, object]) -> None:
    with pytest.raises(pydantic.ValidationError):
        TmuxRuntimeConfig.model_validate(options)
