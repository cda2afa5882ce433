"""The session manager: spawn, list, get, send, kill, restore and clean up sessions.

A session is one agent working one task in its own workspace and runtime session. Every step of a spawn
is undone when a later step fails, so a failed spawn leaves no workspace, no runtime session and no store
row behind. State lives in the store; the manager keeps only plugin instances in memory, so any ``ao``
process can pick up any session.
"""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anyio

from ao_core.config import OrchestratorConfig, PluginRef, ProjectConfig
from ao_core.errors import (
    AoError,
    SessionError,
    SessionNotFoundError,
    SessionNotRestorableError,
    WorkspaceError,
)
from ao_core.interfaces import (
    SCM,
    Agent,
    Runtime,
    SupportsAliveMany,
    SupportsClaimPR,
    SupportsPostCreate,
    SupportsPostLaunchSetup,
    SupportsRestoreCommand,
    SupportsWorkspaceExists,
    SupportsWorkspaceHooks,
    SupportsWorkspaceRestore,
    Tracker,
    Workspace,
)
from ao_core.models import (
    ActivityState,
    AgentLaunchConfig,
    Issue,
    PRInfo,
    PromptDelivery,
    PRState,
    RuntimeCreateConfig,
    RuntimeHandle,
    Session,
    SessionStatus,
    WorkspaceCreateConfig,
    WorkspaceHooksConfig,
    utc_now,
)
from ao_core.paths import session_dir, workspaces_dir
from ao_core.prompts import build_prompts
from ao_core.refs import branch_name_problem, is_safe_identifier
from ao_core.registry import Registry
from ao_core.store import Store

__all__ = ["ClaimResult", "CleanupResult", "KillResult", "SessionManager"]

log = logging.getLogger("ao.sessions")

T = TypeVar("T")

_READY_STATES = frozenset({ActivityState.READY, ActivityState.IDLE})
_PLUGIN_CALL_TIMEOUT_S = 60.0
_LIVENESS_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class KillResult:
    """What ``kill`` did."""

    session_id: str
    cleaned: bool
    already_terminated: bool


@dataclass
class ClaimResult:
    """What ``claim_pr`` did."""

    session_id: str
    pr: PRInfo
    branch_changed: bool
    taken_over_from: list[str] = field(default_factory=list)
    assigned: bool = False
    assign_error: str | None = None


@dataclass
class CleanupResult:
    """What ``cleanup`` did (or would do, in a dry run): session id → reason."""

    killed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


