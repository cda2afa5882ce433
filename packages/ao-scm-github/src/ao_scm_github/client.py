"""Shared GitHub access for ao plugins: the token, one PyGithub client per worker thread, errors as ao errors.

This is the public module other GitHub plugins (e.g. ``ao-tracker-github``) build on. ``GitHubClient`` takes
the plugin's error class, so each plugin raises its own ``AoError`` subclass (``SCMError``, ``TrackerError``).

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
from ao_core.errors import AoError, RateLimitedError

if TYPE_CHECKING:
    from github import Github
    from github.GithubException import GithubException

__all__ = [
    "GitHubClient",
    "RepoName",
    "error_message",
    "gh_hostname",
    "is_repo_name",
    "rate_limit_reset",
    "rate_limited",
    "web_base",
]

T = TypeVar("T")

_OWNER_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


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


def is_repo_name(owner: str, name: str) -> bool:
    """Whether ``owner`` and ``name`` are spelled as GitHub allows for an account and a repository."""
    return bool(_OWNER_RE.match(owner)) and bool(_NAME_RE.match(name)) and name not in (".", "..")


def web_base(api_base: str) -> str:
    """The web root that belongs to an API root (``https://api.github.com`` → ``https://github.com``)."""
    parts = urlsplit(api_base)
    host = parts.netloc.removeprefix("api.")
    path = parts.path.rstrip("/").removesuffix("/api/v3")
    return f"{parts.scheme}://{host}{path}"


def gh_hostname(api_base: str) -> str:
    """The host name ``gh`` knows an API root by (``https://api.github.com`` → ``github.com``)."""
    return urlsplit(web_base(api_base)).netloc


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


def error_message(data: Any, status: int) -> str:
    """GitHub's own message of an error answer's body (never the request's headers)."""
    if isinstance(data, dict):
        message = str(data.get("message") or "")
        details = [
            str(e.get("message") or e.get("code") or "") for e in data.get("errors") or [] if isinstance(e, dict)
        ]
        return "; ".join(d for d in [message, *details] if d) or f"HTTP {status}"
    return f"HTTP {status}"


class GitHubClient:
    """The token, per-thread PyGithub clients, and error translation for one API root.

    Args:
        base_url: The REST API root (``https://api.github.com`` or ``https://<host>/api/v3``).
        token_env: The environment variable holding the token.
        timeout: Seconds per HTTP request; a whole call may take four times as long.
        error: The plugin's error class (or a factory taking the message), e.g. ``SCMError``.
        token_use: What the token must allow, for the "no token" message (e.g. ``"read the repository's issues"``).
        user_agent: The ``User-Agent`` of the plugin's requests.

    Subclasses override ``rate_limit_error`` and ``not_found_error`` to change how those answers surface.
    """

    def __init__(
        self,
        base_url: str,
        token_env: str,
        timeout: float,
        *,
        error: Callable[[str], AoError],
        token_use: str,
        user_agent: str,
    ) -> None:
        self.base_url = base_url
        self.token_env = token_env
        self.timeout = timeout
        self.host = urlsplit(base_url).netloc
        self.error = error
        self.token_use = token_use
        self.user_agent = user_agent
        self._token: str | None = None
        self._token_lock = anyio.Lock()
        self._local = threading.local()

    async def token(self) -> str:
        """The token: ``$<token_env>``, else ``gh auth token`` for the host.

        Raises:
            AoError: of the plugin's class, saying how to provide one when neither gives a token.
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
                        [gh, "auth", "token", "--hostname", gh_hostname(self.base_url)], check=False
                    )
            except (OSError, TimeoutError):
                proc = None
            if proc is not None and proc.returncode == 0 and proc.stdout.strip():
                return proc.stdout.decode().strip()
        raise self.error(
            f"no GitHub token: set the environment variable {self.token_env} to a token that can {self.token_use}, "
            f"or log in with 'gh auth login --hostname {gh_hostname(self.base_url)}'"
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
                user_agent=self.user_agent,
            )
            # The client lives as long as this (pooled) worker thread; close its connections when it goes.
            weakref.finalize(client, client.requester.close)
            self._local.client = client
            self._local.token = token
        return client

    def rate_limit_error(self, what: str, reset: datetime | None) -> Exception:
        """The error for an exhausted rate limit while trying to ``what`` (default: ``RateLimitedError``)."""
        return RateLimitedError(self.host, reset, f"while trying to {what}")

    def not_found_error(self, what: str) -> Exception | None:
        """The error for a 404 while trying to ``what``; ``None`` (the default) lets PyGithub's own pass."""
        return None

    def translate(self, exc: GithubException, what: str) -> Exception | None:
        """The ao error for a GitHub error answer; ``None`` when ``exc`` itself should propagate."""
        message = error_message(exc.data, exc.status)
        if rate_limited(exc.status, exc.headers or {}, message):
            return self.rate_limit_error(what, rate_limit_reset(exc.headers or {}))
        if exc.status == 404:
            return self.not_found_error(what)
        if exc.status == 401:
            return self.error(
                f"GitHub rejected the token from {self.token_env} while trying to {what}; "
                "check that it is valid and not expired"
            )
        return self.error(f"GitHub could not {what}: {message}")

    async def call(self, what: str, fn: Callable[[Github], T]) -> T:
        """Run ``fn(client)`` in a worker thread, translating GitHub's errors (see ``translate``).

        Raises:
            AoError: of the plugin's class for error answers, network errors and timeouts; what
                ``rate_limit_error`` and ``not_found_error`` return for those answers.
            github.GithubException: when ``translate`` returns ``None`` for it (by default a 404).
        """
        token = await self.token()
        from github.GithubException import GithubException

        def run() -> T:
            return fn(self.client(token))

        try:
            with anyio.fail_after(self.timeout * 4):
                return await anyio.to_thread.run_sync(run, abandon_on_cancel=True)
        except GithubException as exc:
            error = self.translate(exc, what)
            if error is None:
                raise
            raise error from exc
        except TimeoutError as exc:
            raise self.error(f"GitHub did not answer within {self.timeout * 4:.0f} s while trying to {what}") from exc
        except OSError as exc:  # requests' errors derive from OSError
            raise self.error(f"cannot reach GitHub at {self.base_url} to {what}: {type(exc).__name__}") from exc
