"""Data models shared by the kernel and every plugin.

Everything that crosses a plugin boundary is one of these pydantic models or enums. Attributes are
snake_case; values that are absent are ``None``. Timestamps are timezone-aware ``datetime`` objects in UTC.
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "TERMINAL_STATUSES",
    "ActivityDetection",
    "ActivityState",
    "AgentLaunchConfig",
    "AgentSessionInfo",
    "AttachInfo",
    "AutomatedComment",
    "CICheck",
    "CIStatus",
    "CheckStatus",
    "CostEstimate",
    "CreateIssueInput",
    "EventPriority",
    "EventType",
    "Issue",
    "IssueFilters",
    "IssueState",
    "IssueUpdate",
    "MergeMethod",
    "MergeReadiness",
    "NotifyAction",
    "NotifyContext",
    "NotifyResult",
    "OrchestratorEvent",
    "PRInfo",
    "PRSnapshot",
    "PRState",
    "PRSummary",
    "PermissionMode",
    "PluginSlot",
    "PromptDelivery",
    "ReactionAction",
    "ReactionResult",
    "Review",
    "ReviewComment",
    "ReviewDecision",
    "ReviewState",
    "ReviewSummary",
    "ReviewThreads",
    "RuntimeCreateConfig",
    "RuntimeHandle",
    "RuntimeMetrics",
    "Session",
    "SessionStatus",
    "WebhookEvent",
    "WebhookEventKind",
    "WebhookRequest",
    "WebhookVerification",
    "WorkspaceCreateConfig",
    "WorkspaceHooksConfig",
    "WorkspaceInfo",
    "utc_now",
]


def utc_now() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class _Model(BaseModel):
    """Base of every data model: unknown fields are an error; validators are built on first use (fast start-up)."""

    model_config = ConfigDict(extra="forbid", use_enum_values=False, frozen=False, defer_build=True)


# --------------------------------------------------------------------------- enums


class PluginSlot(enum.StrEnum):
    """The seven plugin slots."""

    RUNTIME = "runtime"
    AGENT = "agent"
    WORKSPACE = "workspace"
    TRACKER = "tracker"
    SCM = "scm"
    NOTIFIER = "notifier"
    TERMINAL = "terminal"


class SessionStatus(enum.StrEnum):
    """Where a session stands in its life, as the lifecycle manager last decided."""

    SPAWNING = "spawning"
    WORKING = "working"
    DETECTING = "detecting"
    PR_OPEN = "pr_open"
    CI_FAILED = "ci_failed"
    REVIEW_PENDING = "review_pending"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    MERGEABLE = "mergeable"
    MERGED = "merged"
    CLEANUP = "cleanup"
    NEEDS_INPUT = "needs_input"
    STUCK = "stuck"
    ERRORED = "errored"
    KILLED = "killed"
    IDLE = "idle"
    DONE = "done"
    TERMINATED = "terminated"


TERMINAL_STATUSES: frozenset[SessionStatus] = frozenset(
    {
        SessionStatus.KILLED,
        SessionStatus.TERMINATED,
        SessionStatus.DONE,
        SessionStatus.CLEANUP,
        SessionStatus.ERRORED,
        SessionStatus.MERGED,
    }
)
"""Statuses after which the lifecycle manager stops reacting to a session (it can still be restored)."""


class ActivityState(enum.StrEnum):
    """What the agent is doing right now.

    ``active``: processing. ``ready``: finished its turn, alive, waiting for the next message.
    ``idle``: ready for longer than the ready threshold. ``waiting_input``: a permission prompt or a
    question is on screen. ``blocked``: an error stopped it. ``exited``: the agent process is gone.
    """

    ACTIVE = "active"
    READY = "ready"
    IDLE = "idle"
    WAITING_INPUT = "waiting_input"
    BLOCKED = "blocked"
    EXITED = "exited"


class PromptDelivery(enum.StrEnum):
    """How an agent receives its task prompt: in the launch command, or typed in after launch."""

    INLINE = "inline"
    POST_LAUNCH = "post-launch"


class PermissionMode(enum.StrEnum):
    """How much the agent may do without asking (``skip`` in a config file means ``permissionless``)."""

    PERMISSIONLESS = "permissionless"
    DEFAULT = "default"
    AUTO_EDIT = "auto-edit"
    SUGGEST = "suggest"


class IssueState(enum.StrEnum):
    """State of a tracker issue, normalized across trackers."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class PRState(enum.StrEnum):
    """State of a pull request."""

    OPEN = "open"
    MERGED = "merged"
    CLOSED = "closed"


