from __future__ import annotations

import pytest
from ao_agent_opencode import OpenCodeAgentConfig, create
from ao_core.interfaces import Agent
from ao_testing.contracts import AgentContract


class TestOpenCodeAgentContract(AgentContract):
    @pytest.fixture
    def agent(self) -> Agent:
        return create(OpenCodeAgentConfig(provider="anthropic", base_url="http://127.0.0.1:9/v1", api_key="sk-c"))
