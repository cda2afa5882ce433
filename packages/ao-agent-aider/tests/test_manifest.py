from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import ao_agent_aider
import pydantic
import pytest
from ao_agent_aider import AiderAgent, AiderAgentConfig, create
from ao_core.interfaces import Agent, PluginModule, SupportsRestoreCommand, SupportsWorkspaceHooks
from ao_core.models import PluginSlot, PromptDelivery

# Static conformance: mypy rejects this line if the module stops being an agent plugin.
_MODULE: PluginModule[Agent] = ao_agent_aider


def test_entry_point_names_the_module() -> None:
    (entry,) = [ep for ep in entry_points(group="ao.agent") if ep.name == "aider"]
    assert entry.value == "ao_agent_aider"
    assert entry.load() is ao_agent_aider


def test_manifest_name_and_slot() -> None:
    assert ao_agent_aider.manifest.name == "aider"
    assert ao_agent_aider.manifest.slot is PluginSlot.AGENT
    assert ao_agent_aider.manifest.version == "0.1.0"


def test_create_returns_the_agent_with_its_capabilities() -> None:
    agent = create()
    assert isinstance(agent, AiderAgent)
    assert (agent.name, agent.process_name, agent.prompt_delivery) == ("aider", "aider", PromptDelivery.POST_LAUNCH)
    assert isinstance(agent, SupportsRestoreCommand)
    assert isinstance(agent, SupportsWorkspaceHooks)
    assert agent.config == AiderAgentConfig()
    configured = create(AiderAgentConfig(command="/opt/aider/bin/aider"))
    assert isinstance(configured, AiderAgent)
    assert configured.config.command == "/opt/aider/bin/aider"


def test_import_is_cheap() -> None:
    code = "import sys, ao_agent_aider; print('ao_agent_aider._agent' in sys.modules, 'anyio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30)
    assert out.stdout.split() == ["False", "False"]


def test_config_reads_camel_case_keys() -> None:
    config = AiderAgentConfig.model_validate(
        {
            "command": "aider-beta",
            "openaiApiBase": "http://127.0.0.1:8000/v1",
            "openaiApiKey": "sk-test",
            "editFormat": "diff",
            "autoCommits": False,
            "excludeAiderFiles": False,
            "extraArgs": ["--map-tokens", "0"],
            "activeWindowMs": 5000,
        }
    )
    assert (config.command, config.openai_api_base, config.edit_format) == (
        "aider-beta",
        "http://127.0.0.1:8000/v1",
        "diff",
    )
    assert config.openai_api_key is not None
    assert config.openai_api_key.get_secret_value() == "sk-test"
    assert (config.auto_commits, config.exclude_aider_files, config.active_window_ms) == (False, False, 5000)
    assert config.extra_args == ["--map-tokens", "0"]


def test_the_api_key_is_not_shown_in_the_config_repr() -> None:
    config = AiderAgentConfig(openai_api_key="sk-very-secret")
    assert "sk-very-secret" not in repr(config)
    assert "sk-very-secret" not in str(config.model_dump())


@pytest.mark.parametrize(
    "options",
    [{"command": ""}, {"activeWindowMs": -1}, {"unknownKey": 1}, {"editFormat": "diff; rm -rf /"}],
)
def test_config_rejects_bad_values(options: dict[str, object]) -> None:
    with pytest.raises(pydantic.ValidationError):
        AiderAgentConfig.model_validate(options)
