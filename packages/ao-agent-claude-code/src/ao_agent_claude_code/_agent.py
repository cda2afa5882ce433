"""The Claude Code agent plugin."""

from __future__ import annotations

import logging
import os
import shlex
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from ao_core.config import ProjectConfig
from ao_core.models import (
    ActivityDetection,
    ActivityState,
    AgentLaunchConfig,
    AgentSessionInfo,
    CostEstimate,
    PermissionMode,
    PromptDelivery,
    RuntimeHandle,
    Session,
    WorkspaceHooksConfig,
)
from ao_core.procs import matches, runs_in

from ao_agent_claude_code import _hooks
from ao_agent_claude_code._config import ClaudeCodeAgentConfig
from ao_agent_claude_code._paths import config_dir, global_config_path, transcript_path
from ao_agent_claude_code._pricing import price_for
from ao_agent_claude_code._screen import classify_screen
from ao_agent_claude_code._transcript import (
    StatsReader,
    TranscriptStats,
    age_text,
    classify,
    parse_timestamp,
    read_tail,
    summary_of,
)
from ao_agent_claude_code._trust import trust_folder

__all__ = ["ClaudeCodeAgent"]

log = logging.getLogger("ao.agent.claude-code")

_PERMISSIONLESS = frozenset({PermissionMode.PERMISSIONLESS, PermissionMode.AUTO_EDIT})
_HOOK_STATES = {state.value: state for state in ActivityState}


