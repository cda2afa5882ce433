from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
from ao_core.models import CIStatus, PRInfo, WebhookRequest
from ao_testing.contracts import PRFactory, SCMBackdoor, SCMContract
from ao_testing.fakes.github import FakeGitHub, WebhookDelivery

REPO = "octo/app"
SECRET = "a-webhook-secret-for-tests"

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


class FakeGitHubBackdoor:
    """CI and reviewers, acting on the fake GitHub behind the plugin's back."""

    def __init__(self, github: FakeGitHub) -> None:
        self.github = github

    async def set_ci(self, pr: PRInfo, status: CIStatus) -> None:
        repo = f"{pr.owner}/{pr.repo}"
        sha = self.github.head_sha(repo, pr.number)
        fake_repo = self.github.repo(repo)
        fake_repo.check_runs.pop(sha, None)
        fake_repo.statuses.pop(sha, None)
        if status is CIStatus.FAILING:
            self.github.fail_ci(repo, sha)
        elif status is CIStatus.PASSING:
            self.github.pass_ci(repo, sha)
        elif status is CIStatus.PENDING:
            self.github.pending_ci(repo, sha)

    async def approve(self, pr: PRInfo) -> None:
        self.github.approve(f"{pr.owner}/{pr.repo}", pr.number)

    async def request_changes(self, pr: PRInfo, comments: Sequence[str]) -> None:
        self.github.request_changes(f"{pr.owner}/{pr.repo}", pr.number, [("app.py", 1, c) for c in comments])


class TestGitHubSCMContract(SCMContract):
    @pytest.fixture
    def pr_factory(self, open_pr: Callable[..., PRInfo]) -> PRFactory:
        async def make(branch: str) -> PRInfo:
            return open_pr(branch)

        return make

    @pytest.fixture
    def scm_backdoor(self, github: FakeGitHub) -> SCMBackdoor:
        return FakeGitHubBackdoor(github)

    @pytest.fixture
    def valid_webhook_request(
        self,
        github: FakeGitHub,
        open_pr: Callable[..., PRInfo],
        as_request: Callable[[WebhookDelivery], WebhookRequest],
    ) -> WebhookRequest | None:
        pr = open_pr()
        return as_request(github.webhook("pull_request", REPO, number=pr.number, secret=SECRET))
