"""Running git: argv lists (never a shell), a timeout on every call, no prompts, errors as WorkspaceError."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import shlex
import subprocess
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from ao_core.errors import WorkspaceError

__all__ = [
    "QUICK_TIMEOUT_S",
    "Fetcher",
    "GitResult",
    "branch_exists",
    "clean_env",
    "git_failure",
    "project_repo",
    "query_git",
    "redact",
    "ref_exists",
    "remote_url",
    "resolve_base_ref",
    "run_git",
    "validate_branch",
    "validate_id",
]

log = logging.getLogger(__name__)

QUICK_TIMEOUT_S = 30.0
"""Timeout of git calls that only read local state (rev-parse, config, worktree list)."""

_ID_RE = re.compile(r"[a-zA-Z0-9_-]+")
# git refuses these itself; ao also refuses what a shell would interpret, so a branch name is inert
# wherever it ends up (prompts, hooks, scripts written by agents).
_BRANCH_FORBIDDEN = set(" \t~^:?*[\\") | set("$`;|&<>()'\"!{}#")
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")
# Variables that point git at another repository; inherited from a git hook they would redirect
# every command away from the repository named by cwd.
_REPO_LOCATION_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
)


@dataclass(frozen=True)
class GitResult:
    """What a git command printed and how it exited."""

    returncode: int
    stdout: str
    stderr: str


def redact(text: str) -> str:
    """Hide credentials embedded in URLs (``https://user:token@host/...`` → ``https://***@host/...``)."""
    return _URL_CREDENTIALS.sub(r"\g<scheme>***@", text)


def clean_env() -> dict[str, str]:
    """The environment for git and setup commands: no prompts, no inherited repository location."""
    env = {k: v for k, v in os.environ.items() if k not in _REPO_LOCATION_VARS}
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GCM_INTERACTIVE"] = "never"
    return env


def _describe(args: Sequence[str]) -> str:
    return redact(shlex.join(["git", *args]))


def _tail(text: str, lines: int = 10) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return redact("\n".join(kept))


async def run_git(
    args: Sequence[str],
    *,
    cwd: Path | str,
    timeout_s: float,
    check: bool = True,
    hint: str = "",
) -> GitResult:
    """Run ``git <args>`` in ``cwd`` and return its output.

    The process runs in a new session (no controlling terminal, so neither git nor ssh can prompt) with
    ``GIT_TERMINAL_PROMPT=0``; it is killed when ``timeout_s`` passes.

    Raises:
        WorkspaceError: git is missing, did not finish in time, or (with ``check``) exited non-zero. The
            message names the command, its stderr and ``hint`` (what to do).
    """
    what = _describe(args)
    suffix = f"; {hint}" if hint else ""
    try:
        with anyio.fail_after(timeout_s):
            done = await anyio.run_process(
                ["git", *args],
                cwd=cwd,
                env=clean_env(),
                check=False,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
    except TimeoutError as exc:
        raise WorkspaceError(f"'{what}' in {cwd} did not finish within {timeout_s:g} s{suffix}") from exc
    except FileNotFoundError as exc:
        if not Path(cwd).is_dir():
            raise WorkspaceError(f"cannot run '{what}': directory {cwd} does not exist{suffix}") from exc
        raise WorkspaceError("git is not installed or not on PATH; install git 2.25 or newer") from exc
    result = GitResult(
        done.returncode,
        done.stdout.decode("utf-8", "replace"),
        done.stderr.decode("utf-8", "replace"),
    )
    if check and result.returncode != 0:
        raise git_failure(args, cwd, result, hint)
    return result


def git_failure(args: Sequence[str], cwd: Path | str, result: GitResult, hint: str = "") -> WorkspaceError:
    """The error for a git command that exited non-zero: the command, where, its exit status and stderr."""
    stderr = _tail(result.stderr) or "(no output)"
    suffix = f"; {hint}" if hint else ""
    return WorkspaceError(f"'{_describe(args)}' failed in {cwd} (exit {result.returncode}): {stderr}{suffix}")


async def query_git(args: Sequence[str], *, cwd: Path | str) -> GitResult:
    """Run a git command that only reads local state (short timeout, exit status left to the caller)."""
    return await run_git(args, cwd=cwd, timeout_s=QUICK_TIMEOUT_S, check=False)


def validate_id(kind: str, value: str) -> str:
    """Check a session or project id: letters, digits, ``-`` and ``_`` only (it becomes a directory name).

    Raises:
        WorkspaceError: naming the id and the allowed characters.
    """
    if not _ID_RE.fullmatch(value):
        raise WorkspaceError(f"{kind} {value!r} may only contain letters, digits, '-' and '_'; use another {kind}")
    return value


async def validate_branch(branch: str, *, what: str = "branch") -> str:
    r"""Check a branch name with ao's own rules and ``git check-ref-format --branch``.

    ao refuses a leading ``-``, ``..``, whitespace, control characters, ``~^:?*[\\`` and shell
    metacharacters (``$`;|&<>()'"!{}#``) before git sees the name.

    Raises:
        WorkspaceError: naming the branch and what is wrong with it.
    """
    problem = None
    if not branch:
        problem = "it is empty"
    elif branch.startswith("-"):
        problem = "it starts with '-'"
    elif ".." in branch:
        problem = "it contains '..'"
    elif branch == "@" or "@{" in branch:
        problem = "'@' alone and '@{' have special meanings in git"
    elif any(ord(c) < 32 or ord(c) == 127 for c in branch):
        problem = "it contains control characters"
    elif bad := sorted({c for c in branch if c in _BRANCH_FORBIDDEN}):
        shown = " ".join(repr(c) for c in bad)
        problem = f"it contains {shown} (whitespace, ~^:?*[\\ and shell metacharacters are not allowed)"
    if problem is None:
        # "/" as cwd: the check needs no repository, and none should influence it.
        result = await query_git(["check-ref-format", "--branch", branch], cwd="/")
        if result.returncode != 0 or result.stdout.strip() != branch:
            problem = "git rejects it as a branch name (see 'git help check-ref-format')"
    if problem is not None:
        raise WorkspaceError(f"{what} {branch!r} is not a valid branch name: {problem}; choose another name")
    return branch


async def project_repo(project_path: str) -> Path:
    """The top directory of the project's git checkout (``~`` expanded, symlinks resolved).

    Raises:
        WorkspaceError: the path does not exist or is not inside a git work tree.
    """
    path = Path(project_path).expanduser()
    if not path.is_dir():
        raise WorkspaceError(f"project path {project_path} is not a directory; fix 'path' in the project's config")
    result = await query_git(["rev-parse", "--show-toplevel"], cwd=path)
    if result.returncode != 0 or not result.stdout.strip():
        raise WorkspaceError(
            f"project path {project_path} is not a git checkout ({_tail(result.stderr, 1) or 'no work tree'}); "
            "point 'path' at the repository's directory"
        )
    return Path(result.stdout.strip()).resolve()


async def remote_url(repo: Path, name: str = "origin") -> str | None:
    """The URL of remote ``name`` as configured in ``repo``, or ``None`` when it has no such remote."""
    result = await query_git(["remote", "get-url", name], cwd=repo)
    url = result.stdout.strip()
    return url if result.returncode == 0 and url else None


async def ref_exists(repo: Path, ref: str) -> bool:
    """Whether ``ref`` (a full ref name such as ``refs/heads/main``) names a commit in ``repo``."""
    result = await query_git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd=repo)
    return result.returncode == 0


async def branch_exists(repo: Path, branch: str) -> bool:
    """Whether ``repo`` has the local branch ``branch``."""
    result = await query_git(["show-ref", "--verify", "--quiet", f"refs/heads/{branch}"], cwd=repo)
    return result.returncode == 0


async def resolve_base_ref(repo: Path, default_branch: str) -> str:
    """The ref new branches start from: ``refs/remotes/origin/<default>`` if it exists, else the local branch.

    Raises:
        WorkspaceError: neither exists.
    """
    for ref in (f"refs/remotes/origin/{default_branch}", f"refs/heads/{default_branch}"):
        if await ref_exists(repo, ref):
            return ref
    raise WorkspaceError(
        f"default branch {default_branch!r} exists neither as origin/{default_branch} nor as a local branch in "
        f"{repo}; set 'defaultBranch' in the project's config to the repository's main branch"
    )


@dataclass
class Fetcher:
    """Fetches a branch from ``origin``, one fetch per repository and branch at a time.

    Concurrent callers for the same repository and branch share one fetch: a caller that waited while
    another fetch started after its own request skips its fetch, because that fetch already saw what
    it would have.
    """

    timeout_s: float
    _locks: dict[tuple[Path, str], anyio.Lock] = field(default_factory=dict)
    _started: dict[tuple[Path, str], float] = field(default_factory=dict)

    async def fetch(
        self, repo: Path, branch: str, *, guard: Callable[[], AbstractAsyncContextManager[object]] | None = None
    ) -> bool:
        """Update ``refs/remotes/origin/<branch>`` from ``origin``; failures are logged, not raised.

        Args:
            repo: The repository to fetch into.
            branch: The branch of ``origin`` to fetch.
            guard: Entered around the git call itself (not around waiting for another caller's fetch).

        Returns:
            Whether the remote-tracking ref was fetched (``False`` without ``origin`` or on failure).
        """
        if await remote_url(repo) is None:
            return False
        key = (repo, branch)
        requested = anyio.current_time()
        async with self._locks.setdefault(key, anyio.Lock()):
            if self._started.get(key, -math.inf) >= requested:
                return True
            refspec = f"+refs/heads/{branch}:refs/remotes/origin/{branch}"
            try:
                async with guard() if guard is not None else contextlib.nullcontext():
                    started = anyio.current_time()
                    await run_git(
                        ["fetch", "--quiet", "--no-tags", "origin", refspec], cwd=repo, timeout_s=self.timeout_s
                    )
            except WorkspaceError as exc:
                log.warning("fetching %s from origin failed, using what %s has: %s", branch, repo, exc)
                return False
            self._started[key] = started
            return True
