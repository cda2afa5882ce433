from __future__ import annotations

import anyio
import pytest
from ao_core.errors import NotifyError, SessionError
from ao_core.interfaces import SupportsActions, SupportsIsSessionOpen, SupportsPost
from ao_core.models import NotifyAction, NotifyContext, RuntimeHandle
from ao_core.testing import FakeTerminal, RecordingNotifier, make_event, make_session

pytestmark = pytest.mark.anyio


async def test_records_events_actions_and_posts(recording_notifier: RecordingNotifier) -> None:
    assert isinstance(recording_notifier, SupportsActions)
    assert isinstance(recording_notifier, SupportsPost)
    first = make_event(message="one")
    second = make_event("ci.failing", priority="action", message="two")
    await recording_notifier.notify(first)
    await recording_notifier.notify_with_actions(second, [NotifyAction(label="Open", url="https://x.test")])
    assert recording_notifier.messages == ["one", "two"]
    assert recording_notifier.actions[0][1][0].label == "Open"
    assert await recording_notifier.post("hello", NotifyContext(session_id="app-1")) == "post-1"
    assert await recording_notifier.post("again") == "post-2"
    assert [text for text, _ in recording_notifier.posts] == ["hello", "again"]
    recording_notifier.clear()
    assert (recording_notifier.events, recording_notifier.posts) == ([], [])


async def test_fail_with_raises_and_records_nothing(recording_notifier: RecordingNotifier) -> None:
    recording_notifier.fail_with("receiver answered 500")
    with pytest.raises(NotifyError, match="notifier 'recording' failed: receiver answered 500"):
        await recording_notifier.notify(make_event())
    with pytest.raises(NotifyError):
        await recording_notifier.post("x")
    assert recording_notifier.events == []
    assert recording_notifier.calls["notify"] == 1
    recording_notifier.fail_with(None)
    await recording_notifier.notify(make_event())
    assert len(recording_notifier.events) == 1


async def test_hang_for_lets_a_timeout_cancel_the_delivery(recording_notifier: RecordingNotifier) -> None:
    recording_notifier.hang_for(30)
    with anyio.move_on_after(0.05) as scope:
        await recording_notifier.notify(make_event())
    assert scope.cancelled_caught
    assert recording_notifier.events == []
    recording_notifier.hang_for(0.01)
    await recording_notifier.notify(make_event())
    assert len(recording_notifier.events) == 1


async def test_terminal_records_opened_sessions(fake_terminal: FakeTerminal) -> None:
    assert isinstance(fake_terminal, SupportsIsSessionOpen)
    handle = RuntimeHandle(id="h", runtime_name="fake")
    one = make_session("app-1", runtime_handle=handle)
    two = make_session("app-2", runtime_handle=handle)
    await fake_terminal.open_session(one)
    await fake_terminal.open_all([one, two])
    assert fake_terminal.opened == ["app-1", "app-1", "app-2"]
    assert await fake_terminal.is_session_open(two)
    fake_terminal.close("app-2")
    assert not await fake_terminal.is_session_open(two)


async def test_terminal_refuses_sessions_without_a_handle(fake_terminal: FakeTerminal) -> None:
    handle = RuntimeHandle(id="h", runtime_name="fake")
    with pytest.raises(SessionError, match="no runtime handle"):
        await fake_terminal.open_session(make_session())
    with pytest.raises(SessionError):
        await fake_terminal.open_all([make_session("app-2", runtime_handle=handle), make_session()])
    assert fake_terminal.opened == []
