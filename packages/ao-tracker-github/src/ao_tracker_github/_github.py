"""Talking to GitHub: the shared client of ``ao_scm_github.client`` raising ``TrackerError``.

An exhausted rate limit raises ``RateLimitedError`` (a ``TrackerError`` too) with the reset time.

404s pass through as PyGithub's ``UnknownObjectException`` so callers can say what was not found.
"""

from __future__ import annotations

from ao_core.config import ProjectConfig
from ao_core.errors import TrackerError
from ao_scm_github.client import GitHubClient, RepoName, is_repo_name, web_base

__all__ = ["GitHubAccess", "RepoName", "parse_repo", "web_base"]


def parse_repo(project: ProjectConfig) -> RepoName:
    """The project's ``repo`` as ``owner/name``.

    Raises:
        TrackerError: naming the config key when ``repo`` is missing or not a GitHub ``owner/name``.
    """
    value = project.repo
    key = f"projects.{project.name or '<project>'}.repo"
    if not value:
        raise TrackerError(f"{key} is not set; the GitHub tracker needs the repository as owner/name")
    owner, _, name = value.partition("/")
    if not is_repo_name(owner, name):
        raise TrackerError(f"{key}: {value!r} is not a GitHub repository; write it as owner/name (e.g. octo/app)")
    return RepoName(f"{owner}/{name}")


class GitHubAccess(GitHubClient):
    """The shared ``GitHubClient`` raising ``TrackerError`` (404s pass through as ``UnknownObjectException``)."""

    def __init__(self, base_url: str, token_env: str, timeout: float) -> None:
        super().__init__(
            base_url,
            token_env,
            timeout,
            error=TrackerError,
            token_use="read the repository's issues",
            user_agent="ao-tracker-github",
        )
