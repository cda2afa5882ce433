"""Talking to GitHub: the shared client of ``ao_scm_github.client`` raising ``SCMError``, plus GraphQL.

``RateLimitedError`` (with the reset time) stands for a 403 with nothing remaining and for a 429.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ao_core.config import ProjectConfig
from ao_core.errors import RateLimitedError, SCMError

from ao_scm_github.client import GitHubClient, RepoName, is_repo_name, rate_limit_reset, rate_limited, web_base

if TYPE_CHECKING:
    from github import Github

__all__ = [
    "GitHubAccess",
    "NotFound",
    "RepoName",
    "graphql_url",
    "parse_repo",
    "rate_limit_reset",
    "rate_limited",
    "web_base",
]


class NotFound(SCMError):
    """Raised inside the plugin when GitHub answers 404 (the caller says what was not found)."""


def check_repo(owner: str, name: str, key: str) -> RepoName:
    """Validate ``owner``/``name`` as GitHub spells them.

    Raises:
        SCMError: naming ``key`` when either part is not a GitHub name.
    """
    if not is_repo_name(owner, name):
        raise SCMError(f"{key}: {owner}/{name} is not a GitHub repository; write it as owner/name (e.g. octo/app)")
    return RepoName(f"{owner}/{name}")


def parse_repo(project: ProjectConfig) -> RepoName:
    """The project's ``repo`` as ``owner/name``.

    Raises:
        SCMError: naming the config key when ``repo`` is missing or not a GitHub ``owner/name``.
    """
    key = f"projects.{project.name or '<project>'}.repo"
    if not project.repo:
        raise SCMError(f"{key} is not set; the GitHub SCM plugin needs the repository as owner/name")
    owner, _, name = project.repo.partition("/")
    return check_repo(owner, name, key)


def graphql_url(api_base: str) -> str:
    """The GraphQL endpoint of an API root (``/api/v3`` → ``/api/graphql`` on GitHub Enterprise)."""
    parts = urlsplit(api_base)
    path = parts.path.rstrip("/").removesuffix("/v3")
    return f"{parts.scheme}://{parts.netloc}{path}/graphql"


class GitHubAccess(GitHubClient):
    """The shared ``GitHubClient`` raising ``SCMError`` (``NotFound`` for 404s), plus GraphQL."""

    def __init__(self, base_url: str, token_env: str, timeout: float) -> None:
        super().__init__(
            base_url,
            token_env,
            timeout,
            error=SCMError,
            token_use="read and write pull requests",
            user_agent="ao-scm-github",
        )
        self.graphql_url = graphql_url(base_url)

    def not_found_error(self, what: str) -> Exception:
        """``NotFound`` (the caller says what was not found)."""
        return NotFound(f"GitHub could not {what}: not found")

    async def graphql(self, what: str, query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        """Run one GraphQL query; return its ``data``.

        Raises:
            RateLimitedError: when GitHub says the GraphQL budget is exhausted (in any of its forms).
            NotFound: when an object the query names does not exist (or cannot be seen).
            SCMError: for other errors.
        """

        def run(gh: Github) -> tuple[dict[str, Any], Any]:
            headers, data = gh.requester.requestJsonAndCheck(
                "POST", self.graphql_url, input={"query": query, "variables": dict(variables)}
            )
            return headers, data

        headers, data = await self.call(what, run)
        return self.graphql_data(what, headers, data)

    def graphql_data(self, what: str, headers: Mapping[str, Any], data: Any) -> dict[str, Any]:
        """``data`` of a GraphQL answer, or the ao error its ``errors`` mean."""
        if not isinstance(data, dict):
            raise SCMError(f"GitHub answered {what} with something that is not GraphQL")
        errors = [e for e in data.get("errors") or [] if isinstance(e, dict)]
        for error in errors:
            message = str(error.get("message") or "")
            if error.get("type") == "RATE_LIMITED" or "rate limit" in message.lower():
                raise RateLimitedError(self.host, rate_limit_reset(headers), f"GraphQL, while trying to {what}")
        if errors and not data.get("data"):
            raise SCMError(f"GitHub could not {what}: {'; '.join(str(e.get('message')) for e in errors)}")
        if errors and all(e.get("type") == "NOT_FOUND" for e in errors):
            raise NotFound(f"GitHub could not {what}: {errors[0].get('message')}")
        if errors:
            raise SCMError(f"GitHub could not {what}: {'; '.join(str(e.get('message')) for e in errors)}")
        result: dict[str, Any] = data.get("data") or {}
        return result
