"""The OpenCode agent plugin."""

from __future__ import annotations

import json
import logging
import os
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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

from ao_agent_opencode import _cli, _data
from ao_agent_opencode._config import OpenCodeAgentConfig
from ao_agent_opencode._persist import persist_metadata, state_dir_candidates
from ao_agent_opencode._screen import classify_screen

__all__ = ["METADATA_KEY", "OpenCodeAgent"]

log = logging.getLogger("ao.agent.opencode")

METADATA_KEY = "opencodeSessionId"
"""The session metadata key holding OpenCode's session id (``ses_...``)."""

API_KEY_ENV = "AO_OPENCODE_API_KEY"
INSTRUCTIONS_ENV = "AO_OPENCODE_INSTRUCTIONS"
CONFIG_ENV = "OPENCODE_CONFIG_CONTENT"

_PERMISSIONS: dict[PermissionMode, dict[str, str]] = {
    PermissionMode.PERMISSIONLESS: {"edit": "allow", "bash": "allow", "webfetch": "allow"},
    PermissionMode.AUTO_EDIT: {"edit": "allow", "bash": "ask", "webfetch": "ask"},
    PermissionMode.SUGGEST: {"edit": "ask", "bash": "ask", "webfetch": "ask"},
}
_DEFAULT_TITLE = ("New session - ", "Child session - ")
_SUMMARY_CHARS = 120
# A session OpenCode creates for this ao session is at most this much older than the ao session's record.
_CREATION_SLACK_MS = 120_000


