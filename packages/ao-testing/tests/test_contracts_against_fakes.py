"""Every contract suite run against the matching fake of ao_core.testing: the proof that the suites pass."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from ao_core.config import ProjectConfig
from ao_core.errors import NotifyError
from ao_core.interfaces import SCM, Agent, Notifier, Runtime, Terminal, Tracker, Workspace
from ao_core.models import IssueState, PRInfo, PromptDelivery, WebhookRequest
from ao_core.testing import (
    FakeAgent,
    FakeRuntime,
    FakeSCM,
    FakeTerminal,
    FakeTracker,
    FakeWorkspace,
    RecordingNotifier,
)
from ao_testing.contracts import (
    AgentContract,
    BranchReader,
    NotifierContract,
    PRFactory,
    Received,
    RuntimeContract,
    SCMBackdoor,
    SCMContract,
    TerminalContract,
    TrackerContract,
    WorkspaceContract,
)


class TestFakeRuntimeContract(RuntimeContract):
    @pytest.fixture
    def runtime(self) -> Runtime:
        return FakeRuntime()

    @pytest.fixture
    def ready_text(self) -> str | None:
        return None  # the fake runs nothing: its sessions take messages at once


class TestFakeAgentContract(AgentContract):
    @pytest.fixture
    def agent(self) -> Agent:
        return FakeAgent()


class TestPostLaunchFakeAgentContract(AgentContract):
    @pytest.fixture
    def agent(self) -> Agent:
        return FakeAgent("fake-post", prompt_delivery=PromptDelivery.POST_LAUNCH, command="fake-agent --tui")


@pytest.mark.integration  # the default workspace_create_config makes a real git repository
class TestFakeWorkspaceContract(WorkspaceContract):
    @pytest.fixture
    def fake(self, tmp_path: Path) -> FakeWorkspace:
        return FakeWorkspace(tmp_path / "fake-workspaces")

    @pytest.fixture
    def workspace(self, fake: FakeWorkspace) -> Workspace:
        return fake

    @pytest.fixture
    def current_branch(self, fake: FakeWorkspace) -> BranchReader:
        # The fake's directories are not git checkouts; it knows their branches itself.
        return fake.branch_of


class TestFakeTrackerContract(TrackerContract):
    @pytest.fixture
    def fake(self) -> FakeTracker:
        tracker = FakeTracker()
        tracker.add_issue("42", "Parser drops trailing comments", description="Steps to reproduce...", labels=["bug"])
        tracker.add_issue("43", "Old request", state=IssueState.CLOSED)
        return tracker

    @pytest.fixture
    def tracker(self, fake: FakeTracker) -> Tracker:
        return fake

    @pytest.fixture
    def project(self, tmp_path: Path) -> ProjectConfig:
        return ProjectConfig(path=str(tmp_path), repo="acme/app")

    @pytest.fixture
    def existing_issue_id(self) -> str:
        return "42"

    @pytest.fixture
    def missing_issue_id(self) -> str:
        return "4242"


class TestClosedIssueFakeTrackerContract(TestFakeTrackerContract):
    @pytest.fixture
    def existing_issue_id(self) -> str:
        return "#43"


class TestFakeSCMContract(SCMContract):
    @pytest.fixture
    def fake(self) -> FakeSCM:
        return FakeSCM(owner="acme", repo="app", webhook_secret="contract-secret")

    @pytest.fixture
    def scm(self, fake: FakeSCM) -> SCM:
        return fake

    @pytest.fixture
    def scm_backdoor(self, fake: FakeSCM) -> SCMBackdoor:
        return fake

    @pytest.fixture
    def project(self, tmp_path: Path) -> ProjectConfig:
        return ProjectConfig(path=str(tmp_path), repo="acme/app")

    @pytest.fixture
    def pr_factory(self, fake: FakeSCM) -> PRFactory:
        async def open_pr(branch: str) -> PRInfo:
            return fake.open_pr(branch)

        return open_pr

    @pytest.fixture
    def valid_webhook_request(self, fake: FakeSCM) -> WebhookRequest:
        payload = {
            "action": "opened",
            "number": 1,
            "pull_request": {"number": 1, "head": {"ref": "feat/issue-42", "sha": "abc123"}},
            "repository": {"full_name": "acme/app"},
        }
        return fake.make_webhook_request("pull_request", payload)


class TestFakeNotifierContract(NotifierContract):
    @pytest.fixture
    def fake(self) -> RecordingNotifier:
        return RecordingNotifier()

    @pytest.fixture
    def notifier(self, fake: RecordingNotifier) -> Notifier:
        return fake

    @pytest.fixture
    def received(self, fake: RecordingNotifier) -> Received:
        def deliveries() -> Sequence[str]:
            return [event.model_dump_json() for event in fake.events] + [text for text, _ in fake.posts]

        return deliveries

    @pytest.fixture
    def failing_notifier(self) -> Notifier:
        failing = RecordingNotifier()
        failing.fail_with(NotifyError("recording", "receiver answered HTTP 500", code="500"))
        return failing

    @pytest.fixture
    def notifier_secrets(self) -> Sequence[str]:
        return ["xoxb-not-a-real-token"]


class TestFakeTerminalContract(TerminalContract):
    @pytest.fixture
    def terminal(self) -> Terminal:
        return FakeTerminal()
