from __future__ import annotations

import shlex

import pytest
from ao_core.config import ProjectConfig
from ao_core.interfaces import (
    SupportsPostLaunchSetup,
    SupportsRecordActivity,
    SupportsRestoreCommand,
    SupportsWorkspaceHooks,
)
from ao_core.models import (
    ActivityDetection,
    ActivityState,
    AgentLaunchConfig,
    AgentSessionInfo,
    PromptDelivery,
    RuntimeCreateConfig,
    WorkspaceHooksConfig,
)
from ao_core.testing import FakeAgent, FakeRuntime, make_session

pytestmark = pytest.mark.anyio

HOSTILE = "it's $(touch /tmp/x) `id`; rm -rf ~\nnext line"


def _launch(**fields: object) -> AgentLaunchConfig:
    values: dict[str, object] = {"session_id": "app-1", "project_id": "app", "workspace_path": "/w"}
    values.update(fields)
    return AgentLaunchConfig.model_validate(values)


def test_launch_command_quotes_every_value() -> None:
    agent = FakeAgent()
    command = agent.get_launch_command(_launch(prompt=HOSTILE, model="m 1", system_prompt="be; nice"))
    assert shlex.split(command) == [
        "fake-agent",
        "--session",
        "app-1",
        "--model",
        "m 1",
        "--system-prompt",
        "be; nice",
        "--prompt",
        HOSTILE,
    ]
    assert agent.launch_configs[0].prompt == HOSTILE


def test_system_prompt_file_wins_and_resume_is_passed() -> None:
    command = FakeAgent(command="my-agent --tui").get_launch_command(
        _launch(system_prompt="ignored", system_prompt_file="/p/s.md", agent_session_id="abc")
    )
    assert shlex.split(command) == [
        "my-agent",
        "--tui",
        "--session",
        "app-1",
        "--system-prompt-file",
        "/p/s.md",
        "--resume",
        "abc",
    ]


def test_post_launch_agents_leave_the_prompt_out() -> None:
    agent = FakeAgent(prompt_delivery=PromptDelivery.POST_LAUNCH)
    assert "--prompt" not in agent.get_launch_command(_launch(prompt="do it"))
    assert agent.prompt_delivery is PromptDelivery.POST_LAUNCH


def test_environment_has_session_project_and_extras() -> None:
    agent = FakeAgent(environment={"EXTRA": "1"})
    assert agent.get_environment(_launch()) == {
        "FAKE_AGENT_SESSION": "app-1",
        "FAKE_AGENT_PROJECT": "app",
        "EXTRA": "1",
    }


@pytest.mark.parametrize(
    ("text", "state"),
    [
        ("", ActivityState.IDLE),
        ("  \n ", ActivityState.IDLE),
        ("Thinking about it...", ActivityState.ACTIVE),
        ("Done.\n> ", ActivityState.READY),
        ("Done.\n>\n\n", ActivityState.READY),
        ("Allow edit? (y/n)", ActivityState.WAITING_INPUT),
        ("[waiting] for approval", ActivityState.WAITING_INPUT),
        ("[error] API overloaded", ActivityState.BLOCKED),
        ("bye [exited]", ActivityState.EXITED),
    ],
)
def test_detect_activity_markers(text: str, state: ActivityState) -> None:
    assert FakeAgent().detect_activity(text) is state


async def test_activity_is_scripted_per_session() -> None:
    agent = FakeAgent()
    session = make_session()
    assert await agent.get_activity_state(session, 1000) is None
    agent.set_activity("app-1", ActivityState.WAITING_INPUT, evidence="prompt on screen")
    detection = await agent.get_activity_state(session, 1000)
    assert detection is not None
    assert (detection.state, detection.evidence) == (ActivityState.WAITING_INPUT, "prompt on screen")
    assert detection.timestamp is not None
    explicit = ActivityDetection(state=ActivityState.READY)
    agent.set_activity("app-1", explicit)
    assert await agent.get_activity_state(session, 1000) == explicit
    agent.set_activity("app-1", None)
    assert await agent.get_activity_state(session, 1000) is None


async def test_process_follows_the_runtime_unless_scripted(fake_runtime: FakeRuntime, fake_agent: FakeAgent) -> None:
    handle = await fake_runtime.create(RuntimeCreateConfig(session_id="app-1", workspace_path="/w", launch_command="x"))
    assert await fake_agent.is_process_running(handle) is True
    fake_runtime.kill(handle)
    assert await fake_agent.is_process_running(handle) is False
    fake_agent.set_process_running("app-1", True)
    assert await fake_agent.is_process_running(handle) is True
    fake_agent.set_process_running("app-1", None)
    assert await fake_agent.is_process_running(handle) is False
    assert await FakeAgent().is_process_running(handle) is True


async def test_session_info_default_and_scripted() -> None:
    agent = FakeAgent()
    info = await agent.get_session_info(make_session(issue_id="42"))
    assert info is not None
    assert info.agent_session_id == "fake-app-1"
    assert info.summary == "fake agent working on 42"
    assert info.cost is not None
    assert info.cost.estimated_cost_usd > 0
    agent.set_session_info("app-1", None)
    assert await agent.get_session_info(make_session()) is None
    agent.set_session_info("app-1", AgentSessionInfo(summary="custom"))
    scripted = await agent.get_session_info(make_session())
    assert scripted is not None
    assert scripted.summary == "custom"


async def test_restore_command_needs_an_agent_session_id(tmp_path: object) -> None:
    agent = FakeAgent()
    project = ProjectConfig(path="/repo")
    assert isinstance(agent, SupportsRestoreCommand)
    assert await agent.get_restore_command(make_session(), project) is None
    resumable = make_session(agent_info=AgentSessionInfo(agent_session_id="s 1"))
    assert await agent.get_restore_command(resumable, project) == "fake-agent --resume 's 1'"


async def test_optional_capabilities_are_recorded() -> None:
    agent = FakeAgent()
    assert isinstance(agent, SupportsPostLaunchSetup)
    assert isinstance(agent, SupportsWorkspaceHooks)
    assert isinstance(agent, SupportsRecordActivity)
    session = make_session()
    await agent.post_launch_setup(session)
    await agent.setup_workspace_hooks("/w", WorkspaceHooksConfig(session_id="app-1", data_dir="/d"))
    await agent.record_activity(session, "Allow? (y/n)")
    await agent.record_activity(session, "")
    assert agent.post_launch_sessions == ["app-1"]
    assert agent.hooks_installed[0][0] == "/w"
    assert [entry.state for entry in agent.activity_log["app-1"]] == [ActivityState.WAITING_INPUT, ActivityState.IDLE]
    assert agent.calls["record_activity"] == 2
