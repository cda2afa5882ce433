"""ao SCM plugin for GitHub: pull requests, CI checks, reviews, webhooks, and batched snapshots.

REST calls go through PyGithub (in worker threads); the lifecycle manager's per-poll snapshots use one
GraphQL request per 50 pull requests, re-reading only what one conditional request per repository, CI
still running, webhooks and a periodic refresh say may have changed (``snapshotMode: adaptive``), so an
unchanged poll costs no rate limit. Configure it per project::

    projects:
      my-app:
        repo: octo/my-app
        scm: {plugin: github, tokenEnv: GITHUB_TOKEN, webhook: {secretEnv: GITHUB_WEBHOOK_SECRET}}
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ao_core.interfaces import PluginManifest
from ao_core.models import PluginSlot

from ao_scm_github._config import GitHubSCMConfig, GitHubWebhookConfig

if TYPE_CHECKING:
    from ao_core.interfaces import SCM

__all__ = ["GitHubSCMConfig", "GitHubWebhookConfig", "create", "manifest"]

manifest = PluginManifest(
    name="github",
    slot=PluginSlot.SCM,
    description="GitHub pull requests, CI, reviews and webhooks (PyGithub + GraphQL snapshots)",
    version="0.1.0",
    display_name="GitHub",
)


def create(config: GitHubSCMConfig | None = None) -> SCM:
    """Build the GitHub SCM plugin.

    Args:
        config: The plugin's options; defaults talk to https://api.github.com with ``$GITHUB_TOKEN``.

    Returns:
        A :class:`~ao_scm_github._scm.GitHubSCM`, which also implements ``SupportsPRSnapshots``,
        ``SupportsPRSummary``, ``SupportsReviewThreads``, ``SupportsClaimPR`` and ``SupportsWebhooks``.
    """
    from ao_scm_github._scm import GitHubSCM

    return GitHubSCM(config or GitHubSCMConfig())
