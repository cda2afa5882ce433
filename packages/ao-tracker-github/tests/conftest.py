from __future__ import annotations

from pathlib import Path

import pytest
from ao_core.config import ProjectConfig
from ao_testing.fakes.github import FakeGitHub
from ao_testing.fakes.github.pytest_fixtures import fake_github
from ao_tracker_github import GitHubTrackerConfig, create
from ao_tracker_github._tracker import GitHubTracker

__all__ = ["fake_github"]

TOKEN_ENV = "AO_TEST_GITHUB_TOKEN"
REPO = "octo/app"


@pytest.fixture
def github(fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    """The fake GitHub with repository octo/app and the token in $AO_TEST_GITHUB_TOKEN."""
    monkeypatch.setenv(TOKEN_ENV, fake_github.default_token)
    fake_github.create_repo(REPO)
    return fake_github


@pytest.fixture
def config(github: FakeGitHub) -> GitHubTrackerConfig:
    return GitHubTrackerConfig(base_url=github.url, token_env=TOKEN_ENV)


@pytest.fixture
def tracker(config: GitHubTrackerConfig) -> GitHubTracker:
    made = create(config)
    assert isinstance(made, GitHubTracker)
    return made


@pytest.fixture
def project(tmp_path: Path) -> ProjectConfig:
    return ProjectConfig(name="app", path=str(tmp_path), repo=REPO)
