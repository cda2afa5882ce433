from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from ao_core.config import ProjectConfig
from ao_core.models import PRInfo, WebhookRequest
from ao_scm_github import GitHubSCMConfig, GitHubWebhookConfig, create
from ao_scm_github._scm import GitHubSCM
from ao_testing.fakes.github import FakeGitHub, WebhookDelivery
from ao_testing.fakes.github.pytest_fixtures import fake_github

__all__ = ["fake_github"]

TOKEN_ENV = "AO_TEST_GITHUB_TOKEN"
SECRET_ENV = "AO_TEST_GITHUB_WEBHOOK_SECRET"
SECRET = "a-webhook-secret-for-tests"
REPO = "octo/app"

OpenPR = Callable[..., PRInfo]


def pr_info(github: FakeGitHub, repo: str, number: int) -> PRInfo:
    """The PRInfo ao would hold for a pull request of the fake."""
    pr = github.pr(repo, number)
    owner, name = repo.split("/")
    return PRInfo(
        number=number,
        url=f"{github.url}/{repo}/pull/{number}",
        title=pr.issue.title,
        owner=owner,
        repo=name,
        branch=pr.head_ref,
        base_branch=pr.base_ref,
        is_draft=pr.draft,
    )


def webhook_request(delivery: WebhookDelivery) -> WebhookRequest:
    """A delivery as the dashboard's HTTP server hands it to the plugin."""
    return WebhookRequest(
        method="POST",
        path="/api/webhooks/github",
        headers={k.lower(): v for k, v in delivery.headers.items()},
        body=delivery.body,
    )


@pytest.fixture
def pr_of(github: FakeGitHub) -> Callable[[str, int], PRInfo]:
    """``pr_of(repo, number)``: the PRInfo ao would hold for a pull request of the fake."""
    return lambda repo, number: pr_info(github, repo, number)


@pytest.fixture
def as_request() -> Callable[[WebhookDelivery], WebhookRequest]:
    """``as_request(delivery)``: a delivery as the dashboard's HTTP server hands it to the plugin."""
    return webhook_request


@pytest.fixture
def github(fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    """The fake GitHub with repository octo/app, the token and the webhook secret in the environment."""
    monkeypatch.setenv(TOKEN_ENV, fake_github.default_token)
    monkeypatch.setenv(SECRET_ENV, SECRET)
    fake_github.create_repo(REPO, files={"app.py": "def main():\n    return 1\n", "README.md": "# app\n"})
    return fake_github


@pytest.fixture
def config(github: FakeGitHub) -> GitHubSCMConfig:
    return GitHubSCMConfig(base_url=github.url, token_env=TOKEN_ENV, webhook=GitHubWebhookConfig(secret_env=SECRET_ENV))


@pytest.fixture
def scm(config: GitHubSCMConfig) -> GitHubSCM:
    made = create(config)
    assert isinstance(made, GitHubSCM)
    return made


@pytest.fixture
def project(tmp_path: Path) -> ProjectConfig:
    return ProjectConfig(name="app", path=str(tmp_path), repo=REPO)


@pytest.fixture
def open_pr(github: FakeGitHub) -> OpenPR:
    """Commit on a new branch and open a pull request from it; returns its PRInfo."""
    counter = iter(range(1, 10_000))

    def make(
        branch: str | None = None,
        files: dict[str, str] | None = None,
        *,
        repo: str = REPO,
        draft: bool = False,
        title: str | None = None,
    ) -> PRInfo:
        n = next(counter)
        branch = branch or f"feat/issue-{n}"
        github.commit(repo, branch, files or {f"feature_{n}.py": f"VALUE = {n}\n"}, f"Work on {branch}")
        number = github.create_pr(repo, branch, title=title or f"Work on {branch}", draft=draft)
        return pr_info(github, repo, number)

    return make


@pytest.fixture
def workspace(github: FakeGitHub, tmp_path: Path) -> Path:
    """A clone of the fake's bare repository, as an agent's workspace."""
    path = tmp_path / "workspace"
    subprocess.run(
        ["git", "clone", "--quiet", str(github.repo_path(REPO)), str(path)], check=True, capture_output=True, timeout=30
    )
    for key, value in (("user.name", "Agent"), ("user.email", "agent@example.invalid")):
        subprocess.run(["git", "config", key, value], cwd=path, check=True, timeout=30)
    return path
