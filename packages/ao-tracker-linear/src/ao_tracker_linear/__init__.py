"""ao tracker plugin ``linear``: Linear issues through Linear's GraphQL API.

Issues are named by their identifier (``INT-100``). The plugin reads issues (with Linear's own branch name,
which the kernel uses for the session's branch, and the priority, which goes into the agent's prompt),
lists them, moves them between workflow states, labels, assigns and comments on them, and creates them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ao_core.interfaces import PluginManifest, Tracker
from ao_core.models import PluginSlot

from ao_tracker_linear._config import LinearTrackerConfig

if TYPE_CHECKING:
    from ao_tracker_linear._tracker import LinearTracker

__all__ = ["LinearTracker", "LinearTrackerConfig", "create", "manifest"]

manifest = PluginManifest(
    name="linear",
    slot=PluginSlot.TRACKER,
    description="Linear issues through Linear's GraphQL API",
    version="0.1.0",
    display_name="Linear",
)


def create(config: LinearTrackerConfig | None = None) -> Tracker:
    """Build the ``linear`` tracker.

    Args:
        config: The plugin's options; defaults (API key from ``$LINEAR_API_KEY``, no team) when ``None``.

    Returns:
        A :class:`LinearTracker`, which also implements ``SupportsIssueLabel``, ``SupportsListIssues``,
        ``SupportsUpdateIssue`` and ``SupportsCreateIssue``.
    """
    from ao_tracker_linear._tracker import LinearTracker

    return LinearTracker(config)


def __getattr__(name: str) -> Any:
    # httpx and the implementation load on first use, so that reading the manifest (``ao plugins``) stays cheap.
    if name == "LinearTracker":
        from ao_tracker_linear._tracker import LinearTracker

        return LinearTracker
    raise AttributeError(f"module 'ao_tracker_linear' has no attribute {name!r}")
