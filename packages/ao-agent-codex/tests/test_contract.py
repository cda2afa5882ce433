from __future__ import annotations

import pytest
from ao_agent_codex import CodexAgentConfig, create
from ao_core.interfaces import Agent
from ao_testing.contracts import AgentContract


class TestCodexAgentContract(AgentContract):
    @pytest.fixture
    def agent(self) -> Agent:
        return create(CodexAgentConfig())


class TestCodexAgentWithProviderContract(AgentContract):
    @pytest.fixture
    def agent(self) -> Agent:
        return create(
            CodexAgentConfig.model_validate(
                {"provider": {"baseUrl": "http://127.0.0.1:1/v1", "envKey": "KEY"}, "systemPromptMode": "replace"}
            )
        )