class OpenCodeAgent:
    """Runs OpenCode's terminal UI in the session's workspace and reads its session database.

    - **Launch**: ``opencode [--prompt <task>] [extra args]`` (the task is ``inline``: OpenCode submits it as
      soon as its UI is up). Everything else is configuration given in ``OPENCODE_CONFIG_CONTENT``, which OpenCode
      merges over the user's and the project's own: the model, the provider's ``baseURL`` and
      ``apiKey: {env:AO_OPENCODE_API_KEY}`` (the key itself is only in that environment variable), the permission
      rules of the permission mode, ``instructions`` naming the system prompt file, ``autoupdate: false``,
      ``share: disabled``, and ``extraConfig``. Nothing is written into the workspace.
    - **Session id**: OpenCode creates its session when the first prompt arrives. It is found in OpenCode's
      database as the first top-level session of the workspace's directory created after the ao session (each
      ao session has a workspace of its own), else with ``opencode session list``, and recorded in the session's
      metadata (``opencodeSessionId``) in ao's store.
    - **Activity**: the session's newest message: a user message or an unfinished assistant turn is ``active``
      (for ``activeWindowMs`` after the last update; then the screen decides, as OpenCode may be asking for a
      permission), a finished turn is ``ready`` (``idle`` after ``ready_threshold_ms``). Records older than this
      launch describe an earlier process and are ignored.
    - **Summary and cost**: the session's title (OpenCode has the model write it), else the first prompt; tokens
      and dollars from the session's running totals (``opencode export`` when the database cannot be read).
    - **Restore**: ``opencode --session <id>`` resumes the same conversation.

    Args:
        config: Options; defaults when ``None``.
    """

    def __init__(self, config: OpenCodeAgentConfig | None = None) -> None:
        self._config = config or OpenCodeAgentConfig()
        self._state_dirs: dict[str, Path] = {}

    # ------------------------------------------------------------------ identity

    @property
    def name(self) -> str:
        """The plugin name, ``opencode``."""
        return "opencode"

    @property
    def process_name(self) -> str:
        """``opencode``."""
        return "opencode"

    @property
    def prompt_delivery(self) -> PromptDelivery:
        """``inline``: ``opencode --prompt`` submits the task once its UI is up, and stays interactive."""
        return PromptDelivery.INLINE

    @property
    def config(self) -> OpenCodeAgentConfig:
        """The options this agent was built with."""
        return self._config

    # ------------------------------------------------------------------ launch

    def opencode_config(self, config: AgentLaunchConfig) -> dict[str, Any]:
        """The OpenCode configuration this launch gets (as ``OPENCODE_CONFIG_CONTENT``)."""
        options = self._config
        generated: dict[str, Any] = {
            "$schema": "https://opencode.ai/config.json",
            "autoupdate": False,
            "share": "disabled",
        }
        if config.model:
            generated["model"] = config.model
        if options.provider and (options.base_url or options.api_key):
            provider_options: dict[str, str] = {}
            if options.base_url:
                provider_options["baseURL"] = options.base_url
            if options.api_key:
                provider_options["apiKey"] = f"{{env:{API_KEY_ENV}}}"
            generated["provider"] = {options.provider: {"options": provider_options}}
        permission = _PERMISSIONS.get(config.permissions)
        if permission:
            generated["permission"] = dict(permission)
        if config.system_prompt_file:
            generated["instructions"] = [config.system_prompt_file]
        elif config.system_prompt:
            generated["instructions"] = [f"{{env:{INSTRUCTIONS_ENV}}}"]
        return _merge(generated, options.extra_config)

    def get_launch_command(self, config: AgentLaunchConfig) -> str:
        """``opencode`` with the task prompt (``--prompt``) and the extra arguments; every word quoted.

        A system prompt given only as text (no file) is first written by the shell to a private temporary file
        (``mktemp``) that the configuration's ``instructions`` name through ``AO_OPENCODE_INSTRUCTIONS``.
        """
        words = [self._config.command]
        if config.prompt:
            words += ["--prompt", config.prompt]
        words += self._config.extra_args
        if config.system_prompt and not config.system_prompt_file:
            return (
                f'{INSTRUCTIONS_ENV}="$(mktemp "${{TMPDIR:-/tmp}}/ao-opencode-system-prompt.XXXXXX")" && '
                f'printf "%s\\n" {shlex.quote(config.system_prompt)} > "${INSTRUCTIONS_ENV}" && '
                f"export {INSTRUCTIONS_ENV} && exec {shlex.join(words)}"
            )
        return shlex.join(words)

    def get_environment(self, config: AgentLaunchConfig) -> dict[str, str]:
        """``OPENCODE_CONFIG_CONTENT`` (see :meth:`opencode_config`) and the API key, when one is configured."""
        environment = {CONFIG_ENV: json.dumps(self.opencode_config(config), separators=(",", ":"))}
        if self._config.api_key is not None:
            environment[API_KEY_ENV] = self._config.api_key.get_secret_value()
        return environment

    async def get_restore_command(self, session: Session, project: ProjectConfig) -> str | None:
        """``opencode --session <id>`` when OpenCode's session of this ao session is known and still exists.

        ``None`` (launch afresh) when no OpenCode session was ever created for it.
        """
        session_id = await self.opencode_session_id(session)
        if session_id is None:
            return None
        database = self._database()
        if database is not None:
            try:
                if await anyio.to_thread.run_sync(_data.read_session, database, session_id) is None:
                    log.warning("session %s: OpenCode session %s is gone; launching afresh", session.id, session_id)
                    return None
            except _data.DatabaseUnreadable as exc:
                log.debug("session %s: %s; resuming %s unchecked", session.id, exc, session_id)
        return shlex.join([self._config.command, "--session", session_id, *self._config.extra_args])

    async def setup_workspace_hooks(self, workspace_path: str, config: WorkspaceHooksConfig) -> None:
        """Remember ao's state directory for the session, to record OpenCode's session id there once known.

        OpenCode needs nothing in the workspace: its configuration comes through the environment.
        """
        self._state_dirs[config.session_id] = Path(config.data_dir)

    # ------------------------------------------------------------------ the OpenCode session

    def _database(self) -> Path | None:
        return _data.database_path(self._config.data_dir)

    async def opencode_session_id(self, session: Session) -> str | None:
        """OpenCode's session id for ``session``: from its metadata, else found and then recorded there."""
        known = session.metadata.get(METADATA_KEY)
        if isinstance(known, str) and _data.SESSION_ID.fullmatch(known):
            return known
        if not session.workspace_path:
            return None
        found = await self._find(session)
        if found is None:
            return None
        session.metadata[METADATA_KEY] = found
        roots = state_dir_candidates(session, self._state_dirs.get(session.id))
        await anyio.to_thread.run_sync(persist_metadata, session, METADATA_KEY, found, roots)
        log.info("session %s: OpenCode session %s", session.id, found)
        return found

    async def _find(self, session: Session) -> str | None:
        assert session.workspace_path is not None
        directory = os.path.realpath(session.workspace_path)
        after_ms = int(session.created_at.timestamp() * 1000) - _CREATION_SLACK_MS
        database = self._database()
        if database is not None:
            if not database.exists():
                # OpenCode has not started yet (it creates the database first thing); starting another
                # OpenCode for 'session list' now would race the first one's set-up.
                return None
            try:
                return await anyio.to_thread.run_sync(_data.find_session, database, directory, after_ms)
            except _data.DatabaseUnreadable as exc:
                log.debug("session %s: %s; asking 'opencode session list'", session.id, exc)
        sessions = await _cli.list_sessions(self._config.command, Path(session.workspace_path), {})
        candidates = [
            entry
            for entry in sessions
            if isinstance(entry.get("id"), str)
            and _data.SESSION_ID.fullmatch(entry["id"])
            and os.path.realpath(str(entry.get("directory") or "")) == directory
            and isinstance(entry.get("created"), int | float)
            and entry["created"] >= after_ms
        ]
        candidates.sort(key=lambda entry: (entry["created"], entry["id"]))
        return str(candidates[0]["id"]) if candidates else None

    # ------------------------------------------------------------------ activity

    def detect_activity(self, terminal_output: str) -> ActivityState:
        """Classify OpenCode's screen (the fallback when the database says nothing).

        A permission dialog is ``waiting_input``, ``esc interrupt`` in the footer is ``active``, the input box with
        its footer and nothing running is ``ready``; an empty or unrecognised screen is ``active``.
        """
        return classify_screen(terminal_output)

    async def get_activity_state(self, session: Session, ready_threshold_ms: int) -> ActivityDetection | None:
        """The activity from the newest message of OpenCode's session in its database.

        ``None`` (the kernel reads the screen) when the session is not known yet, the database cannot be read,
        or its newest record predates this launch (``restored_at``/``created_at``).
        """
        database = self._database()
        if database is None or not session.workspace_path:
            return None
        session_id = await self.opencode_session_id(session)
        if session_id is None:
            return None
        try:
            row = await anyio.to_thread.run_sync(_data.read_session, database, session_id)
            message = await anyio.to_thread.run_sync(_data.last_message, database, session_id)
            part_ms = await anyio.to_thread.run_sync(_data.last_part_update, database, session_id)
        except _data.DatabaseUnreadable as exc:
            log.debug("session %s: %s", session.id, exc)
            return None
        if row is None or message is None:
            return None
        launched = max(filter(None, (session.created_at, session.restored_at)))
        updated = _from_ms(max(row.updated_ms, message.updated_ms, part_ms or 0))
        if updated < launched:
            return None
        now = datetime.now(UTC)
        age = now - updated
        if message.role == "assistant" and (message.error or (message.completed_ms and message.finish != "tool-calls")):
            what = f"turn ended with {message.error}" if message.error else f"turn finished ({message.finish})"
            state = ActivityState.IDLE if age > timedelta(milliseconds=ready_threshold_ms) else ActivityState.READY
            return ActivityDetection(state=state, timestamp=updated, evidence=f"OpenCode {what} {_age(age)} ago")
        if age > timedelta(milliseconds=self._config.active_window_ms):
            return None
        what = "prompt sent to the model" if message.role == "user" else "turn in progress"
        evidence = f"OpenCode {what} {_age(age)} ago"
        return ActivityDetection(state=ActivityState.ACTIVE, timestamp=updated, evidence=evidence)

    async def is_process_running(self, handle: RuntimeHandle) -> bool:
        """Whether ``opencode`` runs in the session's process tree.

        For the tmux runtime, below the pane's process; for the process runtime, below its pid. For other
        runtimes (containers) ao cannot see the processes and answers ``True``.
        """
        names = {self.process_name, Path(self._config.command).name}
        # OpenCode is a native binary; npm installs it as `opencode.exe` behind an `opencode` link.
        return await runs_in(handle, lambda entry: matches(entry, names, suffix=".exe"))

    # ------------------------------------------------------------------ session info

    async def get_session_info(self, session: Session) -> AgentSessionInfo | None:
        """Title, OpenCode session id, tokens and cost of the session (``None`` before OpenCode created it).

        The summary is the session's title; while OpenCode still shows its placeholder title (``New session -
        ...``), it is the first prompt shortened to 120 characters (``summary_is_fallback``). Input tokens exclude
        cache reads and writes, which are counted separately; output tokens include reasoning tokens.
        """
        session_id = await self.opencode_session_id(session)
        if session_id is None or not session.workspace_path:
            return None
        database = self._database()
        if database is not None and not database.exists():
            return AgentSessionInfo(agent_session_id=session_id)
        try:
            if database is None:
                raise _data.DatabaseUnreadable("OpenCode keeps its sessions in memory")
            row = await anyio.to_thread.run_sync(_data.read_session, database, session_id)
            first = await anyio.to_thread.run_sync(_data.first_user_text, database, session_id)
        except _data.DatabaseUnreadable as exc:
            log.debug("session %s: %s; asking 'opencode export'", session.id, exc)
            return await self._info_from_export(session, session_id)
        if row is None:
            return AgentSessionInfo(agent_session_id=session_id)
        summary: str | None = row.title
        fallback = False
        if not summary or summary.startswith(_DEFAULT_TITLE):
            summary = _shorten(first)
            fallback = summary is not None
        cost = CostEstimate(
            input_tokens=row.tokens_input,
            output_tokens=row.tokens_output + row.tokens_reasoning,
            cache_read_tokens=row.tokens_cache_read,
            cache_creation_tokens=row.tokens_cache_write,
            estimated_cost_usd=round(row.cost, 6),
        )
        return AgentSessionInfo(summary=summary, summary_is_fallback=fallback, agent_session_id=session_id, cost=cost)

    async def _info_from_export(self, session: Session, session_id: str) -> AgentSessionInfo | None:
        assert session.workspace_path is not None
        exported = await _cli.export_session(self._config.command, Path(session.workspace_path), session_id, {})
        if exported is None:
            return AgentSessionInfo(agent_session_id=session_id)
        return info_from_export(exported, session_id)


