"""The configuration schema: upstream's "wrapped" ``agent-orchestrator.yaml`` format, as pydantic models.

YAML keys are camelCase; attributes are snake_case with camelCase aliases. Unknown keys are errors, except
inside the sections that belong to a plugin (its options) or to an agent (``agentConfig``), which are
validated by the plugin's own config model.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator
from pydantic.alias_generators import to_camel

from ao_core.models import EventPriority, PermissionMode, ReactionAction

__all__ = [
    "DEFAULT_REACTIONS",
    "AgentSpecificConfig",
    "DashboardConfig",
    "DefaultsConfig",
    "LifecycleConfig",
    "LocalPluginEntry",
    "OrchestratorConfig",
    "PluginRef",
    "PowerConfig",
    "ProjectConfig",
    "ReactionConfig",
    "ReactionOverride",
    "RoleAgentConfig",
    "parse_duration_ms",
    "session_prefix_for",
]

_ID_RE = re.compile(r"^[a-zA-Z0-9_-]+$")
_DURATION_RE = re.compile(r"^(\d+)(ms|s|m|h|d)$")
_DURATION_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse_duration_ms(value: str) -> int:
    """Parse a duration such as ``"30s"``, ``"15m"`` or ``"2h"`` into milliseconds.

    Raises:
        ValueError: when the text is not a number followed by one of ms, s, m, h, d.
    """
    match = _DURATION_RE.match(value.strip())
    if match is None:
        raise ValueError(f"invalid duration {value!r}; use a number and a unit: 90s, 15m, 2h")
    return int(match.group(1)) * _DURATION_MS[match.group(2)]


def session_prefix_for(path_basename: str) -> str:
    """Derive a session-id prefix from a project's directory name.

    Four characters or fewer: the name in lower case. CamelCase with several capitals: the capitals
    (``PyTorch`` → ``pt``). Names with ``-`` or ``_``: the initials (``agent-orchestrator`` → ``ao``).
    Otherwise the first three characters (``integrator`` → ``int``).
    """
    name = re.sub(r"[^a-zA-Z0-9_-]", "", path_basename) or "ao"
    if len(name) <= 4:
        return name.lower()
    capitals = [c for c in name if c.isupper()]
    if len(capitals) > 1:
        return "".join(capitals).lower()
    parts = [p for p in re.split(r"[-_]", name) if p]
    if len(parts) > 1:
        return "".join(p[0] for p in parts).lower()
    return name[:3].lower()


def _check_project_id(value: str) -> str:
    if not _ID_RE.match(value):
        raise ValueError(f"project id {value!r} may only contain letters, digits, '-' and '_'")
    return value


_ProjectId = Annotated[str, AfterValidator(_check_project_id)]
"""A key of ``projects``: letters, digits, ``-`` and ``_`` (it names the project on the command line)."""


def _check_symlink(entry: str) -> str:
    parts = Path(entry).parts
    if Path(entry).is_absolute() or ".." in parts or not parts:
        raise ValueError(f"symlink {entry!r} must be a relative path inside the repository, without '..'")
    return entry


_SymlinkPath = Annotated[str, AfterValidator(_check_symlink)]


def _check_duration_or_count(value: int | str | None) -> int | str | None:
    if isinstance(value, str):
        parse_duration_ms(value)
    elif isinstance(value, int) and value < 0:
        raise ValueError("must not be negative")
    return value


class _ConfigModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        validate_default=True,
        defer_build=True,  # build validators on first use: keeps CLI start-up fast
    )


class PluginRef(_ConfigModel):
    """A slot's plugin choice: a name (``runtime: tmux``) or an object with ``plugin`` and its options.

    ``runtime: {plugin: tmux, socketName: ao}`` gives ``plugin="tmux"`` and
    ``options={"socketName": "ao"}``; the registry validates ``options`` against the plugin's config model.
    Trackers, SCMs and notifiers may name an external plugin by ``package`` or ``path`` instead.
    """

    plugin: str | None = None
    package: str | None = None
    path: str | None = None
    options: dict[str, Any] = Field(default_factory=dict, repr=False)  # may hold expanded secrets

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"plugin": value}
        if isinstance(value, dict):
            reserved = {"plugin", "package", "path"}
            if "options" in value and set(value) <= reserved | {"options"}:
                return value
            data = {k: v for k, v in value.items() if k in reserved}
            data["options"] = {k: v for k, v in value.items() if k not in reserved}
            return data
        return value

    @model_validator(mode="after")
    def _one_source(self) -> PluginRef:
        if self.package is not None and self.path is not None:
            raise ValueError("give either 'package' or 'path', not both")
        if self.plugin is None and self.package is None and self.path is None:
            raise ValueError("name a plugin: 'plugin: <name>' (or 'package:' / 'path:' for an external one)")
        return self


class LocalPluginEntry(_ConfigModel):
    """An entry of the top-level ``plugins:`` list: a plugin loaded from a path or a named package."""

    path: str | None = None
    package: str | None = None
    name: str | None = None
    source: Literal["local", "npm", "registry", "pypi"] | None = None
    version: str | None = None
    enabled: bool = True

    @model_validator(mode="after")
    def _one_source(self) -> LocalPluginEntry:
        if (self.path is None) == (self.package is None):
            raise ValueError("each plugins entry needs exactly one of 'path' or 'package'")
        return self


class ReactionConfig(_ConfigModel):
    """What happens automatically when a session reaches a state (a CI failure, a review, ...)."""

    auto: bool = True
    action: ReactionAction = ReactionAction.NOTIFY
    message: str | None = None
    priority: EventPriority | None = None
    retries: int | None = Field(default=None, ge=0)
    escalate_after: int | str | None = None
    """Escalate to a human after this many attempts (a number) or this long (``"30m"``)."""
    threshold: str | None = None
    include_summary: bool = False

    @field_validator("escalate_after", "threshold")
    @classmethod
    def _check_durations(cls, value: int | str | None) -> int | str | None:
        return _check_duration_or_count(value)


class ReactionOverride(_ConfigModel):
    """A project's partial override of a reaction; unset fields keep the global value."""

    auto: bool | None = None
    action: ReactionAction | None = None
    message: str | None = None
    priority: EventPriority | None = None
    retries: int | None = Field(default=None, ge=0)
    escalate_after: int | str | None = None
    threshold: str | None = None
    include_summary: bool | None = None

    @field_validator("escalate_after", "threshold")
    @classmethod
    def _check_durations(cls, value: int | str | None) -> int | str | None:
        return _check_duration_or_count(value)