class MergeMethod(enum.StrEnum):
    """How a pull request is merged."""

    MERGE = "merge"
    SQUASH = "squash"
    REBASE = "rebase"


class CheckStatus(enum.StrEnum):
    """Status of one CI check."""

    PENDING = "pending"
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


class CIStatus(enum.StrEnum):
    """Summary of all CI checks of a pull request's head commit."""

    PENDING = "pending"
    PASSING = "passing"
    FAILING = "failing"
    NONE = "none"


class ReviewState(enum.StrEnum):
    """State of one review."""

    APPROVED = "approved"
    CHANGES_REQUESTED = "changes_requested"
    COMMENTED = "commented"
    DISMISSED = "dismissed"
    PENDING = "pending"


class ReviewDecision(enum.StrEnum):
    """The overall review decision of a pull request (``none``: no review is required)."""

    APPROVED = "approved"
    CHANGES_REQUESTED = "changes_requested"
    PENDING = "pending"
    NONE = "none"


class EventPriority(enum.StrEnum):
    """How urgently a human should hear of an event; notification routing is keyed on it."""

    URGENT = "urgent"
    ACTION = "action"
    WARNING = "warning"
    INFO = "info"


class EventType(enum.StrEnum):
    """Every kind of event the orchestrator emits."""

    SESSION_SPAWNED = "session.spawned"
    SESSION_WORKING = "session.working"
    SESSION_EXITED = "session.exited"
    SESSION_KILLED = "session.killed"
    SESSION_IDLE = "session.idle"
    SESSION_STUCK = "session.stuck"
    SESSION_NEEDS_INPUT = "session.needs_input"
    SESSION_ERRORED = "session.errored"
    PR_CREATED = "pr.created"
    PR_UPDATED = "pr.updated"
    PR_MERGED = "pr.merged"
    PR_CLOSED = "pr.closed"
    CI_PASSING = "ci.passing"
    CI_FAILING = "ci.failing"
    CI_FIX_SENT = "ci.fix_sent"
    CI_FIX_FAILED = "ci.fix_failed"
    REVIEW_PENDING = "review.pending"
    REVIEW_APPROVED = "review.approved"
    REVIEW_CHANGES_REQUESTED = "review.changes_requested"
    REVIEW_COMMENTS_SENT = "review.comments_sent"
    REVIEW_COMMENTS_UNRESOLVED = "review.comments_unresolved"
    AUTOMATED_REVIEW_FOUND = "automated_review.found"
    AUTOMATED_REVIEW_FIX_SENT = "automated_review.fix_sent"
    MERGE_READY = "merge.ready"
    MERGE_CONFLICTS = "merge.conflicts"
    MERGE_COMPLETED = "merge.completed"
    REACTION_TRIGGERED = "reaction.triggered"
    REACTION_ESCALATED = "reaction.escalated"
    SUMMARY_ALL_COMPLETE = "summary.all_complete"


class ReactionAction(enum.StrEnum):
    """What a reaction does when it fires."""

    SEND_TO_AGENT = "send-to-agent"
    NOTIFY = "notify"
    AUTO_MERGE = "auto-merge"


class WebhookEventKind(enum.StrEnum):
    """The kind of an SCM webhook event, normalized across providers."""

    PULL_REQUEST = "pull_request"
    CI = "ci"
    REVIEW = "review"
    COMMENT = "comment"
    PUSH = "push"
    UNKNOWN = "unknown"


# --------------------------------------------------------------------------- runtime


class RuntimeHandle(_Model):
    """How a runtime finds a session again: persisted in the store, so it must be plain JSON data."""

    id: str
    """The runtime's own name for the session: a tmux session name, a container id, a process key."""
    runtime_name: str
    """Name of the runtime plugin that created it."""
    data: dict[str, Any] = Field(default_factory=dict)
    """Anything else the runtime needs (pid and start time, socket name, ...)."""


class RuntimeCreateConfig(_Model):
    """What a runtime needs to start a session."""

    session_id: str
    workspace_path: str
    launch_command: str
    environment: dict[str, str] = Field(default_factory=dict)
    session_dir: str | None = None
    """A directory the kernel owns for this session (logs, pipes); runtimes may write there."""


class RuntimeMetrics(_Model):
    """Resource usage of a running session."""

    uptime_ms: int
    memory_mb: float | None = None
    cpu_percent: float | None = None


class AttachInfo(_Model):
    """How a human attaches to a session."""

    type: Literal["tmux", "docker", "ssh", "web", "process", "k8s"]
    target: str
    command: str | None = None
    """A shell command that attaches, when there is one."""


