"""An agent plugin for end-to-end tests, loaded from its path: it runs ``echo_agent_program.py``.

The program records each message it receives in ``<workspace>/.echo-agent/inbox.jsonl`` and shows an
``echo> `` prompt when ready, so the kernel's readiness detection and delivery can be checked for real.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from ao_core.interfaces import Agent, PluginManifest
from ao_core.models import (
    ActivityDetection,
    ActivityState,
    AgentLaunchConfig,
    AgentSessionInfo,
    PluginSlot,
    PromptDelivery,
    RuntimeHandle,
    Session,
)
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

PROGRAM = Path(__file__).with_name("echo_agent_program.py")

manifest = PluginManifest(name="echo", slot=PluginSlot.AGENT, description="Test agent that records its input")


class EchoAgentConfig(BaseModel):
    """Options of the echo agent."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    work_seconds: float = 0.0
    """How long it pretends to work after each message."""


def inbox(workspace: str | Path) -> Path:
    """Where the echo agent records what it received."""
    return Path(workspace) / ".echo-agent" / "inbox.jsonl"


class EchoAgent:
    """Runs the echo program; readiness from its screen."""

    name = "echo"
    process_name = "python"
    prompt_delivery = PromptDelivery.POST_LAUNCH

    def __init__(self, config: EchoAgentConfig) -> None:
        self.config = config

    def get_launch_command(self, config: AgentLaunchConfig) -> str:
        record = inbox(config.workspace_path)
        record.parent.mkdir(parents=True, exist_ok=True)
        (record.parent / ".gitignore").write_text("*\n")  # keep the worktree clean, as agents' own files are
        parts = [sys.executable, str(PROGRAM), str(record)]
        if self.config.work_seconds:
            parts += ["--work-seconds", str(self.config.work_seconds)]
        return shlex.join(parts)

    def get_environment(self, config: AgentLaunchConfig) -> dict[str, str]:
        return {"ECHO_AGENT_SESSION": config.session_id}

    def detect_activity(self, terminal_output: str) -> ActivityState:
        lines = [line for line in terminal_output.splitlines() if line.strip()]
        if lines and lines[-1].startswith("echo>"):
            return ActivityState.READY
        return ActivityState.ACTIVE

    async def get_activity_state(self, session: Session, ready_threshold_ms: int) -> ActivityDetection | None:
        return None

    async def is_process_running(self, handle: RuntimeHandle) -> bool:
        return True

    async def get_session_info(self, session: Session) -> AgentSessionInfo | None:
        return None


def create(config: EchoAgentConfig | None = None) -> Agent:
    """Build the echo agent."""
    return EchoAgent(config or EchoAgentConfig())