DEFAULT_REACTIONS: dict[str, ReactionConfig] = {
    "pr-closed": ReactionConfig(
        action=ReactionAction.NOTIFY,
        priority=EventPriority.ACTION,
        message="The pull request was closed without being merged; decide whether to restore or clean up.",
    ),
    "ci-failed": ReactionConfig(
        action=ReactionAction.SEND_TO_AGENT,
        message="CI is failing on your pull request. Find the cause, fix it, and push again.",
        retries=2,
        escalate_after=2,
    ),
    "changes-requested": ReactionConfig(
        action=ReactionAction.SEND_TO_AGENT,
        message="A reviewer requested changes on your pull request. Address each comment and push.",
        escalate_after="30m",
    ),
    "bugbot-comments": ReactionConfig(
        action=ReactionAction.SEND_TO_AGENT,
        message="Automated reviewers left comments on your pull request. Address them and push.",
        escalate_after="30m",
    ),
    "merge-conflicts": ReactionConfig(
        action=ReactionAction.SEND_TO_AGENT,
        message="Your branch conflicts with the base branch. Rebase onto it, resolve the conflicts, and push.",
        escalate_after="15m",
    ),
    "approved-and-green": ReactionConfig(
        auto=False,
        action=ReactionAction.NOTIFY,
        priority=EventPriority.ACTION,
        message="The pull request is approved and CI is green: it is ready to merge.",
    ),
    "agent-idle": ReactionConfig(
        action=ReactionAction.SEND_TO_AGENT,
        message="You seem to have stopped. If the task is done, open a pull request; otherwise carry on.",
        retries=2,
        escalate_after="15m",
    ),
    "agent-stuck": ReactionConfig(
        action=ReactionAction.NOTIFY,
        priority=EventPriority.URGENT,
        threshold="10m",
    ),
    "agent-needs-input": ReactionConfig(action=ReactionAction.NOTIFY, priority=EventPriority.URGENT),
    "agent-exited": ReactionConfig(action=ReactionAction.NOTIFY, priority=EventPriority.URGENT),
    "all-complete": ReactionConfig(
        action=ReactionAction.NOTIFY,
        priority=EventPriority.INFO,
        include_summary=True,
    ),
}
"""The built-in reaction table. A config's ``reactions`` entry overrides the fields it sets, key by key."""


