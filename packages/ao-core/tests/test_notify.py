"""Priority inference, routing, and isolated, bounded delivery to notifiers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import anyio
import anyio.to_thread
import pytest
from ao_core.config import OrchestratorConfig
from ao_core.models import EventPriority, EventType, NotifyAction, OrchestratorEvent
from ao_core.notify import Dispatcher, infer_priority, route
from ao_core.registry import Registry
from ao_core.store import Store
from ao_core.testing import RecordingNotifier, make_event
from ao_core.testing.plugins import PLUGIN_FILES


def make_config(tmp_path: Path, **extra: Any) -> OrchestratorConfig:
    data: dict[str, Any] = {"projects": {"app": {"path": str(tmp_path)}}}
    data.update(extra)
    return OrchestratorConfig.model_validate(data)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "ao.db") as opened:
        yield opened


@pytest.mark.parametrize(
    ("event_type", "priority"),
    [
        (EventType.SESSION_STUCK, EventPriority.URGENT),
        (EventType.SESSION_NEEDS_INPUT, EventPriority.URGENT),
        (EventType.SESSION_ERRORED, EventPriority.URGENT),
        (EventType.SUMMARY_ALL_COMPLETE, EventPriority.INFO),
        (EventType.REVIEW_APPROVED, EventPriority.ACTION),
        (EventType.MERGE_READY, EventPriority.ACTION),
        (EventType.PR_MERGED, EventPriority.ACTION),
        (EventType.MERGE_COMPLETED, EventPriority.ACTION),
        (EventType.CI_FAILING, EventPriority.WARNING),
        (EventType.CI_FIX_FAILED, EventPriority.WARNING),
        (EventType.REVIEW_CHANGES_REQUESTED, EventPriority.WARNING),
        (EventType.MERGE_CONFLICTS, EventPriority.WARNING),
        (EventType.SESSION_WORKING, EventPriority.INFO),
        (EventType.PR_CREATED, EventPriority.INFO),
        (EventType.SESSION_KILLED, EventPriority.INFO),
        (EventType.REACTION_ESCALATED, EventPriority.INFO),
    ],
)
def test_infer_priority(event_type: EventType, priority: EventPriority) -> None:
    assert infer_priority(event_type) is priority
    assert infer_priority(event_type.value) is priority


ROUTING = {"urgent": ["desk", "slack"], "action": ["desk"], "warning": ["slack"], "info": []}


@pytest.mark.parametrize(
    ("priority", "expected"),
    [
        (EventPriority.URGENT, ["desk", "slack"]),
        (EventPriority.ACTION, ["desk"]),
        (EventPriority.WARNING, ["slack"]),
        (EventPriority.INFO, []),
    ],
)
def test_route_by_priority(tmp_path: Path, priority: EventPriority, expected: list[str]) -> None:
    config = make_config(tmp_path, notificationRouting=ROUTING, defaults={"notifiers": ["fallback"]})
    assert route(config, make_event(priority=priority)) == expected


def test_unrouted_priority_goes_to_default_notifiers(tmp_path: Path) -> None:
    config = make_config(
        tmp_path, notificationRouting={"urgent": ["desk"]}, defaults={"notifiers": ["fallback", "fallback", "other"]}
    )
    assert route(config, make_event(priority="warning")) == ["fallback", "other"]
    assert route(config, make_event(priority="urgent")) == ["desk"]


def recording_config(tmp_path: Path) -> OrchestratorConfig:
    return make_config(
        tmp_path,
        notifiers={
            "hang": {"plugin": "fake", "hangSeconds": 30},
            "boom": {"plugin": "fake", "failWith": "the service answered 500"},
            "ok": {"plugin": "fake"},
            "urgent-only": {"plugin": "fake"},
        },
        notificationRouting={
            "urgent": ["urgent-only"],
            "action": ["ok"],
            "warning": ["hang", "boom", "ok"],
            "info": [],
        },
    )


def notifier(dispatcher: Dispatcher, name: str) -> RecordingNotifier:
    return cast(RecordingNotifier, dispatcher.notifier(name))


@pytest.mark.anyio
@pytest.mark.timeout(20)
async def test_hanging_and_failing_notifiers_do_not_stop_the_working_one(tmp_path: Path, store: Store) -> None:
    dispatcher = Dispatcher(
        recording_config(tmp_path), Registry(local_paths=[PLUGIN_FILES["notifier"]]), store, timeout_s=0.5
    )
    event = make_event(EventType.CI_FAILING, priority="warning", message="app-1: CI failing")
    store.record_event(event)

    started = time.monotonic()
    results = await dispatcher.deliver(event)
    elapsed = time.monotonic() - started

    assert elapsed < 0.5 + 0.4  # at most the timeout (plus scheduling), not the 30 s hang
    by_name = {r.notifier: r for r in results}
    assert [r.notifier for r in results] == ["hang", "boom", "ok"]
    assert by_name["ok"].ok
    assert not by_name["hang"].ok
    assert by_name["hang"].error == "timed out after 0.5s"
    assert by_name["hang"].duration_ms >= 450
    assert not by_name["boom"].ok
    assert "the service answered 500" in (by_name["boom"].error or "")
    assert notifier(dispatcher, "ok").messages == ["app-1: CI failing"]
    assert notifier(dispatcher, "hang").events == []

    [(_, recorded)] = store.list_events()
    assert [(r.notifier, r.ok) for r in recorded] == [("hang", False), ("boom", False), ("ok", True)]
    assert "the service answered 500" in (recorded[1].error or "")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("priority", "reached"),
    [
        ("urgent", {"urgent-only"}),
        ("action", {"ok"}),
        ("info", set()),
    ],
)
async def test_events_reach_exactly_their_routed_notifiers(
    tmp_path: Path, store: Store, priority: str, reached: set[str]
) -> None:
    dispatcher = Dispatcher(
        recording_config(tmp_path), Registry(local_paths=[PLUGIN_FILES["notifier"]]), store, timeout_s=1
    )
    event = make_event(priority=priority)
    store.record_event(event)
    await dispatcher.deliver(event)
    for name in ("ok", "urgent-only"):
        assert bool(notifier(dispatcher, name).events) == (name in reached), name


@pytest.mark.anyio
async def test_unknown_notifier_is_a_failed_delivery(tmp_path: Path, store: Store) -> None:
    config = make_config(tmp_path, defaults={"notifiers": ["nosuch"]})
    dispatcher = Dispatcher(config, Registry(local_paths=[PLUGIN_FILES["notifier"]]), store)
    event = make_event()
    store.record_event(event)
    [result] = await dispatcher.deliver(event)
    assert not result.ok
    assert "cannot create notifier 'nosuch'" in (result.error or "")
    assert "unknown notifier 'nosuch'" in (result.error or "")


@pytest.mark.anyio
async def test_actions_use_notify_with_actions(tmp_path: Path, store: Store) -> None:
    config = make_config(tmp_path, notifiers={"ok": {"plugin": "fake"}}, defaults={"notifiers": ["ok"]})
    dispatcher = Dispatcher(config, Registry(local_paths=[PLUGIN_FILES["notifier"]]), store)
    event = make_event()
    store.record_event(event)
    await dispatcher.deliver(event, actions=[NotifyAction(label="Open PR", url="https://scm.test/pr/1")])
    recorder = notifier(dispatcher, "ok")
    assert recorder.calls["notify_with_actions"] == 1
    assert recorder.actions[0][1][0].label == "Open PR"


class _BlockingNotifier:
    """A notifier that blocks a worker thread and ignores cancellation (like a sync SDK call)."""

    name = "blocking"

    def __init__(self) -> None:
        self.finished = False

    async def notify(self, event: OrchestratorEvent) -> None:
        await anyio.to_thread.run_sync(time.sleep, 1.5)
        self.finished = True


@pytest.mark.anyio
@pytest.mark.timeout(20)
async def test_background_delivery_is_bounded_even_when_the_notifier_ignores_cancellation(
    tmp_path: Path, store: Store
) -> None:
    config = make_config(tmp_path, defaults={"notifiers": ["blocking"]})
    dispatcher = Dispatcher(config, Registry(), store, timeout_s=0.3)
    blocking = _BlockingNotifier()
    dispatcher._notifiers["blocking"] = blocking  # injected: no plugin module for this test double
    event = make_event()
    store.record_event(event)
    async with dispatcher.background():
        started = time.monotonic()
        [result] = await dispatcher.deliver(event)
        assert time.monotonic() - started < 1.0
        assert result.error == "timed out after 0.3s"
    # Leaving the background context waited for the thread; the call never counted as delivered.
    assert blocking.finished
    [(_, recorded)] = store.list_events()
    assert recorded[0].error == "timed out after 0.3s"
