"""Pytest fixtures for workspace plugins: a real project repository with a bare origin, and checks of its checkout.

Import the fixtures a test package needs into its ``conftest.py`` (and list them in ``__all__``)::

    from ao_testing.workspace_fixtures import isolated_git, repo, untouched

``repo`` builds on the ``git_repo`` fixture of the ao_core pytest plugin. Plugin-specific fixtures (the plugin
itself, e.g. ``workspace``) stay in each package's conftest.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from ao_core.models import WorkspaceCreateConfig
from ao_core.testing import run_git

__all__ = [
    "PROJECT_ID",
    "CheckoutState",
    "base_dir",
    "branches",
    "checkout_state",
    "isolated_git",
    "make_config",
    "origin",
    "repo",
    "untouched",
]

PROJECT_ID = "app"
"""The project id every create request of ``make_config`` uses."""


@dataclass(frozen=True)
class CheckoutState:
    """What must not change in the project's own checkout."""

    head: str
    symbolic_head: str
    status: str
    index_digest: str


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No user or system git config; a known identity for commits; ao state under tmp_path."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for key in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{key}_NAME", "ao test")
        monkeypatch.setenv(f"GIT_{key}_EMAIL", "ao-test@example.invalid")
    monkeypatch.setenv("AO_STATE_DIR", str(tmp_path / "ao-state"))


@pytest.fixture
def repo(git_repo: Path) -> Path:
    """The project checkout: ``main`` with two commits, pushed to a bare ``origin``."""
    (git_repo / "src.txt").write_text("hello\n")
    run_git(git_repo, "add", "src.txt")
    run_git(git_repo, "commit", "--quiet", "-m", "Add src")
    run_git(git_repo, "push", "--quiet", "origin", "main")
    return git_repo


@pytest.fixture
def origin(repo: Path) -> Path:
    """The bare repository that is the project's ``origin``."""
    return Path(run_git(repo, "remote", "get-url", "origin"))


@pytest.fixture
def base_dir(tmp_path: Path) -> Path:
    """The plugin's ``baseDir``; workspaces of project ``app`` land in ``<base_dir>/app``."""
    return tmp_path / "workspaces"


@pytest.fixture
def make_config(repo: Path) -> Callable[..., WorkspaceCreateConfig]:
    """Build a create request for session ``<id>`` of project ``app`` (branch ``session/<id>`` by default)."""

    def build(session_id: str, branch: str | None = None, **fields: object) -> WorkspaceCreateConfig:
        values: dict[str, object] = {
            "project_id": PROJECT_ID,
            "project_path": str(repo),
            "session_id": session_id,
            "branch": branch if branch is not None else f"session/{session_id}",
        }
        values.update(fields)
        return WorkspaceCreateConfig.model_validate(values)

    return build


def _checkout_state(repo: Path) -> CheckoutState:
    index = (repo / ".git" / "index").read_bytes()
    # GIT_OPTIONAL_LOCKS=0: this status must not refresh (rewrite) the index it is checking.
    status = run_git(repo, "status", "--porcelain", "--untracked-files=all", env={"GIT_OPTIONAL_LOCKS": "0"})
    return CheckoutState(
        head=run_git(repo, "rev-parse", "HEAD"),
        symbolic_head=run_git(repo, "symbolic-ref", "HEAD"),
        status=status,
        index_digest=hashlib.sha256(index).hexdigest(),
    )


@pytest.fixture
def checkout_state(repo: Path) -> Callable[[], object]:
    """Reads what must never change in the project's checkout: HEAD, its branch, status, the index bytes."""
    return lambda: _checkout_state(repo)


@pytest.fixture
def untouched(repo: Path) -> Iterator[None]:
    """Fails the test if the project's checkout changed during it (see ``checkout_state``)."""
    before = _checkout_state(repo)
    yield
    assert _checkout_state(repo) == before, "the project's own checkout was changed"


@pytest.fixture
def branches(repo: Path) -> Callable[[], set[str]]:
    """Reads the project's local branches."""
    return lambda: set(run_git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads").split())
