"""The plugin interfaces: one Protocol per slot, and the manifest every plugin module exposes.

This module is the plugin author's manual. A plugin module exposes two names::

    manifest = PluginManifest(name="tmux", slot=PluginSlot.RUNTIME, description="...", version="0.1.0")

    def create(config: TmuxRuntimeConfig | None = None) -> Runtime:
        return TmuxRuntime(config or TmuxRuntimeConfig())

Annotating ``create`` with the slot's Protocol is what makes mypy check the plugin: a class that misses a
method or gets a signature wrong is rejected where ``create`` returns it.

Each slot has a required Protocol (``Runtime``, ``Agent``, ...) and, for the methods upstream marks
optional, small ``Supports*`` Protocols. The kernel checks those with ``isinstance`` (they are
``runtime_checkable``) before calling them, so a plugin implements only what its medium allows.

Methods that do I/O are ``async``. Blocking client libraries must run in a worker thread
(``anyio.to_thread.run_sync``); the kernel wraps every plugin call in a timeout.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from ao_core.config._schema import ProjectConfig
from ao_core.models import (
    ActivityDetection,
    ActivityState,
    AgentLaunchConfig,
    AgentSessionInfo,
    AttachInfo,
    AutomatedComment,
    CICheck,
    CIStatus,
    CreateIssueInput,
    Issue,
    IssueFilters,
    IssueUpdate,
    MergeMethod,
    MergeReadiness,
    NotifyAction,
    NotifyContext,
    OrchestratorEvent,
    PluginSlot,
    PRInfo,
    PromptDelivery,
    PRSnapshot,
    PRState,
    PRSummary,
    Review,
    ReviewComment,
    ReviewDecision,
    ReviewThreads,
    RuntimeCreateConfig,
    RuntimeHandle,
    RuntimeMetrics,
    Session,
    WebhookEvent,
    WebhookRequest,
    WebhookVerification,
    WorkspaceCreateConfig,
    WorkspaceHooksConfig,
    WorkspaceInfo,
)

__all__ = [
    "API_VERSION",
    "SCM",
    "Agent",
    "Notifier",
    "PluginManifest",
    "PluginModule",
    "Runtime",
    "SupportsActions",
    "SupportsAliveMany",
    "SupportsAttachInfo",
    "SupportsCILogs",
    "SupportsClaimPR",
    "SupportsCreateIssue",
    "SupportsIsSessionOpen",
    "SupportsIssueLabel",
    "SupportsListIssues",
    "SupportsMetrics",
    "SupportsOutputMany",
    "SupportsPRSnapshots",
    "SupportsPRSummary",
    "SupportsPost",
    "SupportsPostCreate",
    "SupportsPostLaunchSetup",
    "SupportsRecordActivity",
    "SupportsRestoreCommand",
    "SupportsReviewThreads",
    "SupportsUpdateIssue",
    "SupportsWebhooks",
    "SupportsWorkspaceExists",
    "SupportsWorkspaceHooks",
    "SupportsWorkspaceRestore",
    "Terminal",
    "Tracker",
    "Workspace",
]

API_VERSION = 1
"""The plugin API version this kernel speaks; a manifest with another ``api_version`` is refused."""

T_co = TypeVar("T_co", covariant=True)


class PluginManifest(BaseModel):
    """What a plugin says about itself."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    """The name configs use (``runtime: tmux``)."""
    slot: PluginSlot
    description: str
    version: str = "0.1.0"
    api_version: int = API_VERSION
    display_name: str | None = None


class PluginModule(Protocol[T_co]):
    """A plugin module: ``manifest`` and ``create()``. A module object satisfies this Protocol.

    ``create`` receives the plugin's validated config model (or ``None`` for defaults) and returns the
    slot's implementation. mypy checks ``_: PluginModule[Runtime] = my_module`` statically.
    """

    @property
    def manifest(self) -> PluginManifest:
        """The plugin's manifest."""
        ...

    def create(self, config: Any = None, /) -> T_co:
        """Build the plugin from its config."""
        ...


# =========================================================================== 1. runtime


