"""Titles, bodies and urgency of desktop notifications."""

from __future__ import annotations

import pytest
from ao_core.models import EventPriority, EventType, NotifyAction, OrchestratorEvent
from ao_notifier_desktop._text import EVENT_PHRASES, event_title, render_body, urgency_of


def _event(event_type: EventType, priority: EventPriority, session_id: str = "my-app-3") -> OrchestratorEvent:
    return OrchestratorEvent(type=event_type, priority=priority, session_id=session_id, project_id="p", message="m")


def test_every_event_type_has_a_phrase() -> None:
    assert set(EVENT_PHRASES) == set(EventType)


@pytest.mark.parametrize(
    ("event_type", "priority", "title"),
    [
        (EventType.SESSION_NEEDS_INPUT, EventPriority.URGENT, "URGENT · my-app-3: needs input"),
        (EventType.SESSION_STUCK, EventPriority.URGENT, "URGENT · my-app-3: stuck"),
        (EventType.CI_FAILING, EventPriority.WARNING, "ao · my-app-3: CI failing"),
        (EventType.MERGE_READY, EventPriority.ACTION, "ao · my-app-3: ready to merge"),
        (EventType.SUMMARY_ALL_COMPLETE, EventPriority.INFO, "ao · my-app-3: all sessions complete"),
        # the priority, not the type, decides URGENT: an escalated CI failure is urgent
        (EventType.CI_FAILING, EventPriority.URGENT, "URGENT · my-app-3: CI failing"),
    ],
)
def test_title_names_the_session_and_what_happened(event_type: EventType, priority: EventPriority, title: str) -> None:
    assert event_title(_event(event_type, priority), "ao") == title


def test_title_drops_control_characters() -> None:
    event = _event(EventType.CI_FAILING, EventPriority.INFO, session_id="s\x1b[31m-1")
    assert event_title(event, "ao") == "ao · s[31m-1: CI failing"


def test_urgency_is_critical_only_for_urgent_events() -> None:
    assert {p: urgency_of(p) for p in EventPriority} == {
        EventPriority.URGENT: 2,
        EventPriority.ACTION: 1,
        EventPriority.WARNING: 1,
        EventPriority.INFO: 1,
    }


def test_plain_body_lists_pr_and_actions() -> None:
    actions = [NotifyAction(label="Open", url="https://x.test/1"), NotifyAction(label="Kill", callback_endpoint="/k")]
    assert render_body("msg", "https://x.test/1", actions) == (
        "msg\nPR: https://x.test/1\nActions:\n• Open: https://x.test/1\n• Kill"
    )


def test_markup_body_escapes_text_and_quotes_in_links() -> None:
    actions = [NotifyAction(label="<Open & go>", url='https://x.test/?a=1&b="2"')]
    body = render_body("a < b", None, actions, markup=True, links=True)
    assert body == 'a &lt; b\nActions:\n• <a href="https://x.test/?a=1&amp;b=&quot;2&quot;">&lt;Open &amp; go&gt;</a>'


def test_links_need_markup() -> None:
    assert render_body("a < b", "https://x.test/1", markup=False, links=True) == "a < b\nPR: https://x.test/1"
