"""An agent adapter with a scripted activity per session and a launch command built from its config."""

from __future__ import annotations

import shlex
from collections.abc import Mapping

import anyio.lowlevel

from ao_core.config._schema import ProjectConfig
from ao_core.interfaces import Runtime
from ao_core.models import (
    ActivityDetection,
    ActivityState,
    AgentLaunchConfig,
    AgentSessionInfo,
    CostEstimate,
    PromptDelivery,
    RuntimeHandle,
    Session,
    WorkspaceHooksConfig,
    utc_now,
)
from ao_core.testing._calls import CallRecorder

__all__ = ["FakeAgent"]

_DEFAULT_COST = CostEstimate(input_tokens=1200, output_tokens=300, estimated_cost_usd=0.0081)


class FakeAgent(CallRecorder):
    """An agent adapter for tests: nothing runs, every answer is scripted or derived from simple rules.

    Launch command: ``<command> --session <id> [--model M] [--system-prompt-file F | --system-prompt S]
    [--resume A] [--prompt P]``, every value shell-quoted (``--prompt`` only with inline delivery).

    ``detect_activity`` reads markers in the terminal text (the first rule that matches wins):

    - empty text → ``idle``
    - ``[exited]`` → ``exited``; ``(y/n)`` or ``[waiting]`` → ``waiting_input``; ``[error]`` → ``blocked``
    - last non-blank line is ``>`` or ends with ``> `` → ``ready``
    - anything else → ``active``

    ``get_activity_state`` returns what :meth:`set_activity` scripted for the session, else ``None`` (so the
    kernel falls back to ``detect_activity``). ``is_process_running`` follows :meth:`set_process_running`,
    else the linked runtime's ``is_alive``, else ``True``. ``get_session_info`` returns what
    :meth:`set_session_info` scripted, else an info with a fixed :class:`~ao_core.models.CostEstimate`.

    Implements every optional agent capability: restore command, post-launch setup, workspace hooks and
    activity recording (all recorded on the instance).
    """

    def __init__(
        self,
        name: str = "fake",
        *,
        process_name: str = "fake-agent",
        prompt_delivery: PromptDelivery = PromptDelivery.INLINE,
        command: str | None = None,
        environment: Mapping[str, str] | None = None,
        runtime: Runtime | None = None,
    ) -> None:
        super().__init__()
        self._name = name
        self._process_name = process_name
        self._prompt_delivery = PromptDelivery(prompt_delivery)
        self.command = command if command is not None else process_name
        """The start of every launch command (a trusted shell fragment)."""
        self.environment = dict(environment or {})
        """Extra variables returned by ``get_environment``."""
        self.runtime = runtime
        """When set, ``is_process_running`` asks this runtime whether the session is alive."""
        self.activity: dict[str, ActivityDetection | None] = {}
        self.process_running: dict[str, bool] = {}
        self.session_info: dict[str, AgentSessionInfo | None] = {}
        self.launch_configs: list[AgentLaunchConfig] = []
        """Every config ``get_launch_command`` was called with."""
        self.post_launch_sessions: list[str] = []
        self.hooks_installed: list[tuple[str, WorkspaceHooksConfig]] = []
        self.activity_log: dict[str, list[ActivityDetection]] = {}
        """What ``record_activity`` classified, per session id."""

    # ------------------------------------------------------------------ Agent

    @property
    def name(self) -> str:
        """The plugin name (``fake`` unless given)."""
        return self._name

    @property
    def process_name(self) -> str:
        """The executable name (``fake-agent`` unless given)."""
        return self._process_name

    @property
    def prompt_delivery(self) -> PromptDelivery:
        """Inline unless given."""
        return self._prompt_delivery

    def get_launch_command(self, config: AgentLaunchConfig) -> str:
        """Build the launch command; every value from ``config`` is shell-quoted."""
        self._record("get_launch_command")
        self.launch_configs.append(config.model_copy(deep=True))
        args = ["--session", config.session_id]
        if config.model:
            args += ["--model", config.model]
        if config.system_prompt_file:
            args += ["--system-prompt-file", config.system_prompt_file]
        elif config.system_prompt:
            args += ["--system-prompt", config.system_prompt]
        if config.agent_session_id:
            args += ["--resume", config.agent_session_id]
        if config.prompt and self._prompt_delivery is PromptDelivery.INLINE:
            args += ["--prompt", config.prompt]
        return f"{self.command} {shlex.join(args)}"

    def get_environment(self, config: AgentLaunchConfig) -> dict[str, str]:
        """``FAKE_AGENT_SESSION`` and ``FAKE_AGENT_PROJECT`` plus the configured extra variables."""
        self._record("get_environment")
        env = {"FAKE_AGENT_SESSION": config.session_id, "FAKE_AGENT_PROJECT": config.project_id}
        env.update(self.environment)
        return env

    def detect_activity(self, terminal_output: str) -> ActivityState:
        """Classify terminal text by the markers listed in the class docstring."""
        self._record("detect_activity")
        return classify_fake_output(terminal_output)

    async def get_activity_state(self, session: Session, ready_threshold_ms: int) -> ActivityDetection | None:
        """The scripted activity of the session, or ``None`` when none was scripted."""
        await self._enter("get_activity_state")
        detection = self.activity.get(session.id)
        return None if detection is None else detection.model_copy()

    async def is_process_running(self, handle: RuntimeHandle) -> bool:
        """The scripted answer, else the linked runtime's ``is_alive``, else ``True``."""
        await self._enter("is_process_running")
        if handle.id in self.process_running:
            return self.process_running[handle.id]
        if self.runtime is not None:
            return await self.runtime.is_alive(handle)
        return True

    async def get_session_info(self, session: Session) -> AgentSessionInfo | None:
        """The scripted info, else a summary, an agent session id ``fake-<id>`` and a fixed cost."""
        await self._enter("get_session_info")
        if session.id in self.session_info:
            info = self.session_info[session.id]
            return None if info is None else info.model_copy(deep=True)
        return AgentSessionInfo(
            summary=f"fake agent working on {session.issue_id or session.id}",
            summary_is_fallback=True,
            agent_session_id=f"fake-{session.id}",
            cost=_DEFAULT_COST.model_copy(),
        )

    # ------------------------------------------------------------------ optional capabilities

    async def get_restore_command(self, session: Session, project: ProjectConfig) -> str | None:
        """``<command> --resume <agent session id>`` when the session info has an id, else ``None``."""
        await self._enter("get_restore_command")
        info = self.session_info.get(session.id, session.agent_info)
        if info is None or not info.agent_session_id:
            return None
        return f"{self.command} {shlex.join(['--resume', info.agent_session_id])}"

    async def post_launch_setup(self, session: Session) -> None:
        """Record the session id in ``post_launch_sessions``."""
        await self._enter("post_launch_setup")
        self.post_launch_sessions.append(session.id)

    async def setup_workspace_hooks(self, workspace_path: str, config: WorkspaceHooksConfig) -> None:
        """Record the call in ``hooks_installed`` (no file is written)."""
        await self._enter("setup_workspace_hooks")
        self.hooks_installed.append((workspace_path, config.model_copy(deep=True)))

    async def record_activity(self, session: Session, terminal_output: str) -> None:
        """Classify ``terminal_output`` and append the result to ``activity_log[session.id]``."""
        await self._enter("record_activity")
        state = classify_fake_output(terminal_output)
        entry = ActivityDetection(state=state, timestamp=utc_now(), evidence="fake terminal markers")
        self.activity_log.setdefault(session.id, []).append(entry)

    # ------------------------------------------------------------------ test controls

    def set_activity(
        self, session_id: str, state: ActivityState | ActivityDetection | None, *, evidence: str | None = None
    ) -> None:
        """Script what ``get_activity_state`` returns for a session (``None``: no native signal)."""
        if state is None or isinstance(state, ActivityDetection):
            self.activity[session_id] = state
        else:
            self.activity[session_id] = ActivityDetection(state=state, timestamp=utc_now(), evidence=evidence)

    def set_process_running(self, handle_id: str, running: bool | None) -> None:
        """Script ``is_process_running`` for a handle id (``None``: back to the default rule)."""
        if running is None:
            self.process_running.pop(handle_id, None)
        else:
            self.process_running[handle_id] = running

    def set_session_info(self, session_id: str, info: AgentSessionInfo | None) -> None:
        """Script what ``get_session_info`` returns for a session (``None`` included)."""
        self.session_info[session_id] = info

    async def _enter(self, method: str) -> None:
        await anyio.lowlevel.checkpoint()
        self._record(method)


def classify_fake_output(terminal_output: str) -> ActivityState:
    """Classify terminal text by :class:`FakeAgent`'s markers."""
    if not terminal_output.strip():
        return ActivityState.IDLE
    lowered = terminal_output.lower()
    if "[exited]" in lowered:
        return ActivityState.EXITED
    if "(y/n)" in lowered or "[waiting]" in lowered:
        return ActivityState.WAITING_INPUT
    if "[error]" in lowered:
        return ActivityState.BLOCKED
    last = [line for line in terminal_output.splitlines() if line.strip()][-1]
    if last.strip() == ">" or last.endswith("> "):
        return ActivityState.READY
    return ActivityState.ACTIVE