class Runtime(Protocol):
    """Where and how a session runs: a tmux session, a child process, a container, a pod."""

    @property
    def name(self) -> str:
        """The plugin name (``tmux``); stored in every handle this runtime creates."""
        ...

    async def create(self, config: RuntimeCreateConfig) -> RuntimeHandle:
        """Start a session that runs ``config.launch_command`` in ``config.workspace_path``.

        The command runs with ``config.environment`` added to the environment. Long commands must work
        (write them to a script file rather than typing them). Return a handle that holds only JSON data:
        it is persisted and handed back to this plugin, maybe by another process, maybe after a restart.
        On failure, leave nothing behind and raise ``RuntimeFailedError``.
        """
        ...

    async def destroy(self, handle: RuntimeHandle) -> None:
        """End the session and everything it started. Idempotent: a session that is gone is not an error."""
        ...

    async def send_message(self, handle: RuntimeHandle, message: str) -> None:
        """Type ``message`` into the agent and submit it (press Enter), exactly once.

        Any text must arrive byte for byte: quotes, ``$(...)``, backticks, tabs, backslashes, newlines,
        non-ASCII. Clear any half-typed input first. Raise ``RuntimeFailedError`` if it cannot be sent.
        """
        ...

    async def get_output(self, handle: RuntimeHandle, lines: int = 50) -> str:
        """Return the last ``lines`` lines of what the session shows (``""`` when there is nothing)."""
        ...

    async def is_alive(self, handle: RuntimeHandle) -> bool:
        """Whether the session still exists. Must be cheap: it runs for every session on every poll."""
        ...


@runtime_checkable
class SupportsAliveMany(Protocol):
    """Optional runtime capability: liveness of many sessions in one call (the kernel probes every poll)."""

    async def is_alive_many(self, handles: Sequence[RuntimeHandle]) -> dict[str, bool]:
        """Return ``handle.id → alive`` for every handle, with as few external calls as possible."""
        ...


@runtime_checkable
class SupportsOutputMany(Protocol):
    """Optional runtime capability: terminal output of many sessions in one call (the kernel reads every poll)."""

    async def get_output_many(self, handles: Sequence[RuntimeHandle], lines: int = 50) -> dict[str, str]:
        """Return ``handle.id → output`` for every handle, as :meth:`Runtime.get_output` would, in few calls.

        A session that is gone yields ``""`` and does not stop the others from being read.
        """
        ...


@runtime_checkable
class SupportsMetrics(Protocol):
    """Optional runtime capability: resource usage."""

    async def get_metrics(self, handle: RuntimeHandle) -> RuntimeMetrics:
        """Return uptime and, where known, memory and CPU of the session."""
        ...


@runtime_checkable
class SupportsAttachInfo(Protocol):
    """Optional runtime capability: how a human attaches."""

    async def get_attach_info(self, handle: RuntimeHandle) -> AttachInfo:
        """Return how to attach to the session (``tmux attach -t ...``, ``docker exec -it ...``)."""
        ...


# =========================================================================== 2. agent


class Agent(Protocol):
    """An adapter for one AI coding CLI (Claude Code, Codex, Aider, OpenCode)."""

    @property
    def name(self) -> str:
        """The plugin name (``claude-code``)."""
        ...

    @property
    def process_name(self) -> str:
        """The executable's name as it appears in the process table (``claude``)."""
        ...

    @property
    def prompt_delivery(self) -> PromptDelivery:
        """``inline``: the prompt is part of the launch command; ``post-launch``: ao types it in once ready."""
        ...

    def get_launch_command(self, config: AgentLaunchConfig) -> str:
        """Return the shell command that starts the agent. Quote every value that came from outside."""
        ...

    def get_environment(self, config: AgentLaunchConfig) -> dict[str, str]:
        """Return environment variables the agent needs (the kernel adds ``AO_*`` variables itself)."""
        ...

    def detect_activity(self, terminal_output: str) -> ActivityState:
        """Classify the activity from the last lines of the terminal (fallback when no native signal)."""
        ...

    async def get_activity_state(self, session: Session, ready_threshold_ms: int) -> ActivityDetection | None:
        """Return the activity from the agent's own records (transcript, rollout, database).

        ``None`` means "no native signal": the kernel then falls back to ``detect_activity`` on the
        terminal output. ``ready`` turns into ``idle`` after ``ready_threshold_ms`` without activity.
        Read only what is needed (the tail of a transcript, not the whole file): this runs every poll.
        """
        ...

    async def is_process_running(self, handle: RuntimeHandle) -> bool:
        """Whether the agent's process is running inside the session's runtime."""
        ...

    async def get_session_info(self, session: Session) -> AgentSessionInfo | None:
        """Return the summary, the agent's own session id, and token usage with estimated cost."""
        ...