# --------------------------------------------------------------------------- agent


class ActivityDetection(_Model):
    """An agent's activity and when that was last evidenced."""

    state: ActivityState
    timestamp: datetime | None = None
    evidence: str | None = None
    """Where the state came from, for humans (``transcript tail: assistant turn ended``)."""


class CostEstimate(_Model):
    """Token usage and its estimated price."""

    input_tokens: int
    output_tokens: int
    estimated_cost_usd: float
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0


class AgentSessionInfo(_Model):
    """What an agent's own records say about a session."""

    summary: str | None = None
    summary_is_fallback: bool = False
    agent_session_id: str | None = None
    cost: CostEstimate | None = None


class AgentLaunchConfig(_Model):
    """What an agent plugin needs to build its launch command and environment."""

    session_id: str
    project_id: str
    workspace_path: str
    issue_id: str | None = None
    prompt: str | None = None
    permissions: PermissionMode = PermissionMode.PERMISSIONLESS
    model: str | None = None
    system_prompt: str | None = None
    system_prompt_file: str | None = None
    """Preferred over ``system_prompt`` for long prompts; wins when both are set."""
    agent_session_id: str | None = None
    """An id the kernel fixes before launch so the agent's transcript can be found without guessing."""
    agent_config: dict[str, Any] = Field(default_factory=dict)
    """The project's ``agentConfig`` section, for agent-specific options."""


class WorkspaceHooksConfig(_Model):
    """What an agent needs to install hooks that report back to ao."""

    session_id: str
    data_dir: str
    ao_command: list[str] = Field(default_factory=lambda: ["ao"])
    """The argv prefix that runs this ao (hooks call it to record events)."""


# --------------------------------------------------------------------------- workspace


class WorkspaceCreateConfig(_Model):
    """What a workspace plugin needs to create a session's working copy."""

    project_id: str
    project_path: str
    default_branch: str = "main"
    session_id: str
    branch: str
    workspace_dir: str | None = None
    """Base directory for workspaces; the plugin's default applies when ``None``."""


class WorkspaceInfo(_Model):
    """A session's working copy."""

    path: str
    branch: str
    session_id: str
    project_id: str


# --------------------------------------------------------------------------- tracker


class Issue(_Model):
    """An issue from a tracker, normalized."""

    id: str
    title: str
    description: str = ""
    url: str
    state: IssueState = IssueState.OPEN
    labels: list[str] = Field(default_factory=list)
    assignee: str | None = None
    priority: int | None = None
    branch_name: str | None = None
    """The tracker's own branch name for the issue, when it has one (Linear does)."""


class IssueFilters(_Model):
    """Filters for listing issues."""

    state: Literal["open", "closed", "all"] = "open"
    labels: list[str] = Field(default_factory=list)
    assignee: str | None = None
    limit: int = 30


class IssueUpdate(_Model):
    """Changes to make to an issue."""

    state: Literal["open", "in_progress", "closed"] | None = None
    labels: list[str] = Field(default_factory=list)
    """Labels to add."""
    remove_labels: list[str] = Field(default_factory=list)
    assignee: str | None = None
    comment: str | None = None


class CreateIssueInput(_Model):
    """A new issue."""

    title: str
    description: str = ""
    labels: list[str] = Field(default_factory=list)
    assignee: str | None = None
    priority: int | None = None


# --------------------------------------------------------------------------- scm


class PRInfo(_Model):
    """Identity of a pull request."""

    number: int
    url: str
    title: str = ""
    owner: str
    repo: str
    branch: str
    base_branch: str = "main"
    is_draft: bool = False

    @property
    def key(self) -> str:
        """``owner/repo#number``: the key of snapshot maps."""
        return f"{self.owner}/{self.repo}#{self.number}"


class PRSummary(_Model):
    """Headline facts of a pull request."""

    state: PRState
    title: str
    additions: int
    deletions: int


class CICheck(_Model):
    """One CI check (a check run or a commit status) on a pull request's head commit."""

    name: str
    status: CheckStatus
    url: str | None = None
    conclusion: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    log_tail: str | None = None
    """The last lines of the check's log (or of its report), when the SCM read them for a failing check."""


class Review(_Model):
    """One review of a pull request."""

    author: str
    state: ReviewState
    body: str = ""
    submitted_at: datetime | None = None


class ReviewComment(_Model):
    """An inline review comment (the first comment of a review thread)."""

    id: str
    thread_id: str | None = None
    author: str
    body: str
    path: str | None = None
    line: int | None = None
    is_resolved: bool = False
    created_at: datetime | None = None
    url: str = ""
    is_bot: bool = False


