"""ao: run many AI coding agents in parallel, each in its own workspace, and close their PR loops.

The public surface of the kernel. Names are imported lazily so that ``ao --help`` stays fast: the CLI
imports only what a command needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ao_core.config import OrchestratorConfig, PluginRef, ProjectConfig, ReactionConfig
    from ao_core.errors import (
        AoError,
        ConfigError,
        IssueNotFoundError,
        NotifyError,
        PluginConflictError,
        PluginError,
        PluginLoadError,
        PluginNotFoundError,
        RateLimitedError,
        RuntimeFailedError,
        SCMError,
        SessionError,
        SessionNotFoundError,
        SessionNotRestorableError,
        StoreError,
        TrackerError,
        WorkspaceError,
    )
    from ao_core.interfaces import (
        API_VERSION,
        SCM,
        Agent,
        Notifier,
        PluginManifest,
        PluginModule,
        Runtime,
        Terminal,
        Tracker,
        Workspace,
    )
    from ao_core.models import (
        ActivityDetection,
        ActivityState,
        AgentLaunchConfig,
        CICheck,
        CIStatus,
        EventPriority,
        EventType,
        Issue,
        OrchestratorEvent,
        PluginSlot,
        PRInfo,
        PRSnapshot,
        PRState,
        ReviewDecision,
        RuntimeCreateConfig,
        RuntimeHandle,
        Session,
        SessionStatus,
        WorkspaceCreateConfig,
        WorkspaceInfo,
    )

_EXPORTS: dict[str, str] = {
    "API_VERSION": "ao_core.interfaces",
    "SCM": "ao_core.interfaces",
    "ActivityDetection": "ao_core.models",
    "ActivityState": "ao_core.models",
    "Agent": "ao_core.interfaces",
    "AgentLaunchConfig": "ao_core.models",
    "AoError": "ao_core.errors",
    "CICheck": "ao_core.models",
    "CIStatus": "ao_core.models",
    "ConfigError": "ao_core.errors",
    "EventPriority": "ao_core.models",
    "EventType": "ao_core.models",
    "Issue": "ao_core.models",
    "IssueNotFoundError": "ao_core.errors",
    "Notifier": "ao_core.interfaces",
    "NotifyError": "ao_core.errors",
    "OrchestratorConfig": "ao_core.config",
    "OrchestratorEvent": "ao_core.models",
    "PRInfo": "ao_core.models",
    "PRSnapshot": "ao_core.models",
    "PRState": "ao_core.models",
    "PluginConflictError": "ao_core.errors",
    "PluginError": "ao_core.errors",
    "PluginLoadError": "ao_core.errors",
    "PluginManifest": "ao_core.interfaces",
    "PluginModule": "ao_core.interfaces",
    "PluginNotFoundError": "ao_core.errors",
    "PluginRef": "ao_core.config",
    "PluginSlot": "ao_core.models",
    "ProjectConfig": "ao_core.config",
    "RateLimitedError": "ao_core.errors",
    "ReactionConfig": "ao_core.config",
    "ReviewDecision": "ao_core.models",
    "Runtime": "ao_core.interfaces",
    "RuntimeCreateConfig": "ao_core.models",
    "RuntimeFailedError": "ao_core.errors",
    "RuntimeHandle": "ao_core.models",
    "SCMError": "ao_core.errors",
    "Session": "ao_core.models",
    "SessionError": "ao_core.errors",
    "SessionNotFoundError": "ao_core.errors",
    "SessionNotRestorableError": "ao_core.errors",
    "SessionStatus": "ao_core.models",
    "StoreError": "ao_core.errors",
    "Terminal": "ao_core.interfaces",
    "Tracker": "ao_core.interfaces",
    "TrackerError": "ao_core.errors",
    "Workspace": "ao_core.interfaces",
    "WorkspaceCreateConfig": "ao_core.models",
    "WorkspaceError": "ao_core.errors",
    "WorkspaceInfo": "ao_core.models",
}

__all__ = [
    "API_VERSION",
    "SCM",
    "ActivityDetection",
    "ActivityState",
    "Agent",
    "AgentLaunchConfig",
    "AoError",
    "CICheck",
    "CIStatus",
    "ConfigError",
    "EventPriority",
    "EventType",
    "Issue",
    "IssueNotFoundError",
    "Notifier",
    "NotifyError",
    "OrchestratorConfig",
    "OrchestratorEvent",
    "PRInfo",
    "PRSnapshot",
    "PRState",
    "PluginConflictError",
    "PluginError",
    "PluginLoadError",
    "PluginManifest",
    "PluginModule",
    "PluginNotFoundError",
    "PluginRef",
    "PluginSlot",
    "ProjectConfig",
    "RateLimitedError",
    "ReactionConfig",
    "ReviewDecision",
    "Runtime",
    "RuntimeCreateConfig",
    "RuntimeFailedError",
    "RuntimeHandle",
    "SCMError",
    "Session",
    "SessionError",
    "SessionNotFoundError",
    "SessionNotRestorableError",
    "SessionStatus",
    "StoreError",
    "Terminal",
    "Tracker",
    "TrackerError",
    "Workspace",
    "WorkspaceCreateConfig",
    "WorkspaceError",
    "WorkspaceInfo",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ao_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
