r"""A faithful, stateful fake of GitHub (REST + GraphQL) for tests, backed by real bare git repositories.

    from ao_testing.fakes.github import FakeGitHub

    with FakeGitHub(tmp_path) as gh:
        gh.create_repo("octo/app")
        gh.commit("octo/app", "feat/issue-1", {"app.py": "print(1)\n"})
        number = gh.create_pr("octo/app", "feat/issue-1")
        gh.fail_ci("octo/app", number)
        Github(auth=Auth.Token(gh.default_token), base_url=gh.url, retry=None).get_repo("octo/app")

Plugin tests get one per test from the ``fake_github`` fixture: add
``from ao_testing.fakes.github.pytest_fixtures import fake_github`` to the package's ``conftest.py``.
"""

from ao_testing.fakes.github._fake import ApiError, FakeGitHub, Fault, Hook, RequestRecord
from ao_testing.fakes.github._git import GitRepo, MergeInfo
from ao_testing.fakes.github._model import (
    Budget,
    CheckRun,
    CommitStatus,
    FakeIssue,
    FakePullRequest,
    FakeRepo,
    Review,
    ReviewComment,
    ReviewThread,
    User,
)
from ao_testing.fakes.github._process import FakeGitHubProcess
from ao_testing.fakes.github._webhooks import WebhookDelivery, deliver, sign

__all__ = [
    "ApiError",
    "Budget",
    "CheckRun",
    "CommitStatus",
    "FakeGitHub",
    "FakeGitHubProcess",
    "FakeIssue",
    "FakePullRequest",
    "FakeRepo",
    "Fault",
    "GitRepo",
    "Hook",
    "MergeInfo",
    "RequestRecord",
    "Review",
    "ReviewComment",
    "ReviewThread",
    "User",
    "WebhookDelivery",
    "deliver",
    "sign",
]
