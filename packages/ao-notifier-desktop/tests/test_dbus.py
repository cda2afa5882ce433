"""The desktop notifier over a real D-Bus session bus, checked by the recording notification server."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest
from ao_core.errors import NotifyError
from ao_core.interfaces import SupportsActions
from ao_core.models import EventPriority, EventType, NotifyAction, NotifyContext, OrchestratorEvent
from ao_core.testing import wait_until
from ao_notifier_desktop import DesktopNotifierConfig, _notifier, create
from ao_notifier_desktop._notifier import DesktopNotifier
from ao_testing.fakes.notifications import NotificationServer

pytestmark = [pytest.mark.anyio, pytest.mark.dbus, pytest.mark.timeout(60)]

PR_URL = "https://github.com/acme/my-app/pull/12"


def _event(
    event_type: EventType = EventType.CI_FAILING,
    priority: EventPriority = EventPriority.WARNING,
    *,
    message: str = "CI is failing on the pull request",
    **data: object,
) -> OrchestratorEvent:
    return OrchestratorEvent(
        type=event_type, priority=priority, session_id="my-app-3", project_id="my-app", message=message, data=data
    )


async def test_urgent_event_arrives_with_title_body_and_critical_urgency(
    notification_server: NotificationServer,
) -> None:
    event = _event(EventType.SESSION_NEEDS_INPUT, EventPriority.URGENT, message="my-app-3 is waiting for an answer")

    await create().notify(event)

    [note] = notification_server.notifications
    assert note.app_name == "ao"
    assert note.summary == "URGENT · my-app-3: needs input"
    assert note.body == "my-app-3 is waiting for an answer"
    assert note.urgency == 2
    assert note.hints["category"] == "x-ao.session.needs_input"
    assert note.expire_timeout == -1
    assert note.replaces_id == 0
    assert note.actions == []


async def test_info_event_arrives_with_normal_urgency(notification_server: NotificationServer) -> None:
    event = _event(EventType.SUMMARY_ALL_COMPLETE, EventPriority.INFO, message="3 sessions finished")

    await create().notify(event)

    [note] = notification_server.notifications
    assert note.summary == "ao · my-app-3: all sessions complete"
    assert note.body == "3 sessions finished"
    assert note.urgency == 1


@pytest.mark.parametrize(
    ("priority", "urgency"),
    [(EventPriority.URGENT, 2), (EventPriority.ACTION, 1), (EventPriority.WARNING, 1), (EventPriority.INFO, 1)],
)
async def test_urgency_per_priority(
    notification_server: NotificationServer, priority: EventPriority, urgency: int
) -> None:
    await create().notify(_event(priority=priority))

    assert [note.urgency for note in notification_server.notifications] == [urgency]


async def test_pr_url_is_added_to_the_body(notification_server: NotificationServer) -> None:
    notification_server.capabilities = ["body"]

    await create().notify(_event(prUrl=PR_URL))

    [note] = notification_server.notifications
    assert note.summary == "ao · my-app-3: CI failing"
    assert note.body == f"CI is failing on the pull request\nPR: {PR_URL}"


async def test_pr_url_is_a_link_where_the_server_renders_links(notification_server: NotificationServer) -> None:
    notification_server.capabilities = ["body", "body-markup", "body-hyperlinks"]

    await create().notify(_event(prUrl=PR_URL))

    [note] = notification_server.notifications
    assert note.body == f'CI is failing on the pull request\nPR: <a href="{PR_URL}">{PR_URL}</a>'


async def test_markup_characters_are_escaped_only_where_the_server_renders_markup(
    notification_server: NotificationServer,
) -> None:
    message = "tests <b>failed</b> & 'x' > y"
    notifier = create()

    notification_server.capabilities = ["body", "body-markup"]
    await notifier.notify(_event(message=message))
    notification_server.capabilities = ["body"]
    await notifier.notify(_event(message=message))

    marked_up, plain = notification_server.notifications
    assert marked_up.body == "tests &lt;b&gt;failed&lt;/b&gt; &amp; 'x' &gt; y"
    assert plain.body == message


async def test_actions_are_listed_in_the_body_as_links(notification_server: NotificationServer) -> None:
    actions = [
        NotifyAction(label="Open pull request", url=PR_URL),
        NotifyAction(label="Kill session", callback_endpoint="/api/sessions/my-app-3/kill"),
    ]
    notifier = create()
    assert isinstance(notifier, SupportsActions)

    await notifier.notify_with_actions(_event(), actions)
    notification_server.capabilities = ["body"]
    await notifier.notify_with_actions(_event(), actions)

    linked, plain = notification_server.notifications
    assert linked.body == (
        f'CI is failing on the pull request\nActions:\n• <a href="{PR_URL}">Open pull request</a>\n• Kill session'
    )
    assert plain.body == f"CI is failing on the pull request\nActions:\n• Open pull request: {PR_URL}\n• Kill session"
    # no D-Bus action buttons: nothing would handle ActionInvoked once notify() returned
    assert linked.actions == plain.actions == []


async def test_app_name_and_timeout_are_configurable(notification_server: NotificationServer) -> None:
    notifier = create(DesktopNotifierConfig(app_name="ao-staging", timeout_ms=0))

    await notifier.notify(_event())

    [note] = notification_server.notifications
    assert note.app_name == "ao-staging"
    assert note.summary == "ao-staging · my-app-3: CI failing"
    assert note.expire_timeout == 0


async def test_post_shows_the_message_and_returns_the_server_id(notification_server: NotificationServer) -> None:
    notifier = create()
    assert isinstance(notifier, DesktopNotifier)

    first = await notifier.post("All sessions are done")
    second = await notifier.post("Merged", NotifyContext(session_id="my-app-3", pr_url=PR_URL))

    one, two = notification_server.notifications
    assert (first, second) == (str(one.id), str(two.id))
    assert one.summary == "ao"
    assert two.summary == "ao · my-app-3"
    assert one.urgency == two.urgency == 1
    assert "Merged" in two.body
    assert PR_URL in two.body


async def test_each_notification_asks_for_capabilities_first(notification_server: NotificationServer) -> None:
    await create().notify(_event())

    assert notification_server.calls == ["GetCapabilities", "Notify"]


async def test_concurrent_notifications_all_arrive(notification_server: NotificationServer) -> None:
    notifier = create()
    events = [_event(message=f"event {n}") for n in range(20)]

    async with anyio.create_task_group() as group:
        for event in events:
            group.start_soon(notifier.notify, event)

    notes = notification_server.notifications
    assert sorted(note.body for note in notes) == sorted(event.message for event in events)
    assert len({note.id for note in notes}) == len(events)


async def test_refusal_by_the_server_raises_notify_error_with_its_error_name(
    notification_server: NotificationServer,
) -> None:
    notification_server.fail_with("org.freedesktop.Notifications.Error.Refused", "do not disturb")

    with pytest.raises(NotifyError, match="refused the call: do not disturb") as caught:
        await create().notify(_event())

    assert caught.value.code == "org.freedesktop.Notifications.Error.Refused"
    assert caught.value.notifier == "desktop"


async def test_a_server_that_does_not_answer_raises_notify_error(
    notification_server: NotificationServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_notifier, "CALL_TIMEOUT_S", 0.3)
    notification_server.hang_for(3.0)

    started = time.monotonic()
    with pytest.raises(NotifyError, match=r"did not answer within 0.3 s \(Notify\)"):
        await create().notify(_event())

    assert time.monotonic() - started < 2.5


async def test_a_caller_timeout_returns_at_once_while_the_server_hangs(
    notification_server: NotificationServer,
) -> None:
    notification_server.hang_for(3.0)

    started = time.monotonic()
    with pytest.raises(TimeoutError), anyio.fail_after(0.3):
        await create().notify(_event())

    assert time.monotonic() - started < 1.5
    # the server still got the call; the abandoned worker thread ends when the reply comes
    await wait_until(lambda: len(notification_server.notifications) == 1, within=5)


async def test_a_bus_without_notification_server_raises_notify_error(
    dbus_session_bus: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", dbus_session_bus)

    with pytest.raises(NotifyError, match="no notification server on the D-Bus session bus") as caught:
        await create().notify(_event())

    assert caught.value.code == "org.freedesktop.DBus.Error.ServiceUnknown"


async def test_an_unreachable_bus_raises_notify_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-such-socket,guid=0123")

    with pytest.raises(NotifyError, match="cannot connect to the D-Bus session bus") as caught:
        await create().notify(_event())

    assert f"unix:path={tmp_path}/no-such-socket" in str(caught.value)
    assert "guid" not in str(caught.value)


async def test_the_bus_is_found_in_xdg_runtime_dir_without_the_variable(
    notification_server: NotificationServer, dbus_session_bus: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    socket_path = dbus_session_bus.split("unix:path=", 1)[1].split(",", 1)[0]
    runtime_dir = tmp_path / "runtime"
    runtime_dir.mkdir()
    (runtime_dir / "bus").symlink_to(socket_path)
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime_dir))

    await create().notify(_event())

    assert len(notification_server.notifications) == 1


async def test_backend_dbus_on_macos_uses_the_bus(notification_server: NotificationServer) -> None:
    notifier = DesktopNotifier(DesktopNotifierConfig(backend="dbus"), platform="darwin")

    await notifier.notify(_event())

    assert len(notification_server.notifications) == 1
