"""ao tracker plugin for GitHub Issues.

Reads and writes the issues of a project's ``repo`` through GitHub's REST API (PyGithub, in worker
threads). Configure it per project::

    projects:
      my-app:
        repo: octo/my-app
        tracker: {plugin: github, tokenEnv: GITHUB_TOKEN}
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ao_core.interfaces import PluginManifest
from ao_core.models import PluginSlot

from ao_tracker_github._config import GitHubTrackerConfig

if TYPE_CHECKING:
    from ao_core.interfaces import Tracker

__all__ = ["GitHubTrackerConfig", "create", "manifest"]

manifest = PluginManifest(
    name="github",
    slot=PluginSlot.TRACKER,
    description="GitHub Issues (REST API through PyGithub)",
    version="0.1.0",
    display_name="GitHub Issues",
)


def create(config: GitHubTrackerConfig | None = None) -> Tracker:
    """Build the GitHub tracker.

    Args:
        config: The plugin's options; defaults talk to https://api.github.com with ``$GITHUB_TOKEN``.

    Returns:
        A :class:`~ao_tracker_github._tracker.GitHubTracker` (also a ``SupportsIssueLabel``,
        ``SupportsListIssues``, ``SupportsUpdateIssue`` and ``SupportsCreateIssue``).
    """
    from ao_tracker_github._tracker import GitHubTracker

    return GitHubTracker(config or GitHubTrackerConfig())
