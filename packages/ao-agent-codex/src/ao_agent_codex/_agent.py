"""The Codex agent plugin."""

from __future__ import annotations

import logging
import os
import shlex
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from ao_core.config import ProjectConfig
from ao_core.errors import AoError
from ao_core.models import (
    ActivityDetection,
    ActivityState,
    AgentLaunchConfig,
    AgentSessionInfo,
    PermissionMode,
    PromptDelivery,
    RuntimeHandle,
    Session,
    WorkspaceHooksConfig,
)
from ao_core.procs import matches, runs_in

from ao_agent_codex._config import CodexAgentConfig
from ao_agent_codex._config_toml import TablePath, set_tables, toml_string
from ao_agent_codex._pricing import estimate
from ao_agent_codex._rollout import (
    classify_tail,
    find_thread,
    first_prompt,
    is_thread_id,
    latest_approval_policy,
    latest_model,
    latest_tokens,
    read_tail,
    rollout_for_thread,
    thread_name,
)
from ao_agent_codex._screen import classify_screen

__all__ = ["THREAD_ID_KEY", "CodexAgent"]

log = logging.getLogger("ao.agent.codex")

THREAD_ID_KEY = "codexThreadId"
"""The session metadata key under which the Codex thread id of a session is remembered."""

_PERMISSION_FLAGS: dict[PermissionMode, tuple[str, ...]] = {
    PermissionMode.PERMISSIONLESS: ("--dangerously-bypass-approvals-and-sandbox",),
    PermissionMode.AUTO_EDIT: ("--ask-for-approval", "never"),
    PermissionMode.SUGGEST: ("--ask-for-approval", "on-request", "--sandbox", "read-only"),
    PermissionMode.DEFAULT: (),
}
# Codex 0.171.0 accepts only `on-request` and `never` for --ask-for-approval (`untrusted` and `on-failure`
# are gone: "approval_policy = "untrusted" is no longer supported"), so `suggest` is a read-only sandbox
# where every write needs the human's approval.

_FIXED_OVERRIDES = ("check_for_update_on_startup=false", "disable_paste_burst=true")
# disable_paste_burst: ao types messages into the TUI through tmux; Codex's paste-burst detection would
# take fast typing followed by Enter as a paste and swallow the Enter.

_MAX_INLINE_PROMPT_BYTES = 100 * 1024  # one argument may not exceed 128 KiB on Linux
_SUMMARY_CHARS = 120
_THREAD_POLL_S = 0.1
_TOOL_GRACE = timedelta(seconds=2)
# Right after the model asks for a tool call, the TUI briefly shows neither the "Working" row nor the
# approval dialog (it looks ready). A tool call that can need approval counts as active this long.
_STARTUP_WINDOW = timedelta(seconds=30)


@dataclass(frozen=True)
class _Thread:
    thread_id: str
    path: Path | None


