from __future__ import annotations

import pytest
from ao_agent_aider import AiderAgentConfig, create
from ao_core.interfaces import Agent
from ao_testing.contracts import AgentContract


class TestAiderAgentContract(AgentContract):
    @pytest.fixture
    def agent(self) -> Agent:
        return create(AiderAgentConfig(openai_api_base="http://127.0.0.1:9/v1", openai_api_key="sk-contract"))