def info_from_export(exported: dict[str, Any], session_id: str) -> AgentSessionInfo:
    """Summary, tokens and cost from the output of ``opencode export <id>``."""
    info = exported.get("info") if isinstance(exported.get("info"), dict) else {}
    assert isinstance(info, dict)
    title = info.get("title") if isinstance(info.get("title"), str) else None
    summary, fallback = title, False
    if not title or title.startswith(_DEFAULT_TITLE):
        summary, fallback = _shorten(_first_user_text(exported)), True
    tokens = info.get("tokens") if isinstance(info.get("tokens"), dict) else None
    cost = None
    if isinstance(tokens, dict):
        cache = tokens.get("cache") if isinstance(tokens.get("cache"), dict) else {}
        assert isinstance(cache, dict)
        cost = CostEstimate(
            input_tokens=_int(tokens.get("input")),
            output_tokens=_int(tokens.get("output")) + _int(tokens.get("reasoning")),
            cache_read_tokens=_int(cache.get("read")),
            cache_creation_tokens=_int(cache.get("write")),
            estimated_cost_usd=round(float(info.get("cost") or 0), 6),
        )
    return AgentSessionInfo(
        summary=summary, summary_is_fallback=fallback and summary is not None, agent_session_id=session_id, cost=cost
    )


def _first_user_text(exported: dict[str, Any]) -> str | None:
    for message in exported.get("messages") or []:
        if not isinstance(message, dict) or (message.get("info") or {}).get("role") != "user":
            continue
        texts = [
            part["text"]
            for part in message.get("parts") or []
            if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
        ]
        return "\n".join(texts).strip() or None
    return None


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) else 0


def _shorten(text: str | None) -> str | None:
    if not text:
        return None
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if not line:
        return None
    return line if len(line) <= _SUMMARY_CHARS else line[: _SUMMARY_CHARS - 1] + "…"


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


def _age(span: timedelta) -> str:
    seconds = max(0, int(span.total_seconds()))
    return f"{seconds}s" if seconds < 120 else f"{seconds // 60}m"
