"""Each contract suite fails a deliberately broken fake: proof that the suites can fail.

Each case writes a test module that subclasses a suite with a broken fake, runs it in-process with
pytester, and checks that exactly the expected checks failed (and that the rest of the suite passed).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

# Imported here, before any inline run: pytester removes the modules an inline run imported when it ends,
# and a module imported again would give new classes that no longer compare equal to the cached ones.
import ao_core.testing
import ao_testing.contracts
import pytest

_PRELOADED = [getattr(ao_core.testing, name) for name in ao_core.testing.__all__] + [ao_testing.contracts]

# In the test module, not in a conftest: a non-root conftest may not declare pytest_plugins.
pytest_plugins = ["pytester"]


@dataclass(frozen=True)
class BrokenCase:
    name: str
    source: str
    must_fail: frozenset[str]
    """Test names (without parameters) that must fail; every other test must pass or skip."""


CASES = [
    BrokenCase(
        "runtime-drops-messages",
        """
        from ao_core.interfaces import Runtime
        from ao_core.models import RuntimeHandle
        from ao_core.testing import FakeRuntime
        from ao_testing.contracts import RuntimeContract

        class DroppingRuntime(FakeRuntime):
            async def send_message(self, handle: RuntimeHandle, message: str) -> None:
                if not await self.is_alive(handle):
                    await super().send_message(handle, message)

        class TestBroken(RuntimeContract):
            output_timeout = 0.3

            @pytest.fixture
            def runtime(self) -> Runtime:
                return DroppingRuntime()

            @pytest.fixture
            def ready_text(self):
                return None
        """,
        frozenset(
            {
                "test_send_message_reaches_the_session",
                "test_send_message_keeps_shell_metacharacters",
                "test_get_output_returns_at_most_the_lines_asked_for",
                "test_sessions_are_isolated",
                "test_handle_survives_a_json_round_trip",
            }
        ),
    ),
    BrokenCase(
        "runtime-destroy-leaves-session-alive",
        """
        from ao_core.interfaces import Runtime
        from ao_core.models import RuntimeHandle
        from ao_core.testing import FakeRuntime
        from ao_testing.contracts import RuntimeContract

        class ImmortalRuntime(FakeRuntime):
            async def destroy(self, handle: RuntimeHandle) -> None:
                self.calls["destroy"] += 1

        class TestBroken(RuntimeContract):
            @pytest.fixture
            def runtime(self) -> Runtime:
                return ImmortalRuntime()

            @pytest.fixture
            def ready_text(self):
                return None
        """,
        frozenset(
            {
                "test_destroy_ends_the_session",
                "test_destroy_is_idempotent",
                "test_send_after_destroy_raises_runtime_failed",
                "test_handle_survives_a_json_round_trip",
            }
        ),
    ),
    BrokenCase(
        "agent-unquoted-prompt",
        """
        from ao_core.interfaces import Agent
        from ao_core.models import AgentLaunchConfig
        from ao_core.testing import FakeAgent
        from ao_testing.contracts import AgentContract

        class UnquotedAgent(FakeAgent):
            def get_launch_command(self, config: AgentLaunchConfig) -> str:
                return f"fake-agent --prompt \\"{config.prompt or ''}\\""

        class TestBroken(AgentContract):
            @pytest.fixture
            def agent(self) -> Agent:
                return UnquotedAgent()
        """,
        frozenset({"test_hostile_text_adds_no_shell_syntax"}),
    ),
    BrokenCase(
        "workspace-destroy-keeps-directory",
        """
        from ao_core.interfaces import Workspace
        from ao_core.testing import FakeWorkspace
        from ao_testing.contracts import WorkspaceContract

        class StickyWorkspace(FakeWorkspace):
            async def destroy(self, workspace_path: str) -> None:
                self.calls["destroy"] += 1

        class TestBroken(WorkspaceContract):
            @pytest.fixture
            def fake(self, tmp_path):
                return StickyWorkspace(tmp_path / "ws")

            @pytest.fixture
            def workspace(self, fake) -> Workspace:
                return fake

            @pytest.fixture
            def current_branch(self, fake):
                return fake.branch_of
        """,
        frozenset(
            {
                "test_destroy_removes_the_workspace",
                "test_destroy_is_idempotent",
                "test_exists_when_supported",
                "test_restore_when_supported",
            }
        ),
    ),
    BrokenCase(
        "tracker-invents-issues-and-bad-branches",
        """
        from ao_core.interfaces import Tracker
        from ao_core.models import Issue
        from ao_core.testing import FakeTracker
        from ao_testing.contracts import TrackerContract

        class InventingTracker(FakeTracker):
            async def get_issue(self, identifier, project) -> Issue:
                if identifier not in self.issues:
                    return Issue(id=identifier, title="made up", url="https://x.test/1")
                return await super().get_issue(identifier, project)

            def branch_name(self, identifier, project) -> str:
                return f"feat/issue {identifier}.."

        class TestBroken(TrackerContract):
            @pytest.fixture
            def tracker(self) -> Tracker:
                tracker = InventingTracker()
                tracker.add_issue("42", "Parser drops comments")
                return tracker

            @pytest.fixture
            def project(self, tmp_path):
                from ao_core.config import ProjectConfig
                return ProjectConfig(path=str(tmp_path))

            @pytest.fixture
            def existing_issue_id(self) -> str:
                return "42"

            @pytest.fixture
            def missing_issue_id(self) -> str:
                return "4242"
        """,
        frozenset({"test_missing_issue_raises_issue_not_found", "test_branch_name_is_a_valid_git_branch"}),
    ),
    BrokenCase(
        "scm-merge-does-nothing",
        """
        from ao_core.interfaces import SCM
        from ao_core.models import MergeMethod, PRInfo
        from ao_core.testing import FakeSCM
        from ao_testing.contracts import SCMContract

        class NoMergeSCM(FakeSCM):
            async def merge_pr(self, pr: PRInfo, method: MergeMethod = MergeMethod.SQUASH) -> None:
                self.calls["merge_pr"] += 1

        class TestBroken(SCMContract):
            settle_timeout = 0.3

            @pytest.fixture
            def fake(self):
                return NoMergeSCM(webhook_secret="s")

            @pytest.fixture
            def scm(self, fake) -> SCM:
                return fake

            @pytest.fixture
            def scm_backdoor(self, fake):
                return fake

            @pytest.fixture
            def project(self, tmp_path):
                from ao_core.config import ProjectConfig
                return ProjectConfig(path=str(tmp_path), repo="acme/app")

            @pytest.fixture
            def pr_factory(self, fake):
                async def open_pr(branch):
                    return fake.open_pr(branch)
                return open_pr
        """,
        frozenset({"test_green_approved_pr_merges", "test_close_and_merging_a_closed_pr_fails"}),
    ),
    BrokenCase(
        "notifier-drops-events",
        """
        from ao_core.errors import NotifyError
        from ao_core.interfaces import Notifier
        from ao_core.models import OrchestratorEvent
        from ao_core.testing import RecordingNotifier
        from ao_testing.contracts import NotifierContract

        class DroppingNotifier(RecordingNotifier):
            async def notify(self, event: OrchestratorEvent) -> None:
                self.calls["notify"] += 1

        class TestBroken(NotifierContract):
            delivery_timeout = 0.3

            @pytest.fixture
            def fake(self):
                return DroppingNotifier()

            @pytest.fixture
            def notifier(self, fake) -> Notifier:
                return fake

            @pytest.fixture
            def received(self, fake):
                return lambda: [e.model_dump_json() for e in fake.events] + [t for t, _ in fake.posts]

            @pytest.fixture
            def failing_notifier(self):
                leaky = RecordingNotifier()
                leaky.fail_with(NotifyError("recording", "POST https://hooks.example.test/T0/B0/s3cr3t failed"))
                return leaky

            @pytest.fixture
            def notifier_secrets(self):
                return ["s3cr3t"]
        """,
        frozenset(
            {"test_notify_delivers_message_and_session", "test_failing_receiver_raises_notify_error_without_secrets"}
        ),
    ),
    BrokenCase(
        "terminal-forgets-sessions",
        """
        from ao_core.interfaces import Terminal
        from ao_core.testing import FakeTerminal
        from ao_testing.contracts import TerminalContract

        class ForgetfulTerminal(FakeTerminal):
            async def is_session_open(self, session) -> bool:
                return False

        class TestBroken(TerminalContract):
            @pytest.fixture
            def terminal(self) -> Terminal:
                return ForgetfulTerminal()
        """,
        frozenset({"test_session_reads_as_open_when_supported"}),
    ),
]


def _marks(case: BrokenCase) -> list[pytest.MarkDecorator]:
    # The workspace suite's default fixture makes a real git repository.
    return [pytest.mark.integration] if case.name.startswith("workspace") else []


@pytest.mark.parametrize("case", [pytest.param(case, id=case.name, marks=_marks(case)) for case in CASES])
def test_suite_fails_a_broken_fake(pytester: pytest.Pytester, case: BrokenCase) -> None:
    pytester.makepyfile(test_broken="import pytest\n" + textwrap.dedent(case.source))
    result = pytester.inline_run("-p", "no:cacheprovider", "-q")
    passed, _skipped, failed = result.listoutcomes()
    failed_names = {report.nodeid.split("::")[-1].split("[")[0] for report in failed}
    assert failed_names == case.must_fail, (
        f"expected exactly {sorted(case.must_fail)} to fail, got {sorted(failed_names)}"
    )
    assert passed, "the rest of the suite did not run"
