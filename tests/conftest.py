"""Fixtures of the cross-package end-to-end tests."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from ao_testing.fakes.github import FakeGitHub
from ao_testing.fakes.github.pytest_fixtures import fake_github
from e2e_support import GITHUB_REPO, AoEnv, make_env, make_github_env

__all__ = ["fake_github"]


def _end_sessions(env: AoEnv) -> None:
    subprocess.run(["tmux", "-L", env.socket, "kill-server"], capture_output=True, check=False)
    subprocess.run(["pkill", "-f", str(env.root)], capture_output=True, check=False)


@pytest.fixture
def ao_env(tmp_path: Path) -> Iterator[AoEnv]:
    env = make_env(tmp_path)
    yield env
    _end_sessions(env)


@pytest.fixture
def github_env(tmp_path: Path, fake_github: FakeGitHub) -> Iterator[AoEnv]:
    """A project cloned from ``GITHUB_REPO`` on the fake GitHub, with GitHub's tracker and SCM."""
    fake_github.create_repo(GITHUB_REPO, files={"README.md": "# widgets\n"})
    env = make_github_env(tmp_path / "ao", fake_github, GITHUB_REPO)
    yield env
    _end_sessions(env)
