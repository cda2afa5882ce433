"""Bot mode keeps each session's story in one Slack thread, across restarts of ao."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from ao_core.models import EventPriority, EventType, NotifyContext, OrchestratorEvent
from ao_core.testing import make_event as _make_event
from ao_notifier_slack import SlackNotifier
from ao_testing.fakes.slack import FakeSlack

MakeNotifier = Callable[..., SlackNotifier]

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]


def make_event(
    session_id: str,
    message: str,
    *,
    type_: EventType = EventType.CI_FAILING,
    priority: EventPriority = EventPriority.ACTION,
    **data: Any,
) -> OrchestratorEvent:
    return _make_event(type_, session_id=session_id, message=message, priority=priority, data=data)


async def test_three_events_of_a_session_arrive_in_one_thread(fake_slack: FakeSlack, make_bot: MakeNotifier) -> None:
    notifier = make_bot()
    events = [
        make_event("app-1", "Session spawned", type_=EventType.SESSION_SPAWNED, priority=EventPriority.INFO),
        make_event("app-1", "Pull request opened", type_=EventType.PR_CREATED, prUrl="https://scm.test/a/b/pull/3"),
        make_event("app-1", "CI is failing", type_=EventType.CI_FAILING, ciStatus="failing"),
    ]

    for event in events:
        await notifier.notify(event)

    first, second, third = fake_slack.messages
    assert first.thread_ts is None
    assert first.channel == fake_slack.default_channel_id
    assert (second.thread_ts, third.thread_ts) == (first.ts, first.ts)
    assert (second.channel, third.channel) == (first.channel, first.channel)
    assert [m.text for m in fake_slack.replies(first.ts)] == [second.text, third.text]
    assert "Pull request opened" in (second.text or "")
    assert "CI is failing" in (third.text or "")


async def test_two_sessions_make_two_threads(fake_slack: FakeSlack, make_bot: MakeNotifier) -> None:
    notifier = make_bot()

    await notifier.notify(make_event("app-1", "one: first"))
    await notifier.notify(make_event("app-2", "two: first"))
    await notifier.notify(make_event("app-1", "one: second"))
    await notifier.notify(make_event("app-2", "two: second"))

    parents = fake_slack.parents()
    assert len(parents) == 2
    one, two = parents
    assert "one: first" in (one.text or "")
    assert "two: first" in (two.text or "")
    assert ["one: second" in (m.text or "") for m in fake_slack.replies(one.ts)] == [True]
    assert ["two: second" in (m.text or "") for m in fake_slack.replies(two.ts)] == [True]


async def test_thread_mapping_survives_a_new_notifier_instance(
    fake_slack: FakeSlack, make_bot: MakeNotifier, state_file: Path
) -> None:
    await make_bot().notify(make_event("app-1", "before the restart"))

    restarted = make_bot()  # a new process would build a new notifier from the same config
    await restarted.notify(make_event("app-1", "after the restart"))

    parent, reply = fake_slack.messages
    assert reply.thread_ts == parent.ts
    stored = json.loads(state_file.read_text(encoding="utf-8"))
    assert stored["threads"]["#agents"]["app-1"]["ts"] == parent.ts
    assert stored["threads"]["#agents"]["app-1"]["channel"] == fake_slack.default_channel_id


async def test_concurrent_first_events_of_a_session_make_one_thread(
    fake_slack: FakeSlack, make_bot: MakeNotifier
) -> None:
    notifier = make_bot()

    async with anyio.create_task_group() as group:
        for n in range(5):
            group.start_soon(notifier.notify, make_event("app-1", f"event {n}"))

    parents = fake_slack.parents()
    assert len(parents) == 1
    assert len(fake_slack.replies(parents[0].ts)) == 4


async def test_urgent_replies_are_broadcast_to_the_channel(fake_slack: FakeSlack, make_bot: MakeNotifier) -> None:
    notifier = make_bot()
    await notifier.notify(make_event("app-1", "spawned", priority=EventPriority.INFO))
    await notifier.notify(make_event("app-1", "stuck", priority=EventPriority.URGENT))
    await notifier.notify(make_event("app-1", "working again", priority=EventPriority.INFO))

    _, urgent, info = fake_slack.messages
    assert urgent.is_reply
    assert urgent.reply_broadcast
    assert info.is_reply
    assert not info.reply_broadcast


async def test_broadcast_can_be_switched_off(fake_slack: FakeSlack, make_bot: MakeNotifier) -> None:
    notifier = make_bot(broadcast_urgent=False)
    await notifier.notify(make_event("app-1", "spawned"))
    await notifier.notify(make_event("app-1", "stuck", priority=EventPriority.URGENT))

    assert not fake_slack.messages[1].reply_broadcast


async def test_without_threads_every_event_is_top_level(fake_slack: FakeSlack, make_bot: MakeNotifier) -> None:
    notifier = make_bot(thread_per_session=False)
    await notifier.notify(make_event("app-1", "one"))
    await notifier.notify(make_event("app-1", "two"))

    assert [m.thread_ts for m in fake_slack.messages] == [None, None]


async def test_post_returns_the_ts_and_replies_in_the_sessions_thread(
    fake_slack: FakeSlack, make_bot: MakeNotifier
) -> None:
    notifier = make_bot()
    await notifier.notify(make_event("app-1", "spawned"))

    in_thread = await notifier.post("a note about app-1", NotifyContext(session_id="app-1", project_id="app"))
    top_level = await notifier.post("all sessions are done")

    parent, note, summary = fake_slack.messages
    assert in_thread == note.ts
    assert note.thread_ts == parent.ts
    assert top_level == summary.ts
    assert summary.thread_ts is None


async def test_post_to_another_channel_is_not_threaded(fake_slack: FakeSlack, make_bot: MakeNotifier) -> None:
    releases = fake_slack.add_channel("releases")
    notifier = make_bot()
    await notifier.notify(make_event("app-1", "spawned"))

    ts = await notifier.post("shipped", NotifyContext(session_id="app-1", channel="#releases"))

    message = fake_slack.messages[-1]
    assert (message.ts, message.channel, message.thread_ts) == (ts, releases, None)


async def test_a_vanished_thread_starts_a_new_one(fake_slack: FakeSlack, make_bot: MakeNotifier) -> None:
    notifier = make_bot()
    await notifier.notify(make_event("app-1", "first"))
    fake_slack.fail_next("thread_not_found")

    await notifier.notify(make_event("app-1", "second"))
    await notifier.notify(make_event("app-1", "third"))

    old, new, reply = fake_slack.messages
    assert new.thread_ts is None
    assert new.ts != old.ts
    assert reply.thread_ts == new.ts


async def test_an_unreadable_state_file_is_ignored_and_replaced(
    fake_slack: FakeSlack, make_bot: MakeNotifier, state_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state_file.parent.mkdir(parents=True)
    state_file.write_text("{not json", encoding="utf-8")
    notifier = make_bot()

    with caplog.at_level(logging.WARNING):
        await notifier.notify(make_event("app-1", "first"))
    await notifier.notify(make_event("app-1", "second"))

    assert "unreadable Slack thread file" in caplog.text
    parent, reply = fake_slack.messages
    assert reply.thread_ts == parent.ts
    assert json.loads(state_file.read_text(encoding="utf-8"))["threads"]["#agents"]["app-1"]["ts"] == parent.ts


async def test_the_state_file_defaults_to_the_ao_state_dir(
    fake_slack: FakeSlack, make_bot: MakeNotifier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AO_STATE_DIR", str(tmp_path / "ao-state"))
    notifier = make_bot(state_file=None)

    await notifier.notify(make_event("app-1", "first"))

    assert notifier.state_file == str(tmp_path / "ao-state" / "slack-threads.json")
    assert "app-1" in json.loads((tmp_path / "ao-state" / "slack-threads.json").read_text())["threads"]["#agents"]


async def test_webhook_mode_never_threads_and_post_returns_none(
    fake_slack: FakeSlack, make_webhook: MakeNotifier, state_file: Path
) -> None:
    notifier = make_webhook()
    await notifier.notify(make_event("app-1", "first"))
    await notifier.notify(make_event("app-1", "second"))
    assert await notifier.post("hello", NotifyContext(session_id="app-1")) is None

    assert [(m.via, m.thread_ts) for m in fake_slack.messages] == [("webhook", None)] * 3
    assert not state_file.exists()


async def test_post_to_an_explicit_channel_needs_no_configured_channel(
    fake_slack: FakeSlack, make_bot: MakeNotifier
) -> None:
    releases = fake_slack.add_channel("releases")

    ts = await make_bot(channel=None).post("shipped", NotifyContext(channel="#releases"))

    [message] = fake_slack.messages
    assert (message.ts, message.channel) == (ts, releases)


async def test_an_unwritable_state_file_does_not_stop_delivery(
    fake_slack: FakeSlack, make_bot: MakeNotifier, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("", encoding="utf-8")
    notifier = make_bot(state_file=blocker / "slack-threads.json")

    with caplog.at_level(logging.WARNING):
        await notifier.notify(make_event("app-1", "first"))
        await notifier.notify(make_event("app-1", "second"))

    assert [m.text is not None for m in fake_slack.messages] == [True, True]
    assert "cannot update the Slack thread file" in caplog.text
