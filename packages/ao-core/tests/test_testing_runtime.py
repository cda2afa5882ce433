from __future__ import annotations

import pytest
from ao_core.errors import RuntimeFailedError
from ao_core.interfaces import SupportsAttachInfo, SupportsMetrics
from ao_core.models import RuntimeCreateConfig, RuntimeHandle
from ao_core.testing import FakeRuntime

pytestmark = pytest.mark.anyio


def _config(session_id: str = "app-1", **fields: object) -> RuntimeCreateConfig:
    values: dict[str, object] = {"session_id": session_id, "workspace_path": "/w", "launch_command": "agent --go"}
    values.update(fields)
    return RuntimeCreateConfig.model_validate(values)


async def test_create_records_command_and_environment(fake_runtime: FakeRuntime) -> None:
    handle = await fake_runtime.create(_config(environment={"AO_SESSION": "app-1"}))
    assert handle == RuntimeHandle(id="app-1", runtime_name="fake", data={"workspace": "/w"})
    assert [c.launch_command for c in fake_runtime.launched] == ["agent --go"]
    assert fake_runtime.session(handle).config.environment == {"AO_SESSION": "app-1"}
    assert fake_runtime.alive_sessions == ["app-1"]


async def test_create_refuses_a_running_duplicate_but_allows_reuse_after_destroy(fake_runtime: FakeRuntime) -> None:
    handle = await fake_runtime.create(_config())
    with pytest.raises(RuntimeFailedError, match="already running"):
        await fake_runtime.create(_config())
    await fake_runtime.destroy(handle)
    again = await fake_runtime.create(_config())
    assert await fake_runtime.is_alive(again)


async def test_fail_create_leaves_nothing_behind() -> None:
    runtime = FakeRuntime(fail_create=True)
    with pytest.raises(RuntimeFailedError, match="fail_create"):
        await runtime.create(_config())
    assert runtime.sessions == {}
    assert runtime.launched == []


async def test_output_is_screen_then_messages_limited_to_lines(fake_runtime: FakeRuntime) -> None:
    handle = await fake_runtime.create(_config())
    fake_runtime.set_screen(handle, "Welcome\n> ")
    await fake_runtime.send_message(handle, "first")
    await fake_runtime.send_message(handle, "second")
    assert await fake_runtime.get_output(handle) == "Welcome\n> \nfirst\nsecond"
    assert await fake_runtime.get_output(handle, 2) == "first\nsecond"
    assert await fake_runtime.get_output(handle, 0) == ""
    assert fake_runtime.sent_to(handle) == ["first", "second"]
    assert fake_runtime.messages == [("app-1", "first"), ("app-1", "second")]
    fake_runtime.clear_sent(handle)
    assert await fake_runtime.get_output(handle) == "Welcome\n> "


async def test_kill_simulates_a_dead_session(fake_runtime: FakeRuntime) -> None:
    handle = await fake_runtime.create(_config())
    await fake_runtime.send_message(handle, "hi")
    fake_runtime.kill(handle)
    assert await fake_runtime.is_alive(handle) is False
    assert await fake_runtime.get_output(handle) == "hi"
    with pytest.raises(RuntimeFailedError, match="not running"):
        await fake_runtime.send_message(handle, "again")


async def test_destroyed_and_unknown_sessions(fake_runtime: FakeRuntime) -> None:
    handle = await fake_runtime.create(_config())
    await fake_runtime.destroy(handle)
    await fake_runtime.destroy(handle)
    assert fake_runtime.session("app-1").destroyed
    assert await fake_runtime.get_output(handle) == ""
    unknown = RuntimeHandle(id="nope", runtime_name="fake")
    assert await fake_runtime.is_alive(unknown) is False
    assert await fake_runtime.get_output(unknown) == ""
    with pytest.raises(RuntimeFailedError, match="known: app-1"):
        fake_runtime.kill(unknown)


async def test_optional_capabilities(fake_runtime: FakeRuntime) -> None:
    assert isinstance(fake_runtime, SupportsMetrics)
    assert isinstance(fake_runtime, SupportsAttachInfo)
    handle = await fake_runtime.create(_config())
    assert (await fake_runtime.get_metrics(handle)).uptime_ms >= 0
    info = await fake_runtime.get_attach_info(handle)
    assert (info.type, info.target) == ("process", "app-1")


async def test_calls_are_counted_and_failures_scripted(fake_runtime: FakeRuntime) -> None:
    handle = await fake_runtime.create(_config())
    await fake_runtime.is_alive(handle)
    await fake_runtime.is_alive(handle)
    assert fake_runtime.calls["is_alive"] == 2
    assert fake_runtime.total_calls() == 3
    fake_runtime.fail_on("is_alive", RuntimeFailedError("tmux server gone"))
    with pytest.raises(RuntimeFailedError, match="tmux server gone"):
        await fake_runtime.is_alive(handle)
    fake_runtime.fail_on("is_alive", None)
    assert await fake_runtime.is_alive(handle)
    fake_runtime.reset_calls()
    assert fake_runtime.total_calls() == 0


def test_fail_on_rejects_unknown_methods(fake_runtime: FakeRuntime) -> None:
    with pytest.raises(ValueError, match="no method 'is_alvie'"):
        fake_runtime.fail_on("is_alvie", RuntimeError())