@runtime_checkable
class SupportsRestoreCommand(Protocol):
    """Optional agent capability: resume the earlier conversation on restore."""

    async def get_restore_command(self, session: Session, project: ProjectConfig) -> str | None:
        """Return a command that resumes the session's conversation, or ``None`` to launch fresh."""
        ...


@runtime_checkable
class SupportsPostLaunchSetup(Protocol):
    """Optional agent capability: work to do once the runtime has started the agent."""

    async def post_launch_setup(self, session: Session) -> None:
        """Run after launch (answer first-run dialogs, install hooks, capture the agent's session id)."""
        ...


@runtime_checkable
class SupportsWorkspaceHooks(Protocol):
    """Optional agent capability: hooks in the workspace that report back to ao without polling."""

    async def setup_workspace_hooks(self, workspace_path: str, config: WorkspaceHooksConfig) -> None:
        """Install hooks so the agent records branch switches, PR URLs and its state through ``ao``."""
        ...


@runtime_checkable
class SupportsRecordActivity(Protocol):
    """Optional agent capability: keep an activity log from terminal output (agents without transcripts)."""

    async def record_activity(self, session: Session, terminal_output: str) -> None:
        """Classify ``terminal_output`` and append the result to the session's activity log."""
        ...


# =========================================================================== 3. workspace


class Workspace(Protocol):
    """How a session gets its own copy of the code: a git worktree, a clone."""

    @property
    def name(self) -> str:
        """The plugin name (``worktree``)."""
        ...

    async def create(self, config: WorkspaceCreateConfig) -> WorkspaceInfo:
        """Create the workspace on a new branch ``config.branch`` from the project's default branch.

        Never touch the project's own checkout. On failure leave nothing behind and raise ``WorkspaceError``.
        """
        ...

    async def destroy(self, workspace_path: str) -> None:
        """Remove the workspace. Branches are kept. Idempotent."""
        ...

    async def list(self, project_id: str) -> list[WorkspaceInfo]:
        """List the workspaces this plugin created for a project."""
        ...


@runtime_checkable
class SupportsPostCreate(Protocol):
    """Optional workspace capability: project setup after creation."""

    async def post_create(self, info: WorkspaceInfo, project: ProjectConfig) -> None:
        """Create the project's ``symlinks`` and run its ``postCreate`` commands in the workspace."""
        ...


@runtime_checkable
class SupportsWorkspaceExists(Protocol):
    """Optional workspace capability: check that a workspace is still there."""

    async def exists(self, workspace_path: str) -> bool:
        """Whether the workspace exists and is a usable working copy."""
        ...


@runtime_checkable
class SupportsWorkspaceRestore(Protocol):
    """Optional workspace capability: recreate a workspace that was removed, on its existing branch."""

    async def restore(self, config: WorkspaceCreateConfig, workspace_path: str) -> WorkspaceInfo:
        """Recreate the workspace at ``workspace_path`` on ``config.branch`` (which may already exist)."""
        ...


# =========================================================================== 4. tracker


