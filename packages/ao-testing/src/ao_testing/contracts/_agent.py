"""The agent contract suite."""

from __future__ import annotations

import re
import shlex
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from ao_core.config._schema import ProjectConfig
from ao_core.interfaces import Agent, SupportsRecordActivity, SupportsRestoreCommand, SupportsWorkspaceHooks
from ao_core.models import (
    ActivityDetection,
    ActivityState,
    AgentLaunchConfig,
    AgentSessionInfo,
    PermissionMode,
    PromptDelivery,
    Session,
    WorkspaceHooksConfig,
)

from ao_testing.contracts._checks import active_shell_syntax

__all__ = ["HOSTILE_TEXT", "AgentContract"]

HOSTILE_TEXT = (
    "Fix it'; touch /tmp/ao-pwned-1; echo '\n"
    '"$(touch /tmp/ao-pwned-2)" `touch /tmp/ao-pwned-3` ${HOME} $HOME \\ ; | && > /tmp/ao-pwned-4 < * ? [a] {b,c} # end'
)
"""Text from outside (an issue body) that must reach the agent as data, never as shell syntax."""

BENIGN_TEXT = "Fix the failing test in the parser module and add a regression test for it, then push"
"""Ordinary text of similar length."""

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

TERMINAL_SAMPLES = (
    "",
    "   \n\n",
    "hello",
    "\x1b[31mred text\x1b[0m\n",
    "Do you want to proceed? (y/n)",
    "Error: something failed\n$ ",
    "line\n" * 2000,
    "unicode ✓ → ünïcödé",
)
"""Terminal text ``detect_activity`` must classify without raising."""