class CodexAgent:
    """Runs OpenAI's Codex CLI (the ``codex`` TUI) and reads its rollout files.

    - **Launch**: ``codex --no-daemon -c check_for_update_on_startup=false -c disable_paste_burst=true
      [-c model_provider="<id>"] <approval flags> [--model M] [-c developer_instructions="..."] [extra args]
      -- '<prompt>'``; the prompt is the positional argument (``inline``), after ``--`` so that a prompt
      such as ``review`` is not taken for a subcommand.
    - **Before launch** (``setup_workspace_hooks``): the workspace is marked trusted in
      ``<codexHome>/config.toml`` (and the custom provider written there), so no dialog stops the agent.
    - **Activity**: from the tail of the session's rollout; a pending tool call (running, or waiting for
      approval: the rollout cannot tell) and a stale turn leave it to the screen (:meth:`detect_activity`).
    - **Thread**: found by ``session_meta.cwd == workspace`` among rollouts started since the session was
      created, then remembered in the session's metadata (``codexThreadId``), so restores never guess.
    - **Cost**: the latest cumulative ``token_count`` of the thread, priced per model.
    - **Restore**: ``codex resume <same flags> -- <thread id>``.

    Args:
        config: Options; defaults when ``None``.
    """

    def __init__(self, config: CodexAgentConfig | None = None) -> None:
        self._config = config or CodexAgentConfig()
        self._threads: dict[tuple[str, str | None], str] = {}
        self._paths: dict[str, Path] = {}
        self._state_dirs: dict[str, Path] = {}
        self._tails: dict[Path, tuple[tuple[int, int], list[dict[str, Any]]]] = {}
        self._prompts: dict[Path, str] = {}
        self._recorded: set[tuple[str, str | None]] = set()

    # ------------------------------------------------------------------ identity

    @property
    def name(self) -> str:
        """The plugin name, ``codex``."""
        return "codex"

    @property
    def process_name(self) -> str:
        """``codex``."""
        return "codex"

    @property
    def prompt_delivery(self) -> PromptDelivery:
        """``inline``: the TUI submits a prompt given on its command line as soon as it is up."""
        return PromptDelivery.INLINE

    @property
    def config(self) -> CodexAgentConfig:
        """The options this agent was built with."""
        return self._config

    @property
    def codex_home(self) -> Path:
        """Codex's home directory: the ``codexHome`` option, else ``$CODEX_HOME``, else ``~/.codex``."""
        raw = self._config.codex_home or os.environ.get("CODEX_HOME") or "~/.codex"
        return Path(raw).expanduser().absolute()

    # ------------------------------------------------------------------ launch

    def _flags(
        self, permissions: PermissionMode, model: str | None, prompt_file: str | None, prompt_text: str | None
    ) -> list[str]:
        words: list[str] = []
        if self._config.no_daemon:
            words.append("--no-daemon")
        for override in _FIXED_OVERRIDES:
            words += ["-c", override]
        if self._config.provider is not None:
            words += ["-c", f"model_provider={toml_string(self._config.provider.id)}"]
        words += _PERMISSION_FLAGS[permissions]
        if model:
            words += ["--model", model]
        words += self._system_prompt_args(prompt_file, prompt_text)
        words += self._config.extra_args
        return words

    def _system_prompt_args(self, prompt_file: str | None, prompt_text: str | None) -> list[str]:
        if prompt_file and self._config.system_prompt_mode == "replace":
            return ["-c", f"model_instructions_file={toml_string(prompt_file)}"]
        if prompt_file:
            try:
                raw = Path(prompt_file).read_bytes()
            except OSError as exc:
                log.warning("cannot read the system prompt file %s (%s); launching without it", prompt_file, exc)
                return []
            if len(raw) > _MAX_INLINE_PROMPT_BYTES:
                log.warning("system prompt %s is over 100 KiB; it replaces Codex's instructions instead", prompt_file)
                return ["-c", f"model_instructions_file={toml_string(prompt_file)}"]
            prompt_text = raw.decode("utf-8", "replace")
        if prompt_text:
            return ["-c", f"developer_instructions={toml_string(prompt_text)}"]
        return []

    def get_launch_command(self, config: AgentLaunchConfig) -> str:
        """``codex`` with its fixed options, approvals, model, system prompt and the prompt; every word quoted.

        The system prompt file is read now and passed as developer instructions (``systemPromptMode: append``)
        or named as the instructions file (``replace``). The task prompt follows ``--``.
        """
        words = [self._config.command]
        words += self._flags(config.permissions, config.model, config.system_prompt_file, config.system_prompt)
        if config.prompt:
            words += ["--", config.prompt]
        return shlex.join(words)

    def get_environment(self, config: AgentLaunchConfig) -> dict[str, str]:
        """``CODEX_HOME``, always: the agent must use the home whose config ao prepared and whose rollouts it reads.

        No secret is added: a provider's API key comes from the environment ao runs in (``envKey``).
        """
        return {"CODEX_HOME": str(self.codex_home)}

    async def get_restore_command(self, session: Session, project: ProjectConfig) -> str | None:
        """``codex resume <flags> -- <thread id>`` when the session's thread is known and its rollout exists.

        The workspace is trusted again first (it may have been recreated). ``None`` (launch afresh) when Codex
        never started a thread for the session.
        """
        thread = await self._thread(session)
        if thread is None or thread.path is None or not session.workspace_path:
            return None
        await self._prepare_home(session.workspace_path)
        agent_config = project.agent_config
        prompt_file = session.metadata.get("systemPromptFile")
        if not isinstance(prompt_file, str) or not await anyio.to_thread.run_sync(Path(prompt_file).is_file):
            prompt_file = None
        words = [self._config.command, "resume"]
        words += self._flags(agent_config.permissions, agent_config.model, prompt_file, None)
        words += ["--", thread.thread_id]
        return shlex.join(words)

    # ------------------------------------------------------------------ before and after launch

    async def setup_workspace_hooks(self, workspace_path: str, config: WorkspaceHooksConfig) -> None:
        """Trust the workspace (and write the custom provider) in ``<codexHome>/config.toml`` before launch.

        Idempotent; the rest of the file is kept as it is (see :mod:`ao_agent_codex._config_toml`).

        Raises:
            WorkspaceError: ``config.toml`` is not valid TOML, or cannot be locked or written.
        """
        self._state_dirs[config.session_id] = Path(config.data_dir)
        await self._prepare_home(workspace_path)

    async def _prepare_home(self, workspace_path: str) -> None:
        tables: list[tuple[TablePath, dict[str, str]]] = []
        if self._config.trust_workspace:
            folder = Path(workspace_path).absolute()
            for key in dict.fromkeys([str(folder), os.path.realpath(folder)]):
                tables.append((("projects", key), {"trust_level": "trusted"}))
        provider = self._config.provider
        if provider is not None:
            values = {"name": provider.name, "base_url": provider.base_url, "wire_api": provider.wire_api}
            if provider.env_key:
                values["env_key"] = provider.env_key
            tables.append((("model_providers", provider.id), values))
        if tables:
            await anyio.to_thread.run_sync(set_tables, self.codex_home / "config.toml", tables)

    async def post_launch_setup(self, session: Session) -> None:
        """Record the session's Codex thread id once Codex has started the thread (launches with a prompt).

        Waits up to ``threadWaitS`` for the rollout (Codex creates it with the first prompt); a session
        without a prompt, or a thread that appears later, is found on a later call instead.
        """
        if self._config.thread_wait_s <= 0 or not (session.metadata.get("userPrompt") or session.issue_id):
            return
        with anyio.move_on_after(self._config.thread_wait_s):
            # ASYNC110 waived: the rollout is a file another process creates; there is no event to wait on.
            while await self._thread(session) is None:  # noqa: ASYNC110
                await anyio.sleep(_THREAD_POLL_S)

    # ------------------------------------------------------------------ the thread

    async def _thread(self, session: Session) -> _Thread | None:
        known = session.metadata.get(THREAD_ID_KEY) or self._threads.get(_key(session))
        home = self.codex_home
        if is_thread_id(known):
            thread_id = str(known)
            path = self._paths.get(thread_id)
            if path is None or not path.exists():
                path = await anyio.to_thread.run_sync(rollout_for_thread, home, thread_id)
                if path is not None:
                    self._paths[thread_id] = path
            if session.metadata.get(THREAD_ID_KEY) != thread_id:
                await self._remember(session, thread_id)
            return _Thread(thread_id, path)
        if not session.workspace_path:
            return None
        meta = await anyio.to_thread.run_sync(find_thread, home, session.workspace_path, session.created_at)
        if meta is None:
            return None
        self._paths[meta.thread_id] = meta.path
        await self._remember(session, meta.thread_id)
        return _Thread(meta.thread_id, meta.path)

    async def _remember(self, session: Session, thread_id: str) -> None:
        """Keep the thread id in the session and, where ao's store can be found, in its metadata (once)."""
        session.metadata[THREAD_ID_KEY] = thread_id
        self._threads[_key(session)] = thread_id
        if _key(session) not in self._recorded:
            self._recorded.add(_key(session))
            await anyio.to_thread.run_sync(self._store_thread_id, session, thread_id)

    def _store_thread_id(self, session: Session, thread_id: str) -> None:
        from ao_core.paths import database_path, state_dir
        from ao_core.store import Store

        candidates = [self._state_dirs.get(session.id), os.environ.get("AO_STATE_DIR"), state_dir()]
        for candidate in dict.fromkeys(str(c) for c in candidates if c):
            if not database_path(Path(candidate)).is_file():
                continue
            try:
                with Store.open(Path(candidate)) as store:
                    stored = store.get_session(session.id)
                    # Only the store that holds this very session (same workspace) is written.
                    if stored is None or stored.workspace_path != session.workspace_path:
                        continue
                    if stored.metadata.get(THREAD_ID_KEY) != thread_id:
                        store.set_metadata(session.id, THREAD_ID_KEY, thread_id)
                    return
            except (AoError, OSError, sqlite3.Error) as exc:
                log.debug("could not record the Codex thread of %s in %s: %s", session.id, candidate, exc)

    def _tail(self, path: Path) -> list[dict[str, Any]]:
        try:
            stat = path.stat()
        except OSError:
            return []
        key = (stat.st_size, stat.st_mtime_ns)
        cached = self._tails.get(path)
        if cached is not None and cached[0] == key:
            return cached[1]
        entries = read_tail(path, ("event_msg/token_count", "turn_context"))
        self._tails[path] = (key, entries)
        return entries

    # ------------------------------------------------------------------ activity

    def detect_activity(self, terminal_output: str) -> ActivityState:
        """Classify the Codex TUI's screen (the fallback when the rollout says nothing).

        Dialogs (approvals, folder trust, sign-in) are ``waiting_input``, ``esc to interrupt`` is ``active``,
        the composer with its footer is ``ready``; an empty or unrecognised screen is ``active``.
        """
        return classify_screen(terminal_output)

    async def get_activity_state(self, session: Session, ready_threshold_ms: int) -> ActivityDetection | None:
        """The activity from the tail of the session's rollout (``None``: let the kernel read the screen).

        Only the last 64 KiB of the rollout are read. Entries older than a restore (``restored_at``) describe
        the previous process and are ignored. A finished turn is ``ready`` (``idle`` after
        ``ready_threshold_ms``), one that failed is ``blocked``; a turn in progress is ``active`` while its
        newest entry is recent (``activeWindowMs``). A pending tool call is ``active`` for that long when the
        approval policy is ``never``, else for 2 s: beyond that it may be running or waiting for approval, which
        only the screen shows (``None``). Before Codex has started the thread of a session launched with a
        prompt, the session is ``active`` (for up to 30 s).
        """
        now = datetime.now(UTC)
        thread = await self._thread(session)
        if thread is None or thread.path is None:
            return self._starting(session, now)
        entries = await anyio.to_thread.run_sync(self._tail, thread.path)
        state = classify_tail(entries, session.restored_at)
        if state is None:
            return None
        age = max(now - state.at, timedelta(0))
        evidence = f"rollout {thread.thread_id}: {state.what}, {_age_text(age)} ago"
        window = timedelta(
            milliseconds=min(self._config.active_window_ms, ready_threshold_ms or self._config.active_window_ms)
        )
        if state.kind == "tool":
            # With approval policy "never" nothing can be waiting for approval: the tool runs.
            if latest_approval_policy(entries) != "never":
                window = min(window, _TOOL_GRACE)
            if age > window:
                return None
            return ActivityDetection(state=ActivityState.ACTIVE, timestamp=state.at, evidence=evidence)
        if state.kind == "working":
            if age > window:
                return None
            return ActivityDetection(state=ActivityState.ACTIVE, timestamp=state.at, evidence=evidence)
        if state.kind == "ready":
            idle = age > timedelta(milliseconds=ready_threshold_ms)
            activity = ActivityState.IDLE if idle else ActivityState.READY
            return ActivityDetection(state=activity, timestamp=state.at, evidence=evidence)
        activity = ActivityState.BLOCKED if state.kind == "blocked" else ActivityState.WAITING_INPUT
        return ActivityDetection(state=activity, timestamp=state.at, evidence=evidence)

    def _starting(self, session: Session, now: datetime) -> ActivityDetection | None:
        """A session launched with a prompt is working until Codex records its thread (the first seconds).

        Without it the screen would be read while the TUI draws its composer, which looks ready. Only with
        ``trustWorkspace`` (no first-run dialog can be on screen) and within 30 s of the launch.
        """
        launched = session.created_at
        has_prompt = bool(session.metadata.get("userPrompt") or session.issue_id)
        if session.restored_at is not None or not has_prompt or not self._config.trust_workspace:
            return None
        if not timedelta(0) <= now - launched <= _STARTUP_WINDOW:
            return None
        evidence = f"launched {_age_text(now - launched)} ago with a prompt; Codex has not started its thread yet"
        return ActivityDetection(state=ActivityState.ACTIVE, timestamp=launched, evidence=evidence)

    async def is_process_running(self, handle: RuntimeHandle) -> bool:
        """Whether Codex runs in the session's process tree.

        For the tmux runtime, below the pane's process; for the process runtime, below its pid. For other
        runtimes (containers) ao cannot see the processes and answers ``True``.
        """
        names = {self.process_name, Path(self._config.command).name}
        # npm's Codex is a Node wrapper (`node .../bin/codex`) that runs the native binary: both count.
        return await runs_in(handle, lambda entry: matches(entry, names, interpreters=("node", "bun")))

    # ------------------------------------------------------------------ session info

    async def get_session_info(self, session: Session) -> AgentSessionInfo | None:
        """Thread id, summary and cost from the session's rollout (``None`` before Codex started a thread).

        The summary is the title Codex gave the thread, else its first prompt shortened to 120 characters
        (``summary_is_fallback``). Tokens are the thread's cumulative ``token_count`` (all turns, also those
        before a resume), priced with the model of the latest turn.
        """
        thread = await self._thread(session)
        if thread is None:
            return None
        if thread.path is None:
            return AgentSessionInfo(agent_session_id=thread.thread_id)
        entries = await anyio.to_thread.run_sync(self._tail, thread.path)
        totals = latest_tokens(entries)
        model = latest_model(entries)
        cost = estimate(totals, model, self._config.pricing) if totals is not None else None
        summary, fallback = await anyio.to_thread.run_sync(self._summary, thread, model)
        return AgentSessionInfo(
            summary=summary, summary_is_fallback=fallback, agent_session_id=thread.thread_id, cost=cost
        )

    def _summary(self, thread: _Thread, model: str | None) -> tuple[str | None, bool]:
        title = thread_name(self.codex_home, thread.thread_id)
        if title:
            return title, False
        assert thread.path is not None
        prompt = self._prompts.get(thread.path) or first_prompt(thread.path)
        if prompt:
            self._prompts[thread.path] = prompt
        if prompt:
            return (prompt if len(prompt) <= _SUMMARY_CHARS else prompt[: _SUMMARY_CHARS - 1] + "…"), True
        return (f"Codex session ({model})" if model else "Codex session"), True


def _key(session: Session) -> tuple[str, str | None]:
    return session.id, session.workspace_path


def _age_text(age: timedelta) -> str:
    seconds = int(age.total_seconds())
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"
