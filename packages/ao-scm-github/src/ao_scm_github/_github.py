"""Talking to GitHub: the token, one PyGithub client per worker thread, GraphQL, errors as ao errors.

``RateLimitedError`` (with the reset time) stands for a 403 with nothing remaining and for a 429.

PyGithub is blocking and its ``Github`` object is not safe to share between threads (its connection
object keeps the pending request in attributes), so every worker thread gets its own client.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import weakref
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import anyio
from ao_core.config import ProjectConfig
from ao_core.errors import RateLimitedError, SCMError

if TYPE_CHECKING:
    from github import Github
    from github.GithubException import GithubException

__all__ = [
    "GitHubAccess",
    "NotFound",
    "RepoName",
    "graphql_url",
    "parse_repo",
    "rate_limit_reset",
    "web_base",
]

T = TypeVar("T")

_OWNER_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


class NotFound(SCMError):
    """Raised inside the plugin when GitHub answers 404 (the caller says what was not found)."""


class RepoName(str):
    """A validated ``owner/name``."""

    __slots__ = ()

    @property
    def owner(self) -> str:
        """The owner part."""
        return self.split("/", 1)[0]

    @property
    def name(self) -> str:
        """The repository part."""
        return self.split("/", 1)[1]


def check_repo(owner: str, name: str, key: str) -> RepoName:
    """Validate ``owner``/``name`` as GitHub spells them.

    Raises:
        SCMError: naming ``key`` when either part is not a GitHub name.
    """
    if not _OWNER_RE.match(owner) or not _NAME_RE.match(name) or name in (".", ".."):
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


def web_base(api_base: str) -> str:
    """The web root that belongs to an API root (``https://api.github.com`` → ``https://github.com``)."""
    parts = urlsplit(api_base)
    host = parts.netloc.removeprefix("api.")
    path = parts.path.rstrip("/").removesuffix("/api/v3")
    return f"{parts.scheme}://{host}{path}"


def graphql_url(api_base: str) -> str:
    """The GraphQL endpoint of an API root (``/api/v3`` → ``/api/graphql`` on GitHub Enterprise)."""
    parts = urlsplit(api_base)
    path = parts.path.rstrip("/").removesuffix("/v3")
    return f"{parts.scheme}://{parts.netloc}{path}/graphql"


def rate_limit_reset(headers: Mapping[str, Any]) -> datetime | None:
    """When a refused request may be retried: ``Retry-After`` seconds, else ``X-RateLimit-Reset``."""
    lower = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
    retry_after = lower.get("retry-after", "").strip()
    if retry_after.isdigit():
        return datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=int(retry_after))
    reset = lower.get("x-ratelimit-reset", "").strip()
    if reset.isdigit():
        return datetime.fromtimestamp(int(reset), UTC)
    return None


def rate_limited(status: int, headers: Mapping[str, Any], message: str) -> bool:
    """Whether an answer means "rate limit exhausted": 429, or 403 with nothing remaining or saying so."""
    lower = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
    if status == 429:
        return True
    return status == 403 and (lower.get("x-ratelimit-remaining") == "0" or "rate limit" in message.lower())


def _message(data: Any, status: int) -> str:
    if isinstance(data, dict):
        message = str(data.get("message") or "")
        details = [
            str(e.get("message") or e.get("code") or "") for e in data.get("errors") or [] if isinstance(e, dict)
        ]
        return "; ".join(d for d in [message, *details] if d) or f"HTTP {status}"
    return f"HTTP {status}"


def _gh_hostname(api_base: str) -> str:
    return urlsplit(web_base(api_base)).netloc


class GitHubAccess:
    """The token, per-thread PyGithub clients, and error translation for one API root."""

    def __init__(self, base_url: str, token_env: str, timeout: float) -> None:
        self.base_url = base_url
        self.graphql_url = graphql_url(base_url)
        self.token_env = token_env
        self.timeout = timeout
        self.host = urlsplit(base_url).netloc
        self._token: str | None = None
        self._token_lock = anyio.Lock()
        self._local = threading.local()

    async def token(self) -> str:
        """The token: ``$<token_env>``, else ``gh auth token`` for the host.

        Raises:
            SCMError: saying how to provide one when neither gives a token.
        """
        async with self._token_lock:
            if self._token is None:
                self._token = await self._find_token()
            return self._token

    async def _find_token(self) -> str:
        value = os.environ.get(self.token_env, "").strip()
        if value:
            return value
        gh = shutil.which("gh")
        if gh is not None:
            try:
                with anyio.fail_after(15):
                    proc = await anyio.run_process(
                        [gh, "auth", "token", "--hostname", _gh_hostname(self.base_url)], check=False
                    )
            except (OSError, TimeoutError):
                proc = None
            if proc is not None and proc.returncode == 0 and proc.stdout.strip():
                return proc.stdout.decode().strip()
        raise SCMError(
            f"no GitHub token: set the environment variable {self.token_env} to a token that can read and write "
            f"pull requests, or log in with 'gh auth login --hostname {_gh_hostname(self.base_url)}'"
        )

    def client(self, token: str) -> Github:
        """This thread's PyGithub client (made on first use; never shared between threads)."""
        client: Github | None = getattr(self._local, "client", None)
        if client is None or getattr(self._local, "token", None) != token:
            from github import Auth, Github

            client = Github(
                auth=Auth.Token(token),
                base_url=self.base_url,
                timeout=max(1, round(self.timeout)),
                retry=None,  # never sleep on rate limits inside PyGithub: ao decides when to retry
                lazy=True,
                per_page=100,
                # PyGithub sleeps 0.25 s between requests and 1 s between writes by default; with one
                # client per thread that pacing is not global anyway, and ao makes few writes.
                seconds_between_requests=None,
                seconds_between_writes=None,
                user_agent="ao-scm-github",
            )
            # The client lives as long as this (pooled) worker thread; close its connections when it goes.
            weakref.finalize(client, client.requester.close)
            self._local.client = client
            self._local.token = token
        return client

    def translate(self, exc: GithubException, what: str) -> SCMError:
        """The ao error for a GitHub error answer."""
        message = _message(exc.data, exc.status)
        if rate_limited(exc.status, exc.headers or {}, message):
            return RateLimitedError(self.host, rate_limit_reset(exc.headers or {}), f"while trying to {what}")
        if exc.status == 404:
            return NotFound(f"GitHub could not {what}: not found")
        if exc.status == 401:
            return SCMError(
                f"GitHub rejected the token from {self.token_env} while trying to {what}; "
                "check that it is valid and not expired"
            )
        return SCMError(f"GitHub could not {what}: {message}")

    async def call(self, what: str, fn: Callable[[Github], T]) -> T:
        """Run ``fn(client)`` in a worker thread, translating GitHub's errors.

        Raises:
            RateLimitedError: for 403 with no remaining budget and for 429, with the reset time.
            NotFound: for 404.
            SCMError: for other error answers, network errors and timeouts.
        """
        token = await self.token()
        from github.GithubException import GithubException

        def run() -> T:
            return fn(self.client(token))

        try:
            with anyio.fail_after(self.timeout * 4):
                return await anyio.to_thread.run_sync(run, abandon_on_cancel=True)
        except GithubException as exc:
            raise self.translate(exc, what) from exc
        except TimeoutError as exc:
            raise SCMError(f"GitHub did not answer within {self.timeout * 4:.0f} s while trying to {what}") from exc
        except OSError as exc:  # requests' errors derive from OSError
            raise SCMError(f"cannot reach GitHub at {self.base_url} to {what}: {type(exc).__name__}") from exc

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
