"""Test helpers: required tools and variables, bounded waits, a real git repository, model builders."""

from __future__ import annotations

import inspect
import os
import shutil
import subprocess
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn

import anyio

from ao_core.config._schema import ProjectConfig
from ao_core.models import EventPriority, EventType, OrchestratorEvent, Session

__all__ = [
    "in_ci",
    "init_git_repo",
    "make_event",
    "make_project",
    "make_session",
    "require_env",
    "require_executable",
    "run_git",
    "wait_until",
]

_GIT_TIMEOUT_S = 30.0


def in_ci(env: Mapping[str, str] | None = None) -> bool:
    """Whether the tests run in CI (``CI`` is ``true`` or ``1``): missing tools then fail instead of skip."""
    value = (os.environ if env is None else env).get("CI", "")
    return value.strip().lower() in {"true", "1"}


def _missing(what: str) -> NoReturn:
    import pytest  # imported here: pytest is only installed where tests run

    if in_ci():
        pytest.fail(f"{what}; CI=true, so a missing test requirement fails the run instead of skipping", pytrace=False)
    pytest.skip(what)


def require_executable(name: str) -> str:
    """Return the full path of executable ``name``; skip the test when it is missing (fail under CI).

    Args:
        name: A program name looked up on ``PATH`` (``git``, ``tmux``) or a path.

    Returns:
        The path ``shutil.which`` found.
    """
    path = shutil.which(name)
    if path is None:
        _missing(f"{name!r} is not installed (not found on PATH)")
    return path


def require_env(name: str) -> str:
    """Return the value of environment variable ``name``; skip when unset or empty (fail under CI)."""
    value = os.environ.get(name, "")
    if not value:
        _missing(f"environment variable {name} is not set")
    return value


async def wait_until(
    condition: Callable[[], bool | Awaitable[bool]],
    *,
    within: float = 5.0,
    interval: float = 0.02,
    message: str = "",
) -> None:
    """Wait until ``condition()`` (sync or async) is true, checking every ``interval`` seconds.

    Raises:
        AssertionError: when the condition is still false after ``within`` seconds (the message says what).
    """
    with anyio.move_on_after(within):
        while True:
            result = condition()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return
            await anyio.sleep(interval)
    raise AssertionError(f"condition not met within {within} s" + (f": {message}" if message else ""))


def run_git(cwd: str | Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    """Run ``git <args>`` in ``cwd`` (bounded), returning stdout without the trailing newline.

    Raises:
        subprocess.CalledProcessError: when git fails (stderr is in the exception).
    """
    git = require_executable("git")
    completed = subprocess.run(
        [git, *args],
        cwd=cwd,
        env=None if env is None else {**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=_GIT_TIMEOUT_S,
        check=True,
    )
    return completed.stdout.rstrip("\n")


def init_git_repo(root: str | Path, *, name: str = "repo", default_branch: str = "main") -> Path:
    """Make a real git repository ``root/name`` with one commit, pushed to a bare ``root/<name>-origin.git``.

    The repository has ``user.name``/``user.email`` set locally, signing off, and ``origin`` tracking
    ``default_branch``. The user's global git configuration is ignored while it is set up.

    Returns:
        The path of the working repository.
    """
    root = Path(root)
    repo = root / name
    origin = root / f"{name}-origin.git"
    repo.mkdir(parents=True)
    isolated = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    run_git(root, "init", "--quiet", "--bare", f"--initial-branch={default_branch}", str(origin), env=isolated)
    run_git(repo, "init", "--quiet", f"--initial-branch={default_branch}", env=isolated)
    for key, value in (
        ("user.name", "ao test"),
        ("user.email", "ao-test@example.invalid"),
        ("commit.gpgsign", "false"),
        ("tag.gpgsign", "false"),
    ):
        run_git(repo, "config", key, value, env=isolated)
    (repo / "README.md").write_text(f"# {name}\n\nA repository made by ao_core.testing.\n")
    run_git(repo, "add", "README.md", env=isolated)
    run_git(repo, "commit", "--quiet", "-m", "Initial commit", env=isolated)
    run_git(repo, "remote", "add", "origin", str(origin), env=isolated)
    run_git(repo, "push", "--quiet", "-u", "origin", default_branch, env=isolated)
    return repo


def make_session(session_id: str = "app-1", project_id: str = "app", **fields: Any) -> Session:
    """A :class:`~ao_core.models.Session` with the given id and project; other fields by keyword."""
    return Session(id=session_id, project_id=project_id, **fields)


def make_project(path: str | Path, **fields: Any) -> ProjectConfig:
    """A :class:`~ao_core.config.ProjectConfig` for a repository at ``path``; other fields by keyword."""
    return ProjectConfig(path=str(path), **fields)


def make_event(
    event_type: EventType | str = "session.spawned",
    *,
    session_id: str = "app-1",
    project_id: str = "app",
    message: str | None = None,
    priority: EventPriority | str = "info",
    **fields: Any,
) -> OrchestratorEvent:
    """An :class:`~ao_core.models.OrchestratorEvent`; the message defaults to ``"<type> for <session>"``."""
    kind = EventType(event_type)
    return OrchestratorEvent(
        type=kind,
        priority=EventPriority(priority),
        session_id=session_id,
        project_id=project_id,
        message=message if message is not None else f"{kind.value} for {session_id}",
        **fields,
    )