class Tracker(Protocol):
    """An issue tracker: GitHub Issues, Linear."""

    @property
    def name(self) -> str:
        """The plugin name (``github``)."""
        ...

    async def get_issue(self, identifier: str, project: ProjectConfig) -> Issue:
        """Fetch one issue. Raise ``IssueNotFoundError`` when it does not exist, ``TrackerError`` otherwise."""
        ...

    async def is_completed(self, identifier: str, project: ProjectConfig) -> bool:
        """Whether the issue is closed or cancelled."""
        ...

    def issue_url(self, identifier: str, project: ProjectConfig) -> str:
        """The issue's web URL."""
        ...

    def branch_name(self, identifier: str, project: ProjectConfig) -> str:
        """The git branch for work on the issue (``feat/issue-42``); must be a valid ref name."""
        ...

    async def generate_prompt(self, identifier: str, project: ProjectConfig) -> str:
        """The issue as a task description for an agent: title, URL, labels, description."""
        ...


@runtime_checkable
class SupportsIssueLabel(Protocol):
    """Optional tracker capability: a short label for an issue URL."""

    def issue_label(self, url: str, project: ProjectConfig) -> str:
        """A short human label for an issue URL (``#42``, ``INT-100``)."""
        ...


@runtime_checkable
class SupportsListIssues(Protocol):
    """Optional tracker capability: listing."""

    async def list_issues(self, filters: IssueFilters, project: ProjectConfig) -> list[Issue]:
        """List issues matching the filters."""
        ...


@runtime_checkable
class SupportsUpdateIssue(Protocol):
    """Optional tracker capability: changing issues."""

    async def update_issue(self, identifier: str, update: IssueUpdate, project: ProjectConfig) -> None:
        """Change state, labels or assignee, or add a comment."""
        ...


@runtime_checkable
class SupportsCreateIssue(Protocol):
    """Optional tracker capability: creating issues."""

    async def create_issue(self, issue: CreateIssueInput, project: ProjectConfig) -> Issue:
        """Create an issue and return it."""
        ...


# =========================================================================== 5. scm


class SCM(Protocol):
    """A source-control host: pull requests, CI checks, reviews."""

    @property
    def name(self) -> str:
        """The plugin name (``github``)."""
        ...

    async def detect_pr(self, session: Session, project: ProjectConfig) -> PRInfo | None:
        """Find the open pull request whose head is the session's branch, or ``None``."""
        ...

    async def get_pr_state(self, pr: PRInfo) -> PRState:
        """Open, merged or closed."""
        ...

    async def merge_pr(self, pr: PRInfo, method: MergeMethod = MergeMethod.SQUASH) -> None:
        """Merge the pull request. Raise ``SCMError`` naming the reason when the host refuses."""
        ...

    async def close_pr(self, pr: PRInfo) -> None:
        """Close the pull request without merging."""
        ...

    async def get_ci_checks(self, pr: PRInfo) -> list[CICheck]:
        """All check runs and commit statuses of the head commit."""
        ...

    async def get_ci_summary(self, pr: PRInfo) -> CIStatus:
        """Failing if any check failed, pending if any runs, passing if any passed, else none.

        Fail closed: if the checks of an open pull request cannot be read, report ``failing``.
        """
        ...

    async def get_reviews(self, pr: PRInfo) -> list[Review]:
        """Every submitted review."""
        ...

    async def get_review_decision(self, pr: PRInfo) -> ReviewDecision:
        """The host's review decision; ``none`` when no review is required."""
        ...

    async def get_pending_comments(self, pr: PRInfo) -> list[ReviewComment]:
        """Unresolved review comments by humans (first comment of each unresolved thread)."""
        ...

    async def get_automated_comments(self, pr: PRInfo) -> list[AutomatedComment]:
        """Unresolved review comments by bots."""
        ...

    async def get_mergeability(self, pr: PRInfo) -> MergeReadiness:
        """Whether the pull request can be merged now, with every blocker named."""
        ...


@runtime_checkable
class SupportsPRSnapshots(Protocol):
    """SCM capability the lifecycle manager relies on: many pull requests in few requests."""

    async def get_pr_snapshots(self, prs: Sequence[PRInfo]) -> dict[str, PRSnapshot]:
        """Return a snapshot per pull request, keyed by ``PRInfo.key``, in as few requests as possible.

        Batch (GitHub: one GraphQL request per 50 pull requests) and guard with conditional requests so
        that polling an unchanged world costs no rate limit. A pull request that could not be read is
        left out of the result rather than failing the batch.
        """
        ...