class SessionManager:
    """Creates and controls sessions through the configured plugins.

    Args:
        config: the loaded configuration.
        registry: where plugins come from.
        store: the state database.
        state_dir: ao's state directory (session files, default workspace location).
        ao_command: the argv prefix that runs this ``ao`` (agent hooks call it).
        ready_timeout_s: how long a post-launch agent may take to become ready for its first prompt.
    """

    def __init__(
        self,
        config: OrchestratorConfig,
        registry: Registry,
        store: Store,
        *,
        state_dir: Path,
        ao_command: list[str] | None = None,
        ready_timeout_s: float = 60.0,
    ) -> None:
        self.config = config
        self.registry = registry
        self.store = store
        self.state_dir = state_dir
        self.ao_command = ao_command or [sys.executable, "-m", "ao_core"]
        self.ready_timeout_s = ready_timeout_s
        self._plugins: dict[tuple[str, str], Any] = {}

    # ------------------------------------------------------------------ plugin resolution

    def project(self, project_id: str) -> ProjectConfig:
        """The project's config, or a clear error listing the configured projects."""
        try:
            return self.config.projects[project_id]
        except KeyError:
            known = ", ".join(sorted(self.config.projects))
            raise SessionError(f"unknown project '{project_id}'; configured projects: {known}") from None

    def _plugin(self, slot: str, ref: PluginRef, key_path: str) -> Any:
        cache_key = (slot, ref.model_dump_json())
        if cache_key not in self._plugins:
            self._plugins[cache_key] = self.registry.create(slot, ref, key_path=key_path, config=self.config)
        return self._plugins[cache_key]

    def runtime_for(self, project_id: str, runtime_name: str | None = None) -> Runtime:
        """The runtime plugin of a project (or the one named in a session's handle)."""
        project = self.project(project_id)
        ref = project.runtime or self.config.defaults.runtime
        if runtime_name is not None and runtime_name != ref.plugin:
            ref = PluginRef(plugin=runtime_name)
        runtime: Runtime = self._plugin("runtime", ref, f"projects.{project_id}.runtime")
        return runtime

    def agent_name_for(self, project_id: str, override: str | None = None) -> str:
        """Which agent a new session of the project gets: override, worker, project, defaults."""
        project = self.project(project_id)
        defaults = self.config.defaults
        for candidate in (
            override,
            project.worker.agent if project.worker else None,
            project.agent.plugin if project.agent else None,
            defaults.worker.agent if defaults.worker else None,
            defaults.agent.plugin,
        ):
            if candidate:
                return candidate
        raise SessionError(f"no agent configured for project '{project_id}'")

    def agent_for(self, project_id: str, agent_name: str) -> Agent:
        """The agent plugin instance for a project and agent name (options from the project when it matches)."""
        project = self.project(project_id)
        configured = project.agent or self.config.defaults.agent
        ref = configured if configured.plugin == agent_name else PluginRef(plugin=agent_name)
        agent: Agent = self._plugin("agent", ref, f"projects.{project_id}.agent")
        return agent

    def workspace_for(self, project_id: str) -> Workspace:
        """The workspace plugin of a project."""
        project = self.project(project_id)
        ref = project.workspace or self.config.defaults.workspace
        workspace: Workspace = self._plugin("workspace", ref, f"projects.{project_id}.workspace")
        return workspace

    def tracker_for(self, project_id: str) -> Tracker | None:
        """The tracker plugin of a project, if it has one."""
        project = self.project(project_id)
        if project.tracker is None:
            return None
        tracker: Tracker = self._plugin("tracker", project.tracker, f"projects.{project_id}.tracker")
        return tracker

    def scm_for(self, project_id: str) -> SCM | None:
        """The SCM plugin of a project, if it has one."""
        project = self.project(project_id)
        if project.scm is None:
            return None
        scm: SCM = self._plugin("scm", project.scm, f"projects.{project_id}.scm")
        return scm

    # ------------------------------------------------------------------ spawn

    async def spawn(
        self,
        project_id: str,
        *,
        issue_id: str | None = None,
        prompt: str | None = None,
        agent: str | None = None,
        branch: str | None = None,
    ) -> Session:
        """Create a session: workspace, prompts, agent in its runtime, first prompt delivered.

        Raises:
            SessionError: for an unknown project, a bad issue id or branch, or a failed step; nothing that
                was created before the failure is left behind.
        """
        project = self.project(project_id)
        agent_name = self.agent_name_for(project_id, agent)
        agent_plugin = self.agent_for(project_id, agent_name)
        runtime = self.runtime_for(project_id)
        workspace = self.workspace_for(project_id)
        tracker = self.tracker_for(project_id)

        issue: Issue | None = None
        issue_details: str | None = None
        if issue_id is not None:
            issue_id = _normalize_issue_id(issue_id)
            if tracker is not None:
                issue = await _bounded(tracker.get_issue(issue_id, project), "tracker get_issue")
                issue_id = issue.id
        branch = branch or self._branch_for(project, tracker, issue_id, issue)
        if (problem := branch_name_problem(branch)) is not None:
            raise SessionError(f"cannot use branch name {branch!r}: {problem}")

        max_sessions = self.config.max_concurrent_sessions
        if max_sessions is not None:
            live = [s for s in self.store.list_sessions(include_terminal=False) if not s.is_terminal]
            if len(live) >= max_sessions:
                raise SessionError(
                    f"{len(live)} sessions are running and maxConcurrentSessions is {max_sessions}; "
                    "kill or clean up a session first"
                )

        undo: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        prefix = self.config.project_prefix(project_id)
        session_id = self.store.reserve_session_id(project_id, prefix)
        undo.append(("store row", _sync(lambda: self.store.delete_session(session_id))))
        try:
            sdir = session_dir(self.state_dir, project_id, session_id)
            sdir.mkdir(parents=True, exist_ok=True)
            undo.append(("session directory", _sync(lambda: _rmtree(sdir))))

            if not await _branch_exists(project.path, branch):
                undo.append((f"branch {branch}", lambda: _delete_branch(project.path, branch)))
            info = await _bounded(
                workspace.create(
                    WorkspaceCreateConfig(
                        project_id=project_id,
                        project_path=project.path,
                        default_branch=project.default_branch,
                        session_id=session_id,
                        branch=branch,
                        workspace_dir=str(workspaces_dir(self.state_dir, project_id)),
                    )
                ),
                "workspace create",
                seconds=600,
            )
            undo.append(("workspace", lambda: workspace.destroy(info.path)))
            if isinstance(workspace, SupportsPostCreate):
                await _bounded(workspace.post_create(info, project), "workspace post_create", seconds=1800)

            if issue_id is not None and tracker is not None:
                try:
                    issue_details = await _bounded(tracker.generate_prompt(issue_id, project), "tracker prompt")
                except AoError as exc:
                    log.warning("no issue details for %s: %s", issue_id, exc)
            prompts = build_prompts(
                self.config,
                project_id,
                session_id=session_id,
                branch=branch,
                issue_id=issue_id,
                issue_title=issue.title if issue else None,
                issue_details=issue_details,
                user_prompt=prompt,
            )
            system_prompt_file = sdir / "system-prompt.md"
            system_prompt_file.write_text(prompts.system, encoding="utf-8")

            post_launch = agent_plugin.prompt_delivery is PromptDelivery.POST_LAUNCH
            agent_config = project.agent_config
            launch = AgentLaunchConfig(
                session_id=session_id,
                project_id=project_id,
                workspace_path=info.path,
                issue_id=issue_id,
                prompt=None if post_launch else prompts.task,
                permissions=agent_config.permissions,
                model=agent_config.model,
                system_prompt_file=str(system_prompt_file),
                agent_session_id=str(uuid.uuid4()),
                agent_config=agent_config.model_dump(by_alias=True, exclude_none=True, mode="json"),
            )
            await self._install_hooks(agent_plugin, info.path, session_id)
            environment = {
                **agent_plugin.get_environment(launch),
                **self._ao_environment(project_id, session_id, issue_id),
            }
            handle = await _bounded(
                runtime.create(
                    RuntimeCreateConfig(
                        session_id=session_id,
                        workspace_path=info.path,
                        launch_command=agent_plugin.get_launch_command(launch),
                        environment=environment,
                        session_dir=str(sdir),
                    )
                ),
                "runtime create",
            )
            undo.append(("runtime session", lambda: runtime.destroy(handle)))

            session = Session(
                id=session_id,
                project_id=project_id,
                status=SessionStatus.SPAWNING,
                activity=ActivityState.ACTIVE,
                branch=branch,
                issue_id=issue_id,
                workspace_path=info.path,
                runtime_handle=handle,
                agent=agent_name,
                created_at=utc_now(),
                status_evidence="spawned",
                metadata={
                    "agentSessionId": launch.agent_session_id,
                    "systemPromptFile": str(system_prompt_file),
                    "displayName": _display_name(issue.title if issue else None, prompt),
                    **({"userPrompt": prompt} if prompt else {}),
                    **({"issueUrl": issue.url} if issue else {}),
                },
            )
            self.store.save_session(session)
            if isinstance(agent_plugin, SupportsPostLaunchSetup):
                await _bounded(agent_plugin.post_launch_setup(session), "agent post-launch setup")
                self._save_metadata(session)
        except BaseException:
            await _undo(undo)
            raise

        self.store.record_transition(session_id, None, SessionStatus.SPAWNING, "spawned")
        if post_launch and prompts.task:
            delivered = await self._deliver_first_prompt(session, runtime, agent_plugin, handle, prompts.task)
            self.store.set_metadata(session_id, "promptDelivered", delivered)
            session.metadata["promptDelivered"] = delivered
        return session

    def _branch_for(
        self, project: ProjectConfig, tracker: Tracker | None, issue_id: str | None, issue: Issue | None
    ) -> str:
        if issue is not None and issue.branch_name and branch_name_problem(issue.branch_name) is None:
            return issue.branch_name
        if issue_id is not None:
            if tracker is not None:
                return tracker.branch_name(issue_id, project)
            return f"feat/issue-{issue_id}" if issue_id.isdigit() else f"feat/{issue_id}"
        return f"session/{uuid.uuid4().hex[:8]}"

    async def _install_hooks(self, agent: Agent, workspace_path: str, session_id: str) -> None:
        """Let the agent install its hooks in the workspace (before it starts, so they are active at once)."""
        if isinstance(agent, SupportsWorkspaceHooks):
            hooks = WorkspaceHooksConfig(
                session_id=session_id, data_dir=str(self.state_dir), ao_command=self.ao_command
            )
            await _bounded(agent.setup_workspace_hooks(workspace_path, hooks), "agent workspace hooks")

    def _save_metadata(self, session: Session) -> None:
        """Persist what a plugin put in ``session.metadata``, key by key (hooks may write other keys meanwhile)."""
        stored = self.store.get_session(session.id)
        known = stored.metadata if stored is not None else {}
        for key, value in session.metadata.items():
            if known.get(key) != value:
                self.store.set_metadata(session.id, key, value)

    def _ao_environment(self, project_id: str, session_id: str, issue_id: str | None) -> dict[str, str]:
        env = {
            "AO_SESSION": session_id,
            "AO_SESSION_ID": session_id,
            "AO_PROJECT_ID": project_id,
            "AO_STATE_DIR": str(self.state_dir),
            "AO_CALLER_TYPE": "agent",
        }
        if self.config.config_path is not None:
            env["AO_CONFIG_PATH"] = str(self.config.config_path)
        if issue_id is not None:
            env["AO_ISSUE_ID"] = issue_id
        return env

    async def _deliver_first_prompt(
        self, session: Session, runtime: Runtime, agent: Agent, handle: RuntimeHandle, text: str
    ) -> bool:
        if not await self.wait_until_ready(session, runtime, agent, handle, timeout_s=self.ready_timeout_s):
            log.warning(
                "session %s: agent not ready within %ss; prompt not delivered", session.id, self.ready_timeout_s
            )
            return False
        try:
            await _bounded(runtime.send_message(handle, text), "runtime send_message")
        except AoError as exc:
            log.warning("session %s: first prompt not delivered: %s", session.id, exc)
            return False
        return True

    async def wait_until_ready(
        self,
        session: Session,
        runtime: Runtime,
        agent: Agent,
        handle: RuntimeHandle,
        *,
        timeout_s: float,
        accept_waiting_input: bool = False,
    ) -> bool:
        """Wait until the agent shows it is ready for input (its own signal, else its screen).

        Polls quickly at first and then more slowly; never a fixed sleep. The session is re-read from the
        store on each probe, so state that agent hooks record meanwhile is seen. Returns False when the agent
        exited, shows a question (unless ``accept_waiting_input``: a message then answers it), or the
        timeout passed.
        """
        ready = _READY_STATES | ({ActivityState.WAITING_INPUT} if accept_waiting_input else set())
        delay = 0.02
        with anyio.move_on_after(timeout_s):
            while True:
                session = self.store.get_session(session.id) or session
                state = await self.probe_activity(session, runtime, agent, handle)
                if state in ready:
                    return True
                if state is ActivityState.EXITED:
                    return False
                await anyio.sleep(delay)
                delay = min(delay * 1.5, 0.5)
        return False

    async def probe_activity(
        self, session: Session, runtime: Runtime, agent: Agent, handle: RuntimeHandle
    ) -> ActivityState | None:
        """The agent's activity: its native signal when it has one, else its screen (None: nothing yet)."""
        detection = await _bounded(
            agent.get_activity_state(session, self.config.ready_threshold_ms), "agent activity", seconds=15
        )
        if detection is not None:
            return detection.state
        output = await _bounded(runtime.get_output(handle, 30), "runtime get_output", seconds=15)
        if not output.strip():
            if not await _bounded(runtime.is_alive(handle), "runtime is_alive", seconds=15):
                return ActivityState.EXITED
            return None
        return agent.detect_activity(output)

    # ------------------------------------------------------------------ list / get

    def _all_sessions(self, project_id: str | None) -> list[Session]:
        if project_id is not None:
            self.project(project_id)
        return self.store.list_sessions(project_id)

    async def list_sessions(self, project_id: str | None = None, *, reconcile: bool = True) -> list[Session]:
        """Every session (of one project), with liveness reconciled: dead runtimes are marked killed."""
        sessions = self._all_sessions(project_id)
        if reconcile:
            await self._reconcile(sessions)
        return sessions

    async def get(self, session_id: str, *, reconcile: bool = True) -> Session:
        """One session, with liveness reconciled."""
        session = self.store.get_session(session_id)
        if session is None:
            raise SessionNotFoundError(session_id, known=[s.id for s in self.store.list_sessions()])
        if reconcile:
            await self._reconcile([session])
        return session

    async def is_runtime_alive(self, session: Session) -> bool:
        """Whether the session's runtime session exists."""
        if session.runtime_handle is None:
            return False
        runtime = self.runtime_for(session.project_id, session.runtime_handle.runtime_name)
        return await _bounded(runtime.is_alive(session.runtime_handle), "runtime is_alive", seconds=_LIVENESS_TIMEOUT_S)

    async def _reconcile(self, sessions: list[Session]) -> None:
        live = [
            s
            for s in sessions
            if not s.is_terminal and s.runtime_handle is not None and s.project_id in self.config.projects
        ]
        if not live:
            return
        alive = await self._probe_alive(live)
        for session in live:
            if alive.get(session.id, True):
                continue
            self._set_status(session, SessionStatus.KILLED, "runtime session is gone (liveness probe)")
            session.activity = ActivityState.EXITED
            self.store.update_session(session.id, activity=ActivityState.EXITED)

    async def probe_liveness(self, sessions: list[Session]) -> dict[str, bool]:
        """Liveness of many sessions (batched per runtime, as ``list_sessions`` does); changes nothing.

        Sessions without a runtime handle or of an unknown project, and sessions whose probe failed, are
        missing from the result: the caller decides what an unknown liveness means. Never raises for a
        failed probe.
        """
        live = [s for s in sessions if s.runtime_handle is not None and s.project_id in self.config.projects]
        if not live:
            return {}
        try:
            return await self._probe_alive(live)
        except AoError as exc:
            log.warning("liveness probe failed: %s", exc)
            return {}

    async def _probe_alive(self, sessions: list[Session]) -> dict[str, bool]:
        """Liveness of many sessions: one batched call per runtime when it offers one, else concurrent probes."""
        results: dict[str, bool] = {}
        by_runtime: dict[tuple[str, str], list[Session]] = {}
        for session in sessions:
            assert session.runtime_handle is not None
            by_runtime.setdefault((session.project_id, session.runtime_handle.runtime_name), []).append(session)

        async def probe_group(project_id: str, runtime_name: str, group: list[Session]) -> None:
            runtime = self.runtime_for(project_id, runtime_name)
            handles = [s.runtime_handle for s in group if s.runtime_handle is not None]
            if isinstance(runtime, SupportsAliveMany):
                found: Mapping[str, bool] = await _bounded(
                    runtime.is_alive_many(handles), "runtime is_alive_many", seconds=_LIVENESS_TIMEOUT_S
                )
                for s in group:
                    assert s.runtime_handle is not None
                    results[s.id] = bool(found.get(s.runtime_handle.id, False))
                return
            limiter = anyio.CapacityLimiter(16)

            async def one(s: Session) -> None:
                async with limiter:
                    try:
                        results[s.id] = await self.is_runtime_alive(s)
                    except AoError as exc:
                        log.warning("liveness probe of %s failed: %s", s.id, exc)

            async with anyio.create_task_group() as tg:
                for s in group:
                    tg.start_soon(one, s)

        async with anyio.create_task_group() as tg:
            for (project_id, runtime_name), group in by_runtime.items():
                tg.start_soon(probe_group, project_id, runtime_name, group)
        return results

    def _set_status(self, session: Session, status: SessionStatus, evidence: str) -> None:
        if session.status is status:
            return
        old = session.status
        session.status = status
        session.status_evidence = evidence
        self.store.update_session(session.id, status=status, status_evidence=evidence)
        self.store.record_transition(session.id, old, status, evidence)

    async def get_output(self, session_id: str, lines: int = 40) -> str:
        """The last ``lines`` lines the session shows (its terminal, or its log)."""
        session = await self.get(session_id, reconcile=False)
        if session.runtime_handle is None:
            raise SessionError(f"session '{session_id}' has no runtime session")
        runtime = self.runtime_for(session.project_id, session.runtime_handle.runtime_name)
        return await _bounded(runtime.get_output(session.runtime_handle, lines), "runtime get_output")

    # ------------------------------------------------------------------ send

    async def send(self, session_id: str, message: str, *, wait: bool = True, timeout_s: float = 600.0) -> Session:
        """Deliver ``message`` to a session's agent, confirmed submitted.

        A dead session is restored first. With ``wait``, the message goes in once the agent is ready
        (finished its turn), waiting up to ``timeout_s``.
        """
        if not message.strip():
            raise SessionError("the message is empty")
        session = await self.get(session_id)
        if session.is_terminal:
            session = await self.restore(session_id)
        assert session.runtime_handle is not None
        assert session.agent is not None
        runtime = self.runtime_for(session.project_id, session.runtime_handle.runtime_name)
        agent = self.agent_for(session.project_id, session.agent)
        ready = not wait or await self.wait_until_ready(
            session, runtime, agent, session.runtime_handle, timeout_s=timeout_s, accept_waiting_input=True
        )
        if not ready:
            state = await self.probe_activity(session, runtime, agent, session.runtime_handle)
            if state is ActivityState.EXITED:
                raise SessionError(f"session '{session_id}': the agent exited; run 'ao session restore {session_id}'")
            raise SessionError(
                f"session '{session_id}' stayed busy for {timeout_s:.0f}s; send with --no-wait to queue it anyway"
            )
        await _bounded(runtime.send_message(session.runtime_handle, message), "runtime send_message")
        return session

    # ------------------------------------------------------------------ kill

    async def kill(self, session_id: str, *, reason: str = "manually killed") -> KillResult:
        """End a session: its runtime session and its workspace. Branch and store row are kept. Idempotent."""
        session = self.store.get_session(session_id)
        if session is None:
            raise SessionNotFoundError(session_id, known=[s.id for s in self.store.list_sessions()])
        handle = session.runtime_handle
        runtime_alive = False
        if handle is not None and session.project_id in self.config.projects:
            runtime = self.runtime_for(session.project_id, handle.runtime_name)
            runtime_alive = await _bounded(runtime.is_alive(handle), "runtime is_alive", seconds=_LIVENESS_TIMEOUT_S)
            await _bounded(runtime.destroy(handle), "runtime destroy")
        workspace_present = bool(session.workspace_path and Path(session.workspace_path).exists())
        if workspace_present and session.workspace_path and session.project_id in self.config.projects:
            await _bounded(
                self.workspace_for(session.project_id).destroy(session.workspace_path), "workspace destroy", seconds=300
            )
        already = (
            session.status in (SessionStatus.KILLED, SessionStatus.CLEANUP)
            and not runtime_alive
            and not workspace_present
        )
        status = SessionStatus.CLEANUP if reason.startswith("pr merged") else SessionStatus.KILLED
        self._set_status(session, status, reason)
        self.store.update_session(session.id, activity=ActivityState.EXITED)
        return KillResult(session_id=session_id, cleaned=not already, already_terminated=already)

    # ------------------------------------------------------------------ restore

    async def restore(self, session_id: str) -> Session:
        """Bring a dead session back in the same workspace and branch, resuming the agent's conversation.

        Raises:
            SessionNotRestorableError: the session is still running, or has no workspace or branch.
        """
        session = await self.get(session_id)
        if session.runtime_handle is not None and await self.is_runtime_alive(session) and not session.is_terminal:
            raise SessionNotRestorableError(session_id, "it is still running")
        if not session.workspace_path or not session.branch:
            raise SessionNotRestorableError(session_id, "it has no workspace or branch recorded")
        project = self.project(session.project_id)
        workspace = self.workspace_for(session.project_id)
        ws_config = WorkspaceCreateConfig(
            project_id=session.project_id,
            project_path=project.path,
            default_branch=project.default_branch,
            session_id=session.id,
            branch=session.branch,
            workspace_dir=str(Path(session.workspace_path).parent),
        )
        exists = (
            await workspace.exists(session.workspace_path)
            if isinstance(workspace, SupportsWorkspaceExists)
            else Path(session.workspace_path).is_dir()
        )
        if not exists:
            if not isinstance(workspace, SupportsWorkspaceRestore):
                raise SessionNotRestorableError(session_id, f"its workspace {session.workspace_path} is gone")
            try:
                info = await _bounded(
                    workspace.restore(ws_config, session.workspace_path), "workspace restore", seconds=600
                )
            except WorkspaceError as exc:
                raise SessionNotRestorableError(session_id, f"its workspace could not be recreated: {exc}") from exc
            if isinstance(workspace, SupportsPostCreate):
                await _bounded(workspace.post_create(info, project), "workspace post_create", seconds=1800)

        agent_name = session.agent or self.agent_name_for(session.project_id)
        agent = self.agent_for(session.project_id, agent_name)
        runtime = self.runtime_for(session.project_id)
        if session.runtime_handle is not None:
            old_runtime = self.runtime_for(session.project_id, session.runtime_handle.runtime_name)
            await _bounded(old_runtime.destroy(session.runtime_handle), "runtime destroy")

        sdir = session_dir(self.state_dir, session.project_id, session.id)
        sdir.mkdir(parents=True, exist_ok=True)
        system_prompt_file = session.metadata.get("systemPromptFile")
        launch = AgentLaunchConfig(
            session_id=session.id,
            project_id=session.project_id,
            workspace_path=session.workspace_path,
            issue_id=session.issue_id,
            permissions=project.agent_config.permissions,
            model=project.agent_config.model,
            system_prompt_file=system_prompt_file if system_prompt_file and Path(system_prompt_file).exists() else None,
            agent_session_id=session.metadata.get("agentSessionId"),
            agent_config=project.agent_config.model_dump(by_alias=True, exclude_none=True, mode="json"),
        )
        await self._install_hooks(agent, session.workspace_path, session.id)
        command: str | None = None
        if isinstance(agent, SupportsRestoreCommand):
            command = await _bounded(agent.get_restore_command(session, project), "agent restore command")
        if command is None:
            command = agent.get_launch_command(launch)
        handle = await _bounded(
            runtime.create(
                RuntimeCreateConfig(
                    session_id=session.id,
                    workspace_path=session.workspace_path,
                    launch_command=command,
                    environment={
                        **agent.get_environment(launch),
                        **self._ao_environment(session.project_id, session.id, session.issue_id),
                    },
                    session_dir=str(sdir),
                )
            ),
            "runtime create",
        )
        now = utc_now()
        session.runtime_handle = handle
        session.restored_at = now
        session.activity = ActivityState.ACTIVE
        session.agent = agent_name
        if session.pr is not None and session.status in (SessionStatus.MERGED, SessionStatus.CLEANUP):
            session.pr = None
        self.store.update_session(
            session.id,
            runtime_handle=handle,
            restored_at=now,
            activity=ActivityState.ACTIVE,
            agent=agent_name,
            pr=session.pr,
        )
        self._set_status(session, SessionStatus.WORKING, "restored")
        if isinstance(agent, SupportsPostLaunchSetup):
            try:
                await _bounded(agent.post_launch_setup(session), "agent post-launch setup")
                self._save_metadata(session)
            except AoError as exc:
                log.warning("session %s: post-launch setup after restore failed: %s", session.id, exc)
        return session

    # ------------------------------------------------------------------ cleanup

    async def cleanup(self, project_id: str | None = None, *, dry_run: bool = False) -> CleanupResult:
        """Kill sessions whose runtime is dead, whose issue is completed, or whose PR is closed or merged."""
        result = CleanupResult()
        sessions = await self.list_sessions(project_id)
        for session in sessions:
            if session.project_id not in self.config.projects:
                result.skipped.append(session.id)
                continue
            try:
                reason = await self._cleanup_reason(session)
            except AoError as exc:
                result.errors[session.id] = str(exc)
                continue
            if reason is None:
                result.skipped.append(session.id)
                continue
            if not dry_run:
                try:
                    await self.kill(session.id, reason=reason)
                except AoError as exc:
                    result.errors[session.id] = str(exc)
                    continue
            result.killed[session.id] = reason
        return result

    async def _cleanup_reason(self, session: Session) -> str | None:
        if session.status in (SessionStatus.KILLED, SessionStatus.CLEANUP):
            leftover = session.workspace_path and Path(session.workspace_path).exists()
            return "runtime dead; workspace left over" if leftover else None
        if session.runtime_handle is None or not await self.is_runtime_alive(session):
            return "runtime dead"
        tracker = self.tracker_for(session.project_id)
        if tracker is not None and session.issue_id is not None:
            project = self.project(session.project_id)
            if await _bounded(tracker.is_completed(session.issue_id, project), "tracker is_completed"):
                return f"issue {session.issue_id} completed"
        scm = self.scm_for(session.project_id)
        if scm is not None and session.pr is not None:
            state = await _bounded(scm.get_pr_state(session.pr), "scm get_pr_state")
            if state is PRState.CLOSED:
                return f"PR #{session.pr.number} closed"
            if state is PRState.MERGED:
                return f"pr merged (#{session.pr.number})"
        return None

    # ------------------------------------------------------------------ claim-pr

    async def claim_pr(self, session_id: str, reference: str, *, assign: bool = False) -> ClaimResult:
        """Attach an existing open pull request to a session: check its branch out in the session's workspace.

        Other sessions of the project that tracked the same pull request (or branch) let go of it, and stop
        detecting pull requests by branch, so one PR feeds one agent.

        Raises:
            SessionError: the project has no SCM that can claim pull requests, the PR is not open, or the
                session has no workspace.
        """
        session = await self.get(session_id, reconcile=False)
        scm = self.scm_for(session.project_id)
        if scm is None or not isinstance(scm, SupportsClaimPR):
            raise SessionError(
                f"project '{session.project_id}' has no SCM plugin that can claim pull requests "
                f"(set projects.{session.project_id}.scm)"
            )
        if not session.workspace_path:
            raise SessionError(f"session '{session_id}' has no workspace to check the pull request out in")
        project = self.project(session.project_id)
        pr = await _bounded(scm.resolve_pr(reference, project), "scm resolve_pr")
        state = await _bounded(scm.get_pr_state(pr), "scm get_pr_state")
        if state is not PRState.OPEN:
            raise SessionError(f"pull request #{pr.number} is {state.value}; only an open pull request can be claimed")
        others = [
            other
            for other in self.store.list_sessions(session.project_id)
            if other.id != session.id
            and not other.is_terminal
            and ((other.pr is not None and other.pr.url == pr.url) or other.branch == pr.branch)
        ]
        if any(other.workspace_path and other.branch == pr.branch for other in others):
            status = await anyio.run_process(
                ["git", "-C", session.workspace_path, "status", "--porcelain"], check=False
            )
            if status.returncode != 0 or status.stdout.strip():
                raise SessionError(
                    f"workspace {session.workspace_path} has uncommitted changes; commit or stash them before "
                    f"claiming pull request #{pr.number}"
                )
        for other in others:
            # git checks a branch out in one worktree only: the session that lets go of the pull request keeps
            # its files and commits on a detached HEAD.
            if other.workspace_path and other.branch == pr.branch:
                await anyio.run_process(["git", "-C", other.workspace_path, "checkout", "-q", "--detach"], check=False)
        changed = await _bounded(scm.checkout_pr(pr, session.workspace_path), "scm checkout_pr", seconds=300)
        taken: list[str] = []
        for other in others:
            self.store.update_session(other.id, pr=None)
            self.store.set_metadata(other.id, "prAutoDetect", False)
            taken.append(other.id)
        self.store.update_session(session.id, pr=pr, branch=pr.branch)
        self.store.set_metadata(session.id, "prAutoDetect", True)
        result = ClaimResult(session_id=session.id, pr=pr, branch_changed=changed, taken_over_from=taken)
        if assign:
            try:
                await _bounded(scm.assign_pr_to_current_user(pr), "scm assign")
                result.assigned = True
            except AoError as exc:
                result.assign_error = str(exc)
        return result

    # ------------------------------------------------------------------ helpers for the CLI

    def live_issue_sessions(self, project_id: str) -> dict[str, str]:
        """Issue id (lower-case) → session id of the project's sessions that are not over."""
        found: dict[str, str] = {}
        for session in self.store.list_sessions(project_id):
            if session.issue_id and not session.is_terminal:
                found[session.issue_id.lower()] = session.id
        return found


