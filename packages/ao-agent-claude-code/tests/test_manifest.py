from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import ao_agent_claude_code
import pydantic
import pytest
from ao_agent_claude_code import ClaudeCodeAgent, ClaudeCodeAgentConfig, ModelPrice, create
from ao_core.interfaces import Agent, PluginModule, SupportsRestoreCommand, SupportsWorkspaceHooks
from ao_core.models import PluginSlot, PromptDelivery

# Static conformance: mypy rejects this line if the module stops being an agent plugin.
_MODULE: PluginModule[Agent] = ao_agent_claude_code


def test_entry_point_names_the_module() -> None:
    (entry,) = [ep for ep in entry_points(group="ao.agent") if ep.name == "claude-code"]
    assert entry.value == "ao_agent_claude_code"
    assert entry.load() is ao_agent_claude_code


def test_manifest_name_and_slot() -> None:
    assert ao_agent_claude_code.manifest.name == "claude-code"
    assert ao_agent_claude_code.manifest.slot is PluginSlot.AGENT
    assert ao_agent_claude_code.manifest.version == "0.1.0"


def test_create_returns_the_agent_with_its_capabilities() -> None:
    agent = create()
    assert isinstance(agent, ClaudeCodeAgent)
    assert (agent.name, agent.process_name, agent.prompt_delivery) == (
        "claude-code",
        "claude",
        PromptDelivery.POST_LAUNCH,
    )
    assert isinstance(agent, SupportsRestoreCommand)
    assert isinstance(agent, SupportsWorkspaceHooks)
    assert agent.config == ClaudeCodeAgentConfig()
    configured = create(ClaudeCodeAgentConfig(command="/opt/claude/bin/claude"))
    assert isinstance(configured, ClaudeCodeAgent)
    assert configured.config.command == "/opt/claude/bin/claude"


def test_import_is_cheap() -> None:
    code = (
        "import sys, ao_agent_claude_code; print('ao_agent_claude_code._agent' in sys.modules, 'anyio' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30)
    assert out.stdout.split() == ["False", "False"]


def test_config_reads_camel_case_keys() -> None:
    config = ClaudeCodeAgentConfig.model_validate(
        {
            "command": "claude-beta",
            "extraArgs": ["--effort", "low"],
            "configDir": "/srv/claude",
            "trustWorkspace": False,
            "workspaceHooks": False,
            "hookTimeoutS": 3,
            "activeWindowMs": 5000,
            "pricing": {"claude-sonnet-4": {"input": 1, "output": 2, "cacheRead": 0.1, "cacheWrite": 1.5}},
        }
    )
    assert config.command == "claude-beta"
    assert config.extra_args == ["--effort", "low"]
    assert (config.config_dir, config.trust_workspace, config.workspace_hooks) == ("/srv/claude", False, False)
    assert (config.hook_timeout_s, config.active_window_ms) == (3, 5000)
    assert config.pricing["claude-sonnet-4"] == ModelPrice(input=1, output=2, cache_read=0.1, cache_write=1.5)


@pytest.mark.parametrize(
    "options",
    [{"command": ""}, {"hookTimeoutS": 0}, {"activeWindowMs": -1}, {"unknownKey": 1}, {"pricing": {"x": {"input": 1}}}],
)
def test_config_rejects_bad_values(options: dict[str, object]) -> None:
    with pytest.raises(pydantic.ValidationError):
        ClaudeCodeAgentConfig.model_validate(options)
