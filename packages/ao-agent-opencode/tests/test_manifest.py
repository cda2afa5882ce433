from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import ao_agent_opencode
import pydantic
import pytest
from ao_agent_opencode import OpenCodeAgent, OpenCodeAgentConfig, create
from ao_core.interfaces import Agent, PluginModule, SupportsRestoreCommand, SupportsWorkspaceHooks
from ao_core.models import PluginSlot, PromptDelivery

# Static conformance: mypy rejects this line if the module stops being an agent plugin.
_MODULE: PluginModule[Agent] = ao_agent_opencode


def test_entry_point_names_the_module() -> None:
    (entry,) = [ep for ep in entry_points(group="ao.agent") if ep.name == "opencode"]
    assert entry.value == "ao_agent_opencode"
    assert entry.load() is ao_agent_opencode


def test_manifest_name_and_slot() -> None:
    assert ao_agent_opencode.manifest.name == "opencode"
    assert ao_agent_opencode.manifest.slot is PluginSlot.AGENT
    assert ao_agent_opencode.manifest.version == "0.1.0"


def test_create_returns_the_agent_with_its_capabilities() -> None:
    agent = create()
    assert isinstance(agent, OpenCodeAgent)
    assert (agent.name, agent.process_name, agent.prompt_delivery) == ("opencode", "opencode", PromptDelivery.INLINE)
    assert isinstance(agent, SupportsRestoreCommand)
    assert isinstance(agent, SupportsWorkspaceHooks)
    assert agent.config == OpenCodeAgentConfig()


def test_import_is_cheap() -> None:
    code = (
        "import sys, ao_agent_opencode; "
        "print('ao_agent_opencode._agent' in sys.modules, 'anyio' in sys.modules, 'sqlite3' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30)
    assert out.stdout.split() == ["False", "False", "False"]


def test_config_reads_camel_case_keys() -> None:
    config = OpenCodeAgentConfig.model_validate(
        {
            "command": "/opt/opencode",
            "provider": "anthropic",
            "baseUrl": "http://127.0.0.1:8765/v1",
            "apiKey": "sk-test",
            "extraConfig": {"agent": {"build": {"temperature": 0}}},
            "extraArgs": ["--pure"],
            "dataDir": "/srv/opencode",
            "activeWindowMs": 5000,
        }
    )
    assert (config.command, config.provider, config.base_url) == (
        "/opt/opencode",
        "anthropic",
        "http://127.0.0.1:8765/v1",
    )
    assert config.api_key is not None
    assert config.api_key.get_secret_value() == "sk-test"
    assert config.extra_config == {"agent": {"build": {"temperature": 0}}}
    assert (config.extra_args, config.data_dir, config.active_window_ms) == (["--pure"], "/srv/opencode", 5000)
    assert "sk-test" not in repr(config)


@pytest.mark.parametrize(
    "options",
    [
        {"command": ""},
        {"activeWindowMs": -1},
        {"unknownKey": 1},
        {"baseUrl": "http://127.0.0.1:1/v1"},
        {"apiKey": "sk-x"},
        {"provider": "bad provider"},
    ],
)
def test_config_rejects_bad_values(options: dict[str, object]) -> None:
    with pytest.raises(pydantic.ValidationError):
        OpenCodeAgentConfig.model_validate(options)