def _normalize_issue_id(raw: str) -> str:
    value = raw.strip()
    if value.startswith("#") and value[1:].isdigit():
        value = value[1:]
    if not is_safe_identifier(value):
        raise SessionError(
            f"invalid issue id {raw!r}: use a number (42), a tracker key (INT-100) or letters, digits, '.', '_', '-'"
        )
    return value


def _display_name(issue_title: str | None, prompt: str | None) -> str:
    text = issue_title or next((line for line in (prompt or "").splitlines() if line.strip()), "")
    text = " ".join(text.split())
    return text if len(text) <= 80 else text[:79] + "…"


async def _bounded(awaitable: Awaitable[T], what: str, *, seconds: float = _PLUGIN_CALL_TIMEOUT_S) -> T:
    """Await a plugin call under a timeout; a timeout becomes an AoError naming the call."""
    try:
        with anyio.fail_after(seconds):
            return await awaitable
    except TimeoutError:
        raise SessionError(f"{what} did not finish within {seconds:.0f}s") from None


async def _undo(steps: Iterable[tuple[str, Callable[[], Awaitable[None]]]]) -> None:
    """Run undo steps in reverse order, shielded from cancellation; failures are logged, not raised."""
    with anyio.CancelScope(shield=True):
        for what, step in reversed(list(steps)):
            try:
                with anyio.fail_after(120):
                    await step()
            except Exception as exc:  # rollback must go on whatever one step raised
                log.error("rollback: could not remove the %s: %s", what, exc)


async def _branch_exists(repo: str, branch: str) -> bool:
    """Whether the project's repository has a local branch of that name (False when it is not a git repo)."""
    try:
        result = await anyio.run_process(
            ["git", "-C", repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"], check=False
        )
    except OSError:
        return False
    return result.returncode == 0


async def _delete_branch(repo: str, branch: str) -> None:
    """Delete a branch a failed spawn created (the workspace is already gone)."""
    await anyio.run_process(["git", "-C", repo, "branch", "-D", "--", branch], check=False)


def _sync(fn: Callable[[], object]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        fn()

    return run


def _rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
