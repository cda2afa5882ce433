from __future__ import annotations

import pytest
from ao_agent_claude_code import ClaudeCodeAgentConfig, create
from ao_core.interfaces import Agent
from ao_testing.contracts import AgentContract


class TestClaudeCodeAgentContract(AgentContract):
    @pytest.fixture
    def agent(self) -> Agent:
        return create(ClaudeCodeAgentConfig())
