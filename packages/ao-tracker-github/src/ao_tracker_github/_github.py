"""Talking to GitHub: the token, one PyGithub client per worker thread, and errors turned into ao errors.

PyGithub is blocking and its ``Github`` object is not safe to share between threads (its connection
object keeps the pending request in attributes), so every worker thread gets its own client.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import weakref
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import anyio
from ao_core.config import ProjectConfig
from ao_core.errors import TrackerError

if TYPE_CHECKING:
    from github import Github
    from github.GithubException import GithubException

__all__ = ["GitHubAccess", "RepoName", "parse_repo", "web_base"]

T = TypeVar("T")

_OWNER_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def _repo_key(project: ProjectConfig) -> str:
    return f"projects.{project.name or '<project>'}.repo"


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


def parse_repo(project: ProjectConfig) -> RepoName:
    """The project's ``repo`` as ``owner/name``.

    Raises:
        TrackerError: naming the config key when ``repo`` is missing or not a GitHub ``owner/name``.
    """
    value = project.repo
    key = _repo_key(project)
    if not value:
        raise TrackerError(f"{key} is not set; the GitHub tracker needs the repository as owner/name")
    owner, _, name = value.partition("/")
    if not _OWNER_RE.match(owner) or not _NAME_RE.match(name) or name in (".", ".."):
        raise TrackerError(f"{key}: {value!r} is not a GitHub repository; write it as owner/name (e.g. octo/app)")
    return RepoName(f"{owner}/{name}")


def web_base(api_base: str) -> str:
    """The web root that belongs to an API root (``https://api.github.com`` → ``https://github.com``)."""
    parts = urlsplit(api_base)
    host = parts.netloc.removeprefix("api.")
    path = parts.path.rstrip("/").removesuffix("/api/v3")
    return f"{parts.scheme}://{host}{path}"


def _gh_hostname(api_base: str) -> str:
    return urlsplit(web_base(api_base)).netloc


def rate_limit_reset(headers: dict[str, Any]) -> datetime | None:
    """When a refused request may be retried: ``Retry-After`` seconds, else ``X-RateLimit-Reset``."""
    lower = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
    retry_after = lower.get("retry-after")
    if retry_after and retry_after.isdigit():
        return datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=int(retry_after))
    reset = lower.get("x-ratelimit-reset")
    if reset and reset.isdigit():
        return datetime.fromtimestamp(int(reset), UTC)
    return None


def is_rate_limited(exc: GithubException) -> bool:
    """Whether GitHub refused because a rate limit is exhausted (403 with none remaining, or 429)."""
    headers = {str(k).lower(): str(v) for k, v in (exc.headers or {}).items()}
    message = exc.data.get("message", "") if isinstance(exc.data, dict) else ""
    if exc.status == 429:
        return True
    return exc.status == 403 and (headers.get("x-ratelimit-remaining") == "0" or "rate limit" in str(message).lower())


def error_message(exc: GithubException) -> str:
    """GitHub's own message of an error answer (never the request's headers)."""
    if isinstance(exc.data, dict):
        message = str(exc.data.get("message") or "")
        details = [
            str(e.get("message") or e.get("code") or "") for e in exc.data.get("errors") or [] if isinstance(e, dict)
        ]
        return "; ".join(d for d in [message, *details] if d) or f"HTTP {exc.status}"
    return f"HTTP {exc.status}"


class GitHubAccess:
    """The token and per-thread PyGithub clients for one API root."""

    def __init__(self, base_url: str, token_env: str, timeout: float) -> None:
        self.base_url = base_url
        self.token_env = token_env
        self.timeout = timeout
        self.host = urlsplit(base_url).netloc
        self._token: str | None = None
        self._token_lock = anyio.Lock()
        self._local = threading.local()

    async def token(self) -> str:
        """The token: ``$<token_env>``, else ``gh auth token`` for the host.

        Raises:
            TrackerError: saying how to provide one when neither gives a token.
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
        raise TrackerError(
            f"no GitHub token: set the environment variable {self.token_env} to a token that can read the "
            f"repository's issues, or log in with 'gh auth login --hostname {_gh_hostname(self.base_url)}'"
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
                user_agent="ao-tracker-github",
            )
            # The client lives as long as this (pooled) worker thread; close its connections when it goes.
            weakref.finalize(client, client.requester.close)
            self._local.client = client
            self._local.token = token
        return client

    async def call(self, what: str, fn: Callable[[Github], T]) -> T:
        """Run ``fn(client)`` in a worker thread; GitHub's errors become ``TrackerError`` (404s pass through).

        Raises:
            TrackerError: for rate limits (with the reset time), network errors and error answers.
            github.UnknownObjectException: for 404, so callers can say what was not found.
        """
        token = await self.token()
        from github.GithubException import GithubException, UnknownObjectException

        def run() -> T:
            return fn(self.client(token))

        try:
            with anyio.fail_after(self.timeout * 4):
                return await anyio.to_thread.run_sync(run, abandon_on_cancel=True)
        except UnknownObjectException:
            raise
        except GithubException as exc:
            if is_rate_limited(exc):
                reset = rate_limit_reset(exc.headers or {})
                when = f"; it resets at {reset.isoformat()}" if reset else ""
                raise TrackerError(f"GitHub rate limit exhausted while trying to {what}{when}") from exc
            if exc.status == 401:
                raise TrackerError(
                    f"GitHub rejected the token from {self.token_env} while trying to {what}; "
                    "check that it is valid and not expired"
                ) from exc
            raise TrackerError(f"GitHub could not {what}: {error_message(exc)}") from exc
        except TimeoutError as exc:
            raise TrackerError(f"GitHub did not answer within {self.timeout * 4:.0f} s while trying to {what}") from exc
        except OSError as exc:  # requests' errors derive from OSError
            raise TrackerError(f"cannot reach GitHub at {self.base_url} to {what}: {type(exc).__name__}") from exc