@runtime_checkable
class SupportsCILogs(Protocol):
    """Optional SCM capability: what failing checks printed, for the agent's CI-fix message."""

    async def get_ci_log_tails(self, pr: PRInfo, checks: Sequence[CICheck]) -> dict[str, str]:
        """The last lines of each check's log (else of its report), by check name.

        Called for failing checks only, once per new failure. Checks without a readable log are left out.
        """
        ...


@runtime_checkable
class SupportsPRSummary(Protocol):
    """Optional SCM capability: headline facts."""

    async def get_pr_summary(self, pr: PRInfo) -> PRSummary:
        """State, title, additions and deletions."""
        ...


@runtime_checkable
class SupportsReviewThreads(Protocol):
    """Optional SCM capability: unresolved threads of humans and bots, with review bodies, in one call."""

    async def get_review_threads(self, pr: PRInfo) -> ReviewThreads:
        """Unresolved threads (``is_bot`` set for bots) and the bodies of submitted reviews."""
        ...


@runtime_checkable
class SupportsClaimPR(Protocol):
    """Optional SCM capability: attach an existing pull request to a session."""

    async def resolve_pr(self, reference: str, project: ProjectConfig) -> PRInfo:
        """Resolve a number or URL to a pull request of the project's repository."""
        ...

    async def checkout_pr(self, pr: PRInfo, workspace_path: str) -> bool:
        """Check the pull request's branch out in the workspace; ``True`` if the branch changed.

        Refuse (``SCMError``) when the workspace has uncommitted changes.
        """
        ...

    async def assign_pr_to_current_user(self, pr: PRInfo) -> None:
        """Assign the pull request to the authenticated user."""
        ...


@runtime_checkable
class SupportsWebhooks(Protocol):
    """Optional SCM capability: verify and parse webhook deliveries so sessions are checked at once."""

    async def verify_webhook(self, request: WebhookRequest, project: ProjectConfig) -> WebhookVerification:
        """Check the delivery's signature and size; say which HTTP status to answer when it fails."""
        ...

    async def parse_webhook(self, request: WebhookRequest, project: ProjectConfig) -> WebhookEvent | None:
        """Turn a verified delivery into an event (``None`` for deliveries ao has no use for)."""
        ...


# =========================================================================== 6. notifier


class Notifier(Protocol):
    """How ao tells a human: desktop, Slack, a webhook, Composio."""

    @property
    def name(self) -> str:
        """The plugin name (``slack``)."""
        ...

    async def notify(self, event: OrchestratorEvent) -> None:
        """Deliver the event. Raise ``NotifyError`` (never a secret in it) when it cannot be delivered."""
        ...


@runtime_checkable
class SupportsActions(Protocol):
    """Optional notifier capability: buttons or links with the notification."""

    async def notify_with_actions(self, event: OrchestratorEvent, actions: Sequence[NotifyAction]) -> None:
        """Deliver the event with actions the human can take."""
        ...


@runtime_checkable
class SupportsPost(Protocol):
    """Optional notifier capability: free-form messages."""

    async def post(self, message: str, context: NotifyContext | None = None) -> str | None:
        """Post a message; return the message's id on the medium when it has one."""
        ...


# =========================================================================== 7. terminal


class Terminal(Protocol):
    """How a human opens sessions: tmux attach, an iTerm2 tab, the web terminal."""

    @property
    def name(self) -> str:
        """The plugin name (``iterm2``)."""
        ...

    async def open_session(self, session: Session) -> None:
        """Open one session for the human."""
        ...

    async def open_all(self, sessions: Sequence[Session]) -> None:
        """Open several sessions."""
        ...


@runtime_checkable
class SupportsIsSessionOpen(Protocol):
    """Optional terminal capability."""

    async def is_session_open(self, session: Session) -> bool:
        """Whether the session is already open in this terminal."""
        ...