@pytest.mark.anyio
class AgentContract:
    """What every agent plugin must do. Subclass it in a ``Test*`` class and provide the fixtures.

    Fixtures the subclass provides:

    - ``agent`` (required): the :class:`~ao_core.interfaces.Agent` under test.
    - ``agent_workspace`` (optional): a directory used as the session's workspace; default a fresh
      directory under ``tmp_path`` (give a real workspace if the agent reads files there).
    - ``agent_project`` (optional): the :class:`~ao_core.config.ProjectConfig` for restore commands;
      default a project at ``agent_workspace``.

    Checked: name, process name and prompt delivery; the launch command is a non-empty, well-quoted
    shell command for every combination of options, and hostile text in the prompt or system prompt
    adds no shell syntax to it (compared with ordinary text, by :func:`active_shell_syntax`); the
    environment is ``str`` to ``str`` with valid names; ``detect_activity`` classifies any text;
    ``get_activity_state`` and ``get_session_info`` return ``None`` or the right model for a session with
    no history. Restore commands, workspace hooks (idempotent) and activity recording are checked when
    supported. Nothing is launched.
    """

    @pytest.fixture
    def agent_workspace(self, tmp_path: Path) -> Path:
        """The session's workspace directory."""
        path = tmp_path / "agent-workspace"
        path.mkdir()
        return path

    @pytest.fixture
    def agent_project(self, agent_workspace: Path) -> ProjectConfig:
        """The project the session belongs to."""
        return ProjectConfig(name="contract", path=str(agent_workspace))

    @staticmethod
    def _launch_config(workspace: Path, **fields: Any) -> AgentLaunchConfig:
        values: dict[str, Any] = {
            "session_id": "aoc-1",
            "project_id": "contract",
            "workspace_path": str(workspace),
            "issue_id": "42",
            "prompt": BENIGN_TEXT,
        }
        values.update(fields)
        return AgentLaunchConfig(**values)

    @staticmethod
    def _session(agent: Agent, workspace: Path) -> Session:
        return Session(
            id="aoc-1", project_id="contract", branch="feat/issue-42", workspace_path=str(workspace), agent=agent.name
        )

    # ------------------------------------------------------------------ tests

    async def test_identity(self, agent: Agent) -> None:
        assert isinstance(agent.name, str)
        assert agent.name
        assert isinstance(agent.process_name, str)
        assert agent.process_name.strip()
        assert isinstance(agent.prompt_delivery, PromptDelivery)

    @pytest.mark.parametrize(
        "options",
        [
            {},
            {"prompt": None},
            {"model": "some-model"},
            {"system_prompt": "You are careful."},
            {"system_prompt_file": "/tmp/ao contract/system prompt.md"},
            {"system_prompt": "ignored", "system_prompt_file": "/tmp/system.md"},
            {"agent_session_id": "0b5b2c1e-3a4d-4e55-9d7e-1f2a3b4c5d6e"},
            *({"permissions": mode} for mode in PermissionMode),
        ],
        ids=lambda options: ",".join(f"{k}={v}" for k, v in options.items()) or "defaults",
    )
    async def test_launch_command_is_a_well_formed_shell_command(
        self, agent: Agent, agent_workspace: Path, options: dict[str, Any]
    ) -> None:
        command = agent.get_launch_command(self._launch_config(agent_workspace, **options))
        assert isinstance(command, str)
        assert command.strip()
        assert shlex.split(command), f"launch command has no words: {command!r}"
        assert "<unterminated quote>" not in active_shell_syntax(command), f"unbalanced quotes: {command!r}"

    @pytest.mark.parametrize("field", ["prompt", "system_prompt"])
    async def test_hostile_text_adds_no_shell_syntax(self, agent: Agent, agent_workspace: Path, field: str) -> None:
        benign = agent.get_launch_command(self._launch_config(agent_workspace, **{field: BENIGN_TEXT}))
        hostile = agent.get_launch_command(self._launch_config(agent_workspace, **{field: HOSTILE_TEXT}))
        leaked = Counter(active_shell_syntax(hostile)) - Counter(active_shell_syntax(benign))
        assert not leaked, f"{field} reaches the shell unquoted (extra syntax {sorted(leaked)}): {hostile!r}"

    async def test_environment_is_str_to_str(self, agent: Agent, agent_workspace: Path) -> None:
        environment = agent.get_environment(self._launch_config(agent_workspace))
        assert isinstance(environment, dict)
        for key, value in environment.items():
            assert isinstance(key, str)
            assert _ENV_NAME.match(key), f"invalid environment variable name {key!r}"
            assert isinstance(value, str), f"{key} is {type(value).__name__}, not str"

    @pytest.mark.parametrize("text", TERMINAL_SAMPLES, ids=lambda text: repr(text[:20]))
    async def test_detect_activity_classifies_any_text(self, agent: Agent, text: str) -> None:
        assert isinstance(agent.detect_activity(text), ActivityState)

    async def test_activity_state_is_none_or_a_detection(self, agent: Agent, agent_workspace: Path) -> None:
        detection = await agent.get_activity_state(self._session(agent, agent_workspace), 1000)
        assert detection is None or isinstance(detection, ActivityDetection)

    async def test_session_info_is_none_or_info(self, agent: Agent, agent_workspace: Path) -> None:
        info = await agent.get_session_info(self._session(agent, agent_workspace))
        assert info is None or isinstance(info, AgentSessionInfo)
        if info is not None and info.cost is not None:
            assert info.cost.input_tokens >= 0
            assert info.cost.output_tokens >= 0
            assert info.cost.estimated_cost_usd >= 0

    async def test_restore_command_when_supported(
        self, agent: Agent, agent_workspace: Path, agent_project: ProjectConfig
    ) -> None:
        if not isinstance(agent, SupportsRestoreCommand):
            pytest.skip(f"agent {agent.name!r} does not implement SupportsRestoreCommand")
        command = await agent.get_restore_command(self._session(agent, agent_workspace), agent_project)
        if command is not None:
            assert command.strip()
            assert "<unterminated quote>" not in active_shell_syntax(command), f"unbalanced quotes: {command!r}"

    async def test_workspace_hooks_when_supported(self, agent: Agent, agent_workspace: Path, tmp_path: Path) -> None:
        if not isinstance(agent, SupportsWorkspaceHooks):
            pytest.skip(f"agent {agent.name!r} does not implement SupportsWorkspaceHooks")
        data_dir = tmp_path / "hook-data"
        data_dir.mkdir()
        config = WorkspaceHooksConfig(session_id="aoc-1", data_dir=str(data_dir))
        await agent.setup_workspace_hooks(str(agent_workspace), config)
        await agent.setup_workspace_hooks(str(agent_workspace), config)

    async def test_record_activity_when_supported(self, agent: Agent, agent_workspace: Path) -> None:
        if not isinstance(agent, SupportsRecordActivity):
            pytest.skip(f"agent {agent.name!r} does not implement SupportsRecordActivity")
        await agent.record_activity(self._session(agent, agent_workspace), "working on it\n")