class AutomatedComment(_Model):
    """A review comment written by a bot (linters, code-review bots)."""

    id: str
    bot_name: str
    body: str
    path: str | None = None
    line: int | None = None
    severity: Literal["error", "warning", "info"] = "info"
    created_at: datetime | None = None
    url: str = ""


class ReviewSummary(_Model):
    """The body of a submitted review."""

    author: str
    state: str
    body: str
    submitted_at: datetime | None = None


class ReviewThreads(_Model):
    """Unresolved review threads (human and bot) and review summaries, fetched together."""

    threads: list[ReviewComment] = Field(default_factory=list)
    reviews: list[ReviewSummary] = Field(default_factory=list)


class MergeReadiness(_Model):
    """Whether a pull request can be merged, and what stands in the way."""

    mergeable: bool
    ci_passing: bool
    approved: bool
    no_conflicts: bool
    blockers: list[str] = Field(default_factory=list)


class PRSnapshot(_Model):
    """Everything the lifecycle manager needs about one pull request, fetched in a batch."""

    state: PRState
    ci_status: CIStatus
    review_decision: ReviewDecision
    mergeable: bool
    title: str = ""
    additions: int = 0
    deletions: int = 0
    is_draft: bool = False
    has_conflicts: bool = False
    is_behind: bool = False
    head_sha: str | None = None
    blockers: list[str] = Field(default_factory=list)
    ci_checks: list[CICheck] | None = None
    """``None`` when the checks could not all be read (the summary still holds)."""


class WebhookRequest(_Model):
    """An incoming webhook delivery, as the HTTP server received it."""

    method: str
    path: str
    headers: dict[str, str]
    """Header names are lower-case."""
    body: bytes


class WebhookVerification(_Model):
    """The result of verifying a webhook delivery."""

    ok: bool
    status_code: int = 200
    """What the endpoint should answer when ``ok`` is false (401 bad signature, 413 too large, 400 bad input)."""
    reason: str | None = None
    delivery_id: str | None = None
    event_type: str | None = None


class WebhookEvent(_Model):
    """A webhook delivery parsed into what the lifecycle manager needs to find affected sessions."""

    provider: str
    kind: WebhookEventKind
    action: str = ""
    raw_event_type: str
    delivery_id: str | None = None
    owner: str | None = None
    repo: str | None = None
    pr_number: int | None = None
    branch: str | None = None
    sha: str | None = None
    timestamp: datetime | None = None
    data: dict[str, Any] = Field(default_factory=dict)


# --------------------------------------------------------------------------- events, notifications, reactions


class OrchestratorEvent(_Model):
    """Something that happened to a session, to be recorded and perhaps told to a human."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    type: EventType
    priority: EventPriority
    session_id: str
    project_id: str
    timestamp: datetime = Field(default_factory=utc_now)
    message: str
    data: dict[str, Any] = Field(default_factory=dict)


class NotifyAction(_Model):
    """A button or link offered with a notification."""

    label: str
    url: str | None = None
    callback_endpoint: str | None = None


class NotifyContext(_Model):
    """Where a free-form ``post`` belongs."""

    session_id: str | None = None
    project_id: str | None = None
    pr_url: str | None = None
    channel: str | None = None


class NotifyResult(_Model):
    """The outcome of one notifier call, recorded on the event."""

    notifier: str
    ok: bool
    error: str | None = None
    duration_ms: int = 0


class ReactionResult(_Model):
    """The outcome of running a reaction."""

    reaction_key: str
    action: ReactionAction
    success: bool
    escalated: bool = False
    message: str | None = None


# --------------------------------------------------------------------------- session


class Session(_Model):
    """One agent working one task in its own workspace and runtime session."""

    id: str
    project_id: str
    status: SessionStatus = SessionStatus.SPAWNING
    activity: ActivityState | None = None
    branch: str | None = None
    issue_id: str | None = None
    pr: PRInfo | None = None
    workspace_path: str | None = None
    runtime_handle: RuntimeHandle | None = None
    agent: str | None = None
    """Name of the agent plugin; persisted so restores use the same agent."""
    agent_info: AgentSessionInfo | None = None
    created_at: datetime = Field(default_factory=utc_now)
    last_activity_at: datetime | None = None
    restored_at: datetime | None = None
    status_evidence: str | None = None
    """Why the session has its status: the evidence of the last decision."""
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def is_terminal(self) -> bool:
        """Whether the session is over (killed, merged, done...): the lifecycle manager leaves it alone."""
        return self.status in TERMINAL_STATUSES or self.activity is ActivityState.EXITED
