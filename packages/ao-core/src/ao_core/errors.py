"""The one error tree of ao.

Every error a user can cause or meet derives from :class:`AoError`. Each class keeps its context as
attributes and builds a message that says what was wrong and what to do; the CLI prints that message
(no traceback unless ``-v``) and exits with :attr:`AoError.exit_code`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

__all__ = [
    "AoError",
    "ConfigError",
    "IssueNotFoundError",
    "NotifyError",
    "PluginConflictError",
    "PluginError",
    "PluginLoadError",
    "PluginNotFoundError",
    "RateLimitedError",
    "RuntimeFailedError",
    "SCMError",
    "SessionError",
    "SessionNotFoundError",
    "SessionNotRestorableError",
    "StoreError",
    "TrackerError",
    "WorkspaceError",
]


class AoError(Exception):
    """Raised when ao cannot do what was asked; the base of every ao error."""

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(AoError):
    """Raised when a config file cannot be found, parsed or validated.

    The message reads ``file:line: key.path: problem`` so that an editor can jump to it.
    """

    exit_code = 2

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        line: int | None = None,
        key_path: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = file
        self.line = line
        self.key_path = key_path
        where = ""
        if file is not None:
            where = f"{file}:{line}: " if line is not None else f"{file}: "
        key = f"{key_path}: " if key_path else ""
        super().__init__(f"{where}{key}{problem}")


class PluginError(AoError):
    """Raised when a plugin cannot be found, loaded or configured."""


class PluginNotFoundError(PluginError):
    """Raised when no source provides the plugin a config asks for."""

    def __init__(
        self,
        slot: str,
        name: str,
        *,
        available: Sequence[str] = (),
        distribution: str | None = None,
    ) -> None:
        self.slot = slot
        self.name = name
        self.available = list(available)
        self.distribution = distribution
        if distribution is not None:
            message = (
                f"{slot} plugin '{name}' is a first-party plugin that is not installed; "
                f"install it with: pip install {distribution}"
            )
        else:
            listed = ", ".join(sorted(self.available)) or "none"
            message = f"unknown {slot} '{name}'; available: {listed}"
        super().__init__(message)


class PluginLoadError(PluginError):
    """Raised when a plugin module exists but cannot be imported or does not expose a valid plugin."""

    def __init__(self, slot: str, name: str, origin: str, reason: str) -> None:
        self.slot = slot
        self.name = name
        self.origin = origin
        self.reason = reason
        super().__init__(f"cannot load {slot} plugin '{name}' from {origin}: {reason}")


class PluginConflictError(PluginError):
    """Raised when two sources provide a plugin with the same slot and name."""

    def __init__(self, slot: str, name: str, first: str, second: str) -> None:
        self.slot = slot
        self.name = name
        self.first = first
        self.second = second
        super().__init__(
            f"{slot} plugin '{name}' is provided twice: by {first} and by {second}; remove or rename one of them"
        )


class SessionError(AoError):
    """Raised when a session operation fails."""


class SessionNotFoundError(SessionError):
    """Raised when no session has the given id."""

    def __init__(self, session_id: str, *, known: Sequence[str] = ()) -> None:
        self.session_id = session_id
        hint = f"; known sessions: {', '.join(known[:10])}" if known else "; run 'ao session ls' to list them"
        super().__init__(f"no session '{session_id}'{hint}")


class SessionNotRestorableError(SessionError):
    """Raised when a session cannot be restored (it is still running, or what it needs is gone)."""

    def __init__(self, session_id: str, reason: str) -> None:
        self.session_id = session_id
        self.reason = reason
        super().__init__(f"session '{session_id}' cannot be restored: {reason}")


class WorkspaceError(SessionError):
    """Raised when a workspace cannot be created, restored or destroyed."""


class RuntimeFailedError(SessionError):
    """Raised when a runtime cannot create, reach or destroy a session."""


class StoreError(AoError):
    """Raised when the state database cannot be opened or written."""


class TrackerError(AoError):
    """Raised when an issue tracker call fails."""


class IssueNotFoundError(TrackerError):
    """Raised when a tracker has no issue with the given identifier."""

    def __init__(self, identifier: str, where: str) -> None:
        self.identifier = identifier
        self.where = where
        super().__init__(f"issue '{identifier}' does not exist in {where}")


class SCMError(AoError):
    """Raised when a source-control host call fails."""


class RateLimitedError(SCMError, TrackerError):
    """Raised when a host (GitHub, Linear) refuses a call because a rate limit is exhausted.

    Both an ``SCMError`` and a ``TrackerError``: a tracker and an SCM on the same host share its budget,
    and callers of either catch it as their slot's error. ``reset_at`` says when to try again.
    """

    def __init__(self, host: str, reset_at: datetime | None, detail: str = "") -> None:
        self.host = host
        self.reset_at = reset_at
        when = f"; it resets at {reset_at.isoformat()}" if reset_at else ""
        extra = f" ({detail})" if detail else ""
        super().__init__(f"{host} rate limit exhausted{extra}{when}")


class NotifyError(AoError):
    """Raised when a notifier cannot deliver; ``code`` carries the service's own error code."""

    def __init__(self, notifier: str, reason: str, *, code: str | None = None) -> None:
        self.notifier = notifier
        self.reason = reason
        self.code = code
        suffix = f" [{code}]" if code else ""
        super().__init__(f"notifier '{notifier}' failed: {reason}{suffix}")