def _merge_reaction(base: ReactionConfig | None, override: ReactionConfig | None) -> ReactionConfig | None:
    """``override``'s explicitly set fields over ``base`` (either may be missing)."""
    if base is None or override is None:
        return override or base
    return base.model_copy(update={name: getattr(override, name) for name in override.model_fields_set})


def _merged_reactions(configured: dict[str, ReactionConfig]) -> dict[str, ReactionConfig]:
    """The built-in reactions with a config's entries merged over them (built-in keys first)."""
    merged: dict[str, ReactionConfig] = {}
    for key in [*DEFAULT_REACTIONS, *(k for k in configured if k not in DEFAULT_REACTIONS)]:
        reaction = _merge_reaction(DEFAULT_REACTIONS.get(key), configured.get(key))
        if reaction is not None:
            merged[key] = reaction
    return merged


class AgentSpecificConfig(_ConfigModel):
    """A project's ``agentConfig``: common keys plus anything an agent plugin understands."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow", defer_build=True)

    permissions: PermissionMode = PermissionMode.PERMISSIONLESS
    model: str | None = None
    orchestrator_model: str | None = None

    @field_validator("permissions", mode="before")
    @classmethod
    def _normalize_skip(cls, value: Any) -> Any:
        return PermissionMode.PERMISSIONLESS if value == "skip" else value


class RoleAgentConfig(_ConfigModel):
    """Per-role (orchestrator / worker) agent choice."""

    agent: str | None = None
    agent_config: AgentSpecificConfig | None = None


class ProjectConfig(_ConfigModel):
    """One repository that ao works on, and its overrides of the global defaults."""

    name: str | None = None
    repo: str | None = None
    """``owner/repo`` on the SCM host."""
    path: str
    default_branch: str = "main"
    session_prefix: str | None = None
    enabled: bool = True
    runtime: PluginRef | None = None
    agent: PluginRef | None = None
    workspace: PluginRef | None = None
    tracker: PluginRef | None = None
    scm: PluginRef | None = None
    terminal: PluginRef | None = None
    symlinks: list[_SymlinkPath] = Field(default_factory=list)
    """Files or directories of the repository linked into each workspace (relative, without ``..``)."""
    post_create: list[str] = Field(default_factory=list)
    agent_config: AgentSpecificConfig = Field(default_factory=AgentSpecificConfig)
    orchestrator: RoleAgentConfig | None = None
    worker: RoleAgentConfig | None = None
    reactions: dict[str, ReactionOverride] = Field(default_factory=dict)
    agent_rules: str | None = None
    agent_rules_file: str | None = None
    orchestrator_rules: str | None = None
    orchestrator_session_strategy: Literal["reuse", "delete", "ignore", "delete-new", "ignore-new", "kill-previous"] = (
        "reuse"
    )
    opencode_issue_session_strategy: Literal["reuse", "delete", "ignore"] = "reuse"

    @field_validator("orchestrator_session_strategy")
    @classmethod
    def _normalize_strategy(cls, value: str) -> str:
        # upstream's legacy spellings: kill-previous and delete-new mean delete, ignore-new means ignore
        return {"kill-previous": "delete", "delete-new": "delete", "ignore-new": "ignore"}.get(value, value)

    @field_validator("path")
    @classmethod
    def _check_path(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("path must not be empty; give the repository's directory")
        return value

    @field_validator("session_prefix")
    @classmethod
    def _check_prefix(cls, value: str | None) -> str | None:
        if value is not None and not _ID_RE.match(value):
            raise ValueError(f"session prefix {value!r} may only contain letters, digits, '-' and '_'")
        return value

    @field_validator("repo")
    @classmethod
    def _check_repo(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+", value):
            raise ValueError(f"repo {value!r} is not of the form owner/name")
        return value


class PowerConfig(_ConfigModel):
    """Keeping the machine awake while agents work (macOS ``caffeinate``)."""

    prevent_idle_sleep: bool = False


class LifecycleConfig(_ConfigModel):
    """Lifecycle-manager behaviour."""

    auto_cleanup_on_merge: bool = True
    merge_cleanup_idle_grace_ms: int = Field(default=300_000, ge=0)

    @field_validator("merge_cleanup_idle_grace_ms")
    @classmethod
    def _units(cls, value: int) -> int:
        if 0 < value < 10_000:
            raise ValueError(f"{value} ms is under 10 seconds; this value is in milliseconds (300000 = 5 min)")
        return value


class DefaultsConfig(_ConfigModel):
    """Plugin choices for every project that does not override them."""

    runtime: PluginRef = Field(default_factory=lambda: PluginRef(plugin="tmux"))
    agent: PluginRef = Field(default_factory=lambda: PluginRef(plugin="claude-code"))
    workspace: PluginRef = Field(default_factory=lambda: PluginRef(plugin="worktree"))
    terminal: PluginRef | None = None
    notifiers: list[str] = Field(default_factory=list)
    orchestrator: RoleAgentConfig | None = None
    worker: RoleAgentConfig | None = None


class DashboardConfig(_ConfigModel):
    """Dashboard presentation."""

    attention_zones: Literal["simple", "detailed"] = "simple"


class OrchestratorConfig(_ConfigModel):
    """The whole ``agent-orchestrator.yaml``."""

    schema_: str | None = Field(default=None, alias="$schema")
    port: int = Field(default=3000, ge=1, le=65535)
    terminal_port: int | None = Field(default=None, ge=1, le=65535)
    direct_terminal_port: int | None = Field(default=None, ge=1, le=65535)
    ready_threshold_ms: int = Field(default=300_000, ge=0)
    poll_interval_ms: int = Field(default=30_000, ge=1000)
    max_concurrent_sessions: int | None = Field(default=None, ge=1)
    state_dir: str | None = None
    """Where ao keeps its database and session files (default ``~/.agent-orchestrator``)."""
    power: PowerConfig = Field(default_factory=PowerConfig)
    lifecycle: LifecycleConfig = Field(default_factory=LifecycleConfig)
    defaults: DefaultsConfig = Field(default_factory=DefaultsConfig)
    plugins: list[LocalPluginEntry] = Field(default_factory=list)
    dashboard: DashboardConfig = Field(default_factory=DashboardConfig)
    projects: dict[_ProjectId, ProjectConfig]
    notifiers: dict[str, PluginRef] = Field(default_factory=dict)
    notification_routing: dict[EventPriority, list[str]] = Field(default_factory=dict)
    reactions: dict[str, ReactionConfig] = Field(default_factory=dict)

    _config_path: Path | None = PrivateAttr(default=None)
    _lines: dict[str, int] = PrivateAttr(default_factory=dict)
    _secret_paths: set[str] = PrivateAttr(default_factory=set)

    @field_validator("projects")
    @classmethod
    def _check_project_ids(cls, value: dict[str, ProjectConfig]) -> dict[str, ProjectConfig]:
        if not value:
            raise ValueError("at least one project is required; add one under 'projects:' (ao init writes one)")
        return value

    @property
    def config_path(self) -> Path | None:
        """The file this config was loaded from (``None`` when built in code)."""
        return self._config_path

    def line_of(self, key_path: str) -> int | None:
        """The line in the config file where ``key_path`` (dotted, e.g. ``projects.app.runtime``) is set."""
        path = key_path
        while path:
            if path in self._lines:
                return self._lines[path]
            path = path.rpartition(".")[0]
        return None

    def reaction_for(self, project_id: str, key: str) -> ReactionConfig | None:
        """The effective reaction ``key`` for a project: built-in, then global, then the project's override."""
        base = _merge_reaction(DEFAULT_REACTIONS.get(key), self.reactions.get(key))
        override = self.projects[project_id].reactions.get(key) if project_id in self.projects else None
        if base is None and override is None:
            return None
        merged = (base or ReactionConfig()).model_dump()
        if override is not None:
            merged.update(override.model_dump(exclude_none=True))
        return ReactionConfig.model_validate(merged)

    def project_prefix(self, project_id: str) -> str:
        """The session-id prefix of a project (explicit ``sessionPrefix`` or derived from its path)."""
        project = self.projects[project_id]
        return project.session_prefix or session_prefix_for(Path(project.path).name)