class ClaudeCodeAgent:
    """Runs Claude Code (the ``claude`` CLI) interactively and reads its own records.

    - **Launch**: ``claude [--dangerously-skip-permissions] [--model M] [extra args] --session-id <id>
      [--append-system-prompt-file F]``: the kernel fixes the conversation id before launch, so the transcript
      is ``<config dir>/projects/<encoded workspace>/<id>.jsonl`` from the start and resume never guesses.
      The task prompt is typed in after launch (``post-launch``).
    - **Before launch** (``setup_workspace_hooks``): the workspace is marked trusted in Claude Code's state
      file, and ao's hooks are merged into ``<workspace>/.claude/settings.json``, which is kept out of git.
    - **Activity**: from the newest entries at the end of the transcript, overridden by a newer state that a
      hook recorded (a permission prompt, a finished turn); else ``None`` and the kernel reads the screen
      with :meth:`detect_activity`.
    - **Cost**: the transcript's usage, counted once per assistant message, priced per model.
    - **Restore**: ``claude --resume <id>`` when the transcript exists.

    Args:
        config: Options; defaults when ``None``.
    """

    def __init__(self, config: ClaudeCodeAgentConfig | None = None) -> None:
        self._config = config or ClaudeCodeAgentConfig()
        self._stats = StatsReader()

    # ------------------------------------------------------------------ identity

    @property
    def name(self) -> str:
        """The plugin name, ``claude-code``."""
        return "claude-code"

    @property
    def process_name(self) -> str:
        """``claude``."""
        return "claude"

    @property
    def prompt_delivery(self) -> PromptDelivery:
        """``post-launch``: a prompt on the command line would make Claude Code answer once and exit."""
        return PromptDelivery.POST_LAUNCH

    @property
    def config(self) -> ClaudeCodeAgentConfig:
        """The options this agent was built with."""
        return self._config

    # ------------------------------------------------------------------ launch

    def _common_args(self, permissions: PermissionMode, model: str | None) -> list[str]:
        words = [self._config.command]
        if permissions in _PERMISSIONLESS:
            words.append("--dangerously-skip-permissions")
        if model:
            words += ["--model", model]
        words += self._config.extra_args
        return words

    @staticmethod
    def _system_prompt_args(config: AgentLaunchConfig) -> list[str]:
        if config.system_prompt_file:
            return ["--append-system-prompt-file", config.system_prompt_file]
        if config.system_prompt:
            return ["--append-system-prompt", config.system_prompt]
        return []

    def get_launch_command(self, config: AgentLaunchConfig) -> str:
        """``claude`` with the permission flag, model, conversation id and system prompt; every word quoted.

        The system prompt is passed as a file (``--append-system-prompt-file``) when the kernel wrote one, so
        no prompt text goes through the shell or the argument list. The task prompt is not in the command.
        """
        words = self._common_args(config.permissions, config.model)
        session_id = _valid_uuid(config.agent_session_id)
        if session_id is not None:
            words += ["--session-id", session_id]
        elif config.agent_session_id:
            log.warning("agent session id %r is not a UUID; Claude Code will pick its own", config.agent_session_id)
        words += self._system_prompt_args(config)
        return shlex.join(words)

    def get_environment(self, config: AgentLaunchConfig) -> dict[str, str]:
        """``CLAUDECODE`` emptied, and ``CLAUDE_CONFIG_DIR`` when the ``configDir`` option is set.

        ``CLAUDECODE`` is emptied so that a Claude Code that started ao does not make this one look nested. No
        secret is added: the API key comes from the user's own environment.
        """
        environment = {"CLAUDECODE": ""}
        if self._config.config_dir:
            environment["CLAUDE_CONFIG_DIR"] = str(config_dir(self._config.config_dir))
        return environment

    async def get_restore_command(self, session: Session, project: ProjectConfig) -> str | None:
        """``claude --resume <id>`` (with the permission flag, model and system prompt) when the transcript exists.

        The workspace is marked trusted again first (it may have been recreated), so a resumed agent does not
        stop at the trust dialog either. ``None`` (launch afresh) when there is no transcript.
        """
        session_id = _valid_uuid(session.metadata.get("agentSessionId"))
        if session_id is None or not session.workspace_path:
            return None
        path = transcript_path(session.workspace_path, session_id, self._config.config_dir)
        if not await anyio.to_thread.run_sync(path.exists):
            return None
        await self._trust(session.workspace_path)
        agent_config = project.agent_config
        words = self._common_args(agent_config.permissions, agent_config.model)
        words += ["--resume", session_id]
        prompt_file = session.metadata.get("systemPromptFile")
        if isinstance(prompt_file, str) and await anyio.to_thread.run_sync(Path(prompt_file).is_file):
            words += ["--append-system-prompt-file", prompt_file]
        return shlex.join(words)

    # ------------------------------------------------------------------ before launch

    async def setup_workspace_hooks(self, workspace_path: str, config: WorkspaceHooksConfig) -> None:
        """Trust the workspace in Claude Code's state file and install ao's hooks in it.

        Runs before the agent starts. Both steps are idempotent; the hooks merge into an existing
        ``.claude/settings.json`` (other settings and other hooks are kept; ao's earlier hooks are replaced),
        and the file is kept out of the agent's commits (see :func:`~ao_agent_claude_code._hooks.exclude_from_git`).

        Raises:
            WorkspaceError: a settings or state file is not valid JSON or cannot be written.
        """
        workspace = Path(workspace_path)
        await self._trust(workspace_path)
        if not self._config.workspace_hooks:
            return
        await anyio.to_thread.run_sync(
            _hooks.install_settings, workspace, list(config.ao_command), self._config.hook_timeout_s
        )
        await _hooks.exclude_from_git(workspace)

    async def _trust(self, workspace_path: str) -> None:
        if not self._config.trust_workspace:
            return
        environment = dict(os.environ)
        if self._config.config_dir:
            environment["CLAUDE_CONFIG_DIR"] = str(config_dir(self._config.config_dir))
        state_file = global_config_path(None, environment)
        await anyio.to_thread.run_sync(trust_folder, state_file, Path(workspace_path))

    # ------------------------------------------------------------------ activity

    def detect_activity(self, terminal_output: str) -> ActivityState:
        """Classify Claude Code's screen (the fallback when the transcript says nothing).

        Dialogs and permission prompts are ``waiting_input``, ``esc to interrupt`` or a spinner is ``active``,
        the empty input box with its footer is ``ready``; an empty or unrecognised screen is ``active`` (never
        ``ready``).
        """
        return classify_screen(terminal_output)

    async def get_activity_state(self, session: Session, ready_threshold_ms: int) -> ActivityDetection | None:
        """The activity from the tail of the session's transcript, or from a newer hook-recorded state.

        Only the transcript's last entries are read (backwards, 4 KiB at a time). Entries older than the
        current launch (``restored_at``/``created_at``) describe an earlier process and are ignored. An agent
        in the middle of a turn is ``active`` while its newest entry is recent (``activeWindowMs``); after that
        the transcript cannot tell a long tool run from a question on screen, and ``None`` lets the kernel
        read the screen. ``ready`` becomes ``idle`` after ``ready_threshold_ms``.
        """
        now = datetime.now(UTC)
        launched = max(_aware(moment) for moment in (session.created_at, session.restored_at) if moment is not None)
        hook = _hook_state(session.metadata, launched)
        session_id = _valid_uuid(session.metadata.get("agentSessionId"))
        tail = None
        if session_id is not None and session.workspace_path:
            path = transcript_path(session.workspace_path, session_id, self._config.config_dir)
            tail = await anyio.to_thread.run_sync(read_tail, path)
        entry_at = tail.timestamp if tail is not None and tail.timestamp and tail.timestamp >= launched else None
        if hook is not None and (entry_at is None or hook[1] > entry_at):
            state, at, what = hook
            return self._decide(state, state is ActivityState.ACTIVE, at, now, ready_threshold_ms, f"hook {what}")
        if tail is None or tail.entry is None or entry_at is None:
            return None
        classified = classify(tail.entry)
        if classified is None:
            return None
        return self._decide(
            classified.state,
            classified.working,
            entry_at,
            now,
            ready_threshold_ms,
            f"transcript tail: {classified.what}",
        )

    def _decide(
        self, state: ActivityState, working: bool, at: datetime, now: datetime, threshold_ms: int, what: str
    ) -> ActivityDetection | None:
        age = now - at
        if working:
            if age > timedelta(milliseconds=min(self._config.active_window_ms, threshold_ms or 1 << 62)):
                return None
            return ActivityDetection(state=ActivityState.ACTIVE, timestamp=at, evidence=f"{what} {age_text(age)}")
        if state is ActivityState.READY and age > timedelta(milliseconds=threshold_ms):
            state = ActivityState.IDLE
        return ActivityDetection(state=state, timestamp=at, evidence=f"{what} {age_text(age)}")

    async def is_process_running(self, handle: RuntimeHandle) -> bool:
        """Whether ``claude`` runs in the session's process tree.

        For the tmux runtime, below the pane's process; for the process runtime, below its pid. For other
        runtimes (containers) ao cannot see the processes and answers ``True``.
        """
        names = {self.process_name, Path(self._config.command).name}
        # Claude Code's npm package runs as `node .../@anthropic-ai/claude-code/cli.js`.
        markers = ("claude-code", *names)
        return await runs_in(
            handle, lambda entry: matches(entry, names, interpreters=("node", "bun"), script_markers=markers)
        )

    # ------------------------------------------------------------------ session info

    async def get_session_info(self, session: Session) -> AgentSessionInfo | None:
        """Summary, conversation id and cost from the session's transcript (``None`` when there is none).

        The summary is the transcript's last ``summary`` entry, else its title, else the first prompt
        shortened to 120 characters (``summary_is_fallback``). Usage is counted once per assistant message
        (Claude Code writes one line per content block, each carrying the message's usage) and priced per
        model, unless the entries carry ``costUSD``.
        """
        session_id = _valid_uuid(session.metadata.get("agentSessionId"))
        if session_id is None or not session.workspace_path:
            return None
        path = transcript_path(session.workspace_path, session_id, self._config.config_dir)
        stats = await anyio.to_thread.run_sync(self._stats.read, path)
        if stats is None:
            return None
        summary, fallback = summary_of(stats)
        return AgentSessionInfo(
            summary=summary,
            summary_is_fallback=fallback,
            agent_session_id=session_id,
            cost=self.estimate_cost(stats),
        )

    def estimate_cost(self, stats: TranscriptStats) -> CostEstimate | None:
        """Tokens and dollars of every assistant message in ``stats`` (``None`` when there were none)."""
        if not stats.usage:
            return None
        totals = [0, 0, 0, 0]
        dollars = 0.0
        for usage in stats.usage.values():
            counts = (usage.input_tokens, usage.output_tokens, usage.cache_read_tokens, usage.cache_creation_tokens)
            totals = [total + count for total, count in zip(totals, counts, strict=True)]
            if usage.cost_usd is not None:
                dollars += usage.cost_usd
                continue
            price = price_for(usage.model, self._config.pricing)
            dollars += (
                usage.input_tokens * price.input
                + usage.output_tokens * price.output
                + usage.cache_read_tokens * price.cache_read
                + usage.cache_creation_tokens * price.cache_write
            ) / 1_000_000
        return CostEstimate(
            input_tokens=totals[0],
            output_tokens=totals[1],
            cache_read_tokens=totals[2],
            cache_creation_tokens=totals[3],
            estimated_cost_usd=round(dollars, 6),
        )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _valid_uuid(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _hook_state(metadata: dict[str, Any], launched: datetime) -> tuple[ActivityState, datetime, str] | None:
    """The activity a hook recorded in the session's metadata (``hookActivity``), if it is from this launch."""
    record = metadata.get("hookActivity")
    if not isinstance(record, dict):
        return None
    state = _HOOK_STATES.get(str(record.get("state")))
    at = parse_timestamp(record.get("at") or metadata.get("hookActivityAt"))
    if state is None or at is None or at < launched:
        return None
    event = str(record.get("event") or "hook")
    detail = record.get("detail")
    return state, at, f"{event} ({detail})" if detail else event
