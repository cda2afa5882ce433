"""The Aider agent plugin."""

from __future__ import annotations

import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
from ao_core.procs import capture_pane, matches, runs_in

from ao_agent_aider._config import AiderAgentConfig
from ao_agent_aider._git import exclude_from_git, head_commit_time
from ao_agent_aider._history import HISTORY_FILE, UsageReader, first_user_line, read_tail
from ao_agent_aider._screen import classify_screen

__all__ = ["AiderAgent"]

_YES = frozenset({PermissionMode.PERMISSIONLESS, PermissionMode.AUTO_EDIT})
# Flags for an unattended Aider: no network checks, no release notes, no analytics (for this run only; the
# permanent --analytics-disable would change the user's ~/.aider settings), no model-warning questions.
_QUIET = ("--no-check-update", "--no-show-release-notes", "--no-analytics", "--no-show-model-warnings")
_SUMMARY_CHARS = 120


class AiderAgent:
    """Runs Aider (the ``aider`` CLI) interactively in the session's workspace and reads what it writes.

    - **Launch**: ``aider [--yes-always] [--model M] [--openai-api-base URL] [--edit-format F] --no-check-update
      --no-show-release-notes --no-analytics --no-show-model-warnings --no-gitignore --chat-history-file
      <workspace>/.aider.chat.history.md [extra args] [--read <system prompt file>]``. Aider has no system-prompt
      option: the kernel's prompt file is given as a read-only context file (``--read``), which Aider sends with
      every request. ``--message`` is not used: it makes Aider answer once and exit, and ao must be able to send
      follow-ups (CI failures, review comments); the task is typed in once Aider shows its prompt
      (``post-launch``; multi-line messages arrive as one bracketed paste, which Aider takes as one message).
    - **Permissions**: ``permissionless`` and ``auto-edit`` start Aider with ``--yes-always`` (it still declines
      to run shell commands the model proposes: Aider requires an explicit yes for those); the other modes let
      Aider ask, which shows as ``waiting_input``.
    - **Before launch**: ``.aider*`` is added to the repository's ``info/exclude`` (Aider is started with
      ``--no-gitignore``, so it does not edit the project's ``.gitignore``).
    - **Activity**: a submitted message with no answer yet in the chat history is ``active`` (for
      ``activeWindowMs``); once answered, the screen decides (the kernel reads it with :meth:`detect_activity`),
      and after ``ready_threshold_ms`` without a history line or commit, a prompt on screen is ``idle``.
    - **Summary and cost**: the first line of the first message, and the sum of Aider's ``Tokens: ... Cost:
      ...`` reports in the chat history (no cost when Aider does not know the model's prices).
    - **Restore**: Aider has no sessions to resume; a restored session starts Aider afresh in the same workspace
      (add ``--restore-chat-history`` to ``extraArgs`` to load the previous conversation from the history file).

    Args:
        config: Options; defaults when ``None``.
    """

    def __init__(self, config: AiderAgentConfig | None = None) -> None:
        self._config = config or AiderAgentConfig()
        self._usage = UsageReader()

    # ------------------------------------------------------------------ identity

    @property
    def name(self) -> str:
        """The plugin name, ``aider``."""
        return "aider"

    @property
    def process_name(self) -> str:
        """``aider``."""
        return "aider"

    @property
    def prompt_delivery(self) -> PromptDelivery:
        """``post-launch``: ``aider --message`` would answer once and exit."""
        return PromptDelivery.POST_LAUNCH

    @property
    def config(self) -> AiderAgentConfig:
        """The options this agent was built with."""
        return self._config

    # ------------------------------------------------------------------ launch

    def _words(self, config: AgentLaunchConfig) -> list[str]:
        options = self._config
        words = [options.command]
        if config.permissions in _YES:
            words.append("--yes-always")
        if config.model:
            words += ["--model", config.model]
        if options.openai_api_base:
            words += ["--openai-api-base", options.openai_api_base]
        if options.edit_format:
            words += ["--edit-format", options.edit_format]
        if not options.auto_commits:
            words.append("--no-auto-commits")
        words += _QUIET
        if options.exclude_aider_files:
            words.append("--no-gitignore")
        words += ["--chat-history-file", str(Path(config.workspace_path) / HISTORY_FILE)]
        words += options.extra_args
        return words

    def get_launch_command(self, config: AgentLaunchConfig) -> str:
        """``aider`` with the permission flag, model, API base, quiet flags and system prompt; every word quoted.

        The system prompt file is passed with ``--read``. A system prompt given only as text is first written
        by the shell to a private temporary file (``mktemp``), so its text never becomes shell syntax. The task
        prompt is not in the command (``post-launch``).
        """
        words = self._words(config)
        if config.system_prompt_file:
            return shlex.join([*words, "--read", config.system_prompt_file])
        if config.system_prompt:
            return (
                'prompt_file="$(mktemp "${TMPDIR:-/tmp}/ao-aider-system-prompt.XXXXXX")" && '
                f'printf "%s\\n" {shlex.quote(config.system_prompt)} > "$prompt_file" && '
                f'exec {shlex.join(words)} --read "$prompt_file"'
            )
        return shlex.join(words)

    def get_environment(self, config: AgentLaunchConfig) -> dict[str, str]:
        """``OPENAI_API_KEY`` when the ``openaiApiKey`` option is set; nothing else.

        The key goes into the environment rather than on the command line because Aider writes its command line
        into the chat history.
        """
        key = self._config.openai_api_key
        return {"OPENAI_API_KEY": key.get_secret_value()} if key is not None else {}

    async def get_restore_command(self, session: Session, project: ProjectConfig) -> str | None:
        """Always ``None``: Aider keeps no conversation to resume, so a restored session launches afresh.

        The new Aider works in the same workspace, with its commits; its chat history file keeps growing.
        """
        return None

    async def setup_workspace_hooks(self, workspace_path: str, config: WorkspaceHooksConfig) -> None:
        """Keep Aider's files (``.aider*``) out of git through the repository's ``info/exclude``.

        Idempotent; nothing happens outside a git repository or when ``excludeAiderFiles`` is off.

        Raises:
            WorkspaceError: the exclude file cannot be written.
        """
        if self._config.exclude_aider_files:
            await exclude_from_git(Path(workspace_path), ".aider*")

    # ------------------------------------------------------------------ activity

    def detect_activity(self, terminal_output: str) -> ActivityState:
        """Classify Aider's screen: a question is ``waiting_input``, the empty prompt ``ready``, else ``active``."""
        return classify_screen(terminal_output)

    async def get_activity_state(self, session: Session, ready_threshold_ms: int) -> ActivityDetection | None:
        """The activity from the tail of the chat history, with the newest commit and, when idle long, the screen.

        ``None`` (the kernel reads the screen) when the history has not been written since this launch
        (``restored_at``/``created_at``), when Aider has just started, and while a finished answer is recent:
        Aider may still be applying edits, committing or asking a question.
        """
        if not session.workspace_path:
            return None
        workspace = Path(session.workspace_path)
        tail = await anyio.to_thread.run_sync(read_tail, workspace / HISTORY_FILE)
        launched = max(filter(None, (session.created_at, session.restored_at)))
        if tail is None or tail.modified_at < launched or tail.last_kind in (None, "header"):
            return None
        now = datetime.now(UTC)
        if tail.last_kind == "user":
            age = now - tail.modified_at
            if age > timedelta(milliseconds=self._config.active_window_ms):
                return None
            return ActivityDetection(
                state=ActivityState.ACTIVE,
                timestamp=tail.modified_at,
                evidence=f"chat history: message submitted {_age(age)} ago, no answer yet",
            )
        threshold = timedelta(milliseconds=ready_threshold_ms)
        if now - tail.modified_at <= threshold:
            return None
        last = tail.modified_at
        commit = await head_commit_time(workspace)
        if commit is not None and commit > last:
            last = commit
        if now - last <= threshold:
            return None
        screen = await self._screen(session)
        if screen is None:
            return None
        state = classify_screen(screen)
        evidence = f"no chat history line or commit for {_age(now - last)}"
        if state is ActivityState.READY:
            return ActivityDetection(state=ActivityState.IDLE, timestamp=last, evidence=f"{evidence}; prompt on screen")
        if state is ActivityState.WAITING_INPUT:
            return ActivityDetection(state=state, timestamp=last, evidence=f"{evidence}; question on screen")
        return None

    async def _screen(self, session: Session) -> str | None:
        handle = session.runtime_handle
        if handle is None or handle.runtime_name != "tmux":
            return None
        return await capture_pane(handle.id, handle.data)

    async def is_process_running(self, handle: RuntimeHandle) -> bool:
        """Whether ``aider`` runs in the session's process tree.

        For the tmux runtime, below the pane's process; for the process runtime, below its pid. For other
        runtimes (containers) ao cannot see the processes and answers ``True``.
        """
        names = {self.process_name, Path(self._config.command).name}
        # Aider is a Python console script: `python .../bin/aider ...` when not started through its `#!` line.
        return await runs_in(handle, lambda entry: matches(entry, names, interpreter_prefixes=("python",)))

    # ------------------------------------------------------------------ session info

    async def get_session_info(self, session: Session) -> AgentSessionInfo | None:
        """Summary and cost from the chat history (``None`` when there is no history yet).

        The summary is the first line of the first submitted message, shortened to 120 characters
        (``summary_is_fallback``: Aider writes no summary of its own). The cost sums every ``Tokens: ...
        Cost: ...`` report; it is ``None`` when Aider printed no cost (it does not know the model's prices).
        Aider has no session id.
        """
        if not session.workspace_path:
            return None
        path = Path(session.workspace_path) / HISTORY_FILE
        usage = await anyio.to_thread.run_sync(self._usage.read, path)
        if usage is None:
            return None
        first = await anyio.to_thread.run_sync(first_user_line, path)
        summary = None
        if first:
            summary = first if len(first) <= _SUMMARY_CHARS else first[: _SUMMARY_CHARS - 1] + "…"
        cost = None
        if usage.cost_usd is not None:
            cost = CostEstimate(
                input_tokens=usage.sent,
                output_tokens=usage.received,
                cache_read_tokens=usage.cache_hit,
                cache_creation_tokens=usage.cache_write,
                estimated_cost_usd=round(usage.cost_usd, 6),
            )
        return AgentSessionInfo(summary=summary, summary_is_fallback=summary is not None, cost=cost)


def _age(span: timedelta) -> str:
    seconds = max(0, int(span.total_seconds()))
    return f"{seconds}s" if seconds < 120 else f"{seconds // 60}m"
