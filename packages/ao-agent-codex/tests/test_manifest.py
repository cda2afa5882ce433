from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import ao_agent_codex
import pydantic
import pytest
from ao_agent_codex import CodexAgent, CodexAgentConfig, CodexProvider, ModelPrice, create
from ao_core.interfaces import (
    Agent,
    PluginModule,
    SupportsPostLaunchSetup,
    SupportsRestoreCommand,
    SupportsWorkspaceHooks,
)
from ao_core.models import PluginSlot, PromptDelivery

# Static conformance: mypy rejects this line if the module stops being an agent plugin.
_MODULE: PluginModule[Agent] = ao_agent_codex


def test_entry_point_names_the_module() -> None:
    (entry,) = [ep for ep in entry_points(group="ao.agent") if ep.name == "codex"]
    assert entry.value == "ao_agent_codex"
    assert entry.load() is ao_agent_codex


def test_manifest_name_and_slot() -> None:
    assert ao_agent_codex.manifest.name == "codex"
    assert ao_agent_codex.manifest.slot is PluginSlot.AGENT
    assert ao_agent_codex.manifest.version == "0.1.0"


def test_create_returns_the_agent_with_its_capabilities() -> None:
    agent = create()
    assert isinstance(agent, CodexAgent)
    assert (agent.name, agent.process_name, agent.prompt_delivery) == ("codex", "codex", PromptDelivery.INLINE)
    assert isinstance(agent, SupportsRestoreCommand)
    assert isinstance(agent, SupportsWorkspaceHooks)
    assert isinstance(agent, SupportsPostLaunchSetup)
    assert agent.config == CodexAgentConfig()


def test_import_is_cheap() -> None:
    code = "import sys, ao_agent_codex; print('ao_agent_codex._agent' in sys.modules, 'anyio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30)
    assert out.stdout.split() == ["False", "False"]


def test_lazy_names_resolve() -> None:
    assert ao_agent_codex.CodexAgent is CodexAgent
    assert callable(ao_agent_codex.stop_app_server_daemons)
    with pytest.raises(AttributeError):
        _ = ao_agent_codex.no_such_name


def test_config_reads_camel_case_keys() -> None:
    config = CodexAgentConfig.model_validate(
        {
            "command": "/opt/codex/bin/codex",
            "codexHome": "/srv/codex",
            "provider": {"id": "proxy", "name": "Proxy", "baseUrl": "http://127.0.0.1:9000/v1", "envKey": "PROXY_KEY"},
            "pricing": {"gpt-5": {"input": 1.25, "cachedInput": 0.125, "output": 10}},
            "extraArgs": ["--search"],
            "trustWorkspace": False,
            "systemPromptMode": "replace",
            "noDaemon": False,
            "threadWaitS": 0,
            "activeWindowMs": 5000,
        }
    )
    assert config.command == "/opt/codex/bin/codex"
    assert config.codex_home == "/srv/codex"
    assert config.provider == CodexProvider(
        id="proxy", name="Proxy", base_url="http://127.0.0.1:9000/v1", env_key="PROXY_KEY"
    )
    assert config.pricing["gpt-5"] == ModelPrice(input=1.25, cached_input=0.125, output=10)
    assert config.extra_args == ["--search"]
    assert (config.trust_workspace, config.system_prompt_mode, config.no_daemon) == (False, "replace", False)
    assert (config.thread_wait_s, config.active_window_ms) == (0, 5000)


@pytest.mark.parametrize(
    "options",
    [
        {"command": ""},
        {"unknownKey": 1},
        {"systemPromptMode": "prepend"},
        {"threadWaitS": -1},
        {"provider": {"baseUrl": "not a url"}},
        {"provider": {"baseUrl": "http://x/v1", "id": "bad id"}},
        {"provider": {"baseUrl": "http://x/v1", "envKey": "1BAD"}},
        {"provider": {"baseUrl": "http://x/v1", "wireApi": "chat"}},
        {"pricing": {"x": {"input": 1}}},
    ],
)
def test_config_rejects_bad_values(options: dict[str, object]) -> None:
    with pytest.raises(pydantic.ValidationError):
        CodexAgentConfig.model_validate(options)
