"""What an event looks like in Slack: header, escaped message, facts, PR link, CI status, buttons."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from ao_core.models import EventPriority, NotifyAction, NotifyContext
from ao_core.testing import make_event
from ao_notifier_slack import SlackNotifier
from ao_testing.fakes.slack import FakeSlack

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

MakeNotifier = Callable[..., SlackNotifier]


def _blocks_of(fake: FakeSlack, kind: str) -> list[dict[str, Any]]:
    [message] = fake.messages
    return [b for b in message.blocks or [] if b["type"] == kind]


def _fields(fake: FakeSlack) -> dict[str, str]:
    [section] = [b for b in _blocks_of(fake, "section") if "fields" in b]
    return dict(f["text"].split("\n", 1) for f in section["fields"])


@pytest.mark.parametrize(
    ("priority", "emoji"),
    [
        (EventPriority.URGENT, ":rotating_light:"),
        (EventPriority.ACTION, ":point_right:"),
        (EventPriority.WARNING, ":warning:"),
        (EventPriority.INFO, ":information_source:"),
    ],
)
async def test_header_has_priority_emoji_type_and_session(
    fake_slack: FakeSlack, make_bot: MakeNotifier, priority: EventPriority, emoji: str
) -> None:
    await make_bot().notify(make_event("session.stuck", session_id="app-7", priority=priority))

    [header] = _blocks_of(fake_slack, "header")
    assert header["text"] == {"type": "plain_text", "text": f"{emoji} session.stuck — app-7", "emoji": True}
    assert (fake_slack.messages[0].text or "").startswith(f"{emoji} session.stuck — app-7: ")


async def test_message_is_escaped_for_mrkdwn(fake_slack: FakeSlack, make_bot: MakeNotifier) -> None:
    await make_bot().notify(make_event(message="a < b && c > d <!channel>"))

    message_section = _blocks_of(fake_slack, "section")[0]
    assert message_section["text"] == {"type": "mrkdwn", "text": "a &lt; b &amp;&amp; c &gt; d &lt;!channel&gt;"}
    assert (fake_slack.messages[0].text or "").endswith(": a &lt; b &amp;&amp; c &gt; d &lt;!channel&gt;")


async def test_facts_include_priority_session_project_time_pr_and_ci(
    fake_slack: FakeSlack, make_bot: MakeNotifier
) -> None:
    when = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    event = make_event(
        "ci.failing",
        priority="warning",
        timestamp=when,
        data={"prUrl": "https://github.com/acme/app/pull/12", "ciStatus": "failing"},
    )

    await make_bot().notify(event)

    fields = _fields(fake_slack)
    assert fields["*Priority*"] == "warning"
    assert fields["*Session*"] == "`app-1`"
    assert fields["*Project*"] == "app"
    assert fields["*Time*"] == f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|{when.isoformat()}>"
    assert fields["*Pull request*"] == "<https://github.com/acme/app/pull/12|acme/app#12>"
    assert fields["*CI*"] == "failing"


async def test_no_pr_or_ci_facts_without_data_and_unsafe_urls_are_dropped(
    fake_slack: FakeSlack, make_bot: MakeNotifier
) -> None:
    await make_bot().notify(make_event(data={"prUrl": "javascript:alert(1)", "ciStatus": 3}))

    assert set(_fields(fake_slack)) == {"*Priority*", "*Session*", "*Project*", "*Time*"}


async def test_url_actions_become_link_buttons_and_others_are_named(
    fake_slack: FakeSlack, make_bot: MakeNotifier
) -> None:
    actions = [
        NotifyAction(label="Open pull request", url="https://github.com/acme/app/pull/12"),
        NotifyAction(label="Open dashboard", url="http://127.0.0.1:3000/sessions/app-1"),
        NotifyAction(label="Kill session", callback_endpoint="/api/sessions/app-1/kill"),
    ]

    await make_bot().notify_with_actions(make_event(), actions)

    [actions_block] = _blocks_of(fake_slack, "actions")
    assert [(b["text"]["text"], b["url"]) for b in actions_block["elements"]] == [
        ("Open pull request", "https://github.com/acme/app/pull/12"),
        ("Open dashboard", "http://127.0.0.1:3000/sessions/app-1"),
    ]
    assert len({b["action_id"] for b in actions_block["elements"]}) == 2
    [context] = _blocks_of(fake_slack, "context")
    assert "Kill session" in context["elements"][0]["text"]


async def test_long_texts_are_cut_to_what_slack_accepts(fake_slack: FakeSlack, make_bot: MakeNotifier) -> None:
    # The fake refuses blocks over Block Kit's limits, as Slack does (invalid_blocks).
    await make_bot().notify_with_actions(
        make_event(session_id="s" * 200, message="x" * 5000),
        [NotifyAction(label="L" * 100, url="https://example.test/")],
    )

    [header] = _blocks_of(fake_slack, "header")
    assert len(header["text"]["text"]) == 150
    assert len(_blocks_of(fake_slack, "section")[0]["text"]["text"]) == 3000


async def test_post_shows_its_context(fake_slack: FakeSlack, make_bot: MakeNotifier) -> None:
    await make_bot().post(
        "Merged <3", NotifyContext(session_id="app-1", project_id="app", pr_url="https://github.com/a/b/pull/2")
    )

    [message] = fake_slack.messages
    assert message.text == "Merged &lt;3"
    assert message.blocks is not None
    assert message.blocks[0]["text"]["text"] == "Merged &lt;3"
    assert (
        message.blocks[1]["elements"][0]["text"]
        == "Session `app-1` | Project app | <https://github.com/a/b/pull/2|a/b#2>"
    )


async def test_webhook_messages_carry_the_same_blocks(fake_slack: FakeSlack, make_webhook: MakeNotifier) -> None:
    await make_webhook(username="ao", icon_emoji=":robot_face:").notify(
        make_event(data={"prUrl": "https://github.com/acme/app/pull/12"})
    )

    [message] = fake_slack.messages
    assert message.via == "webhook"
    assert [b["type"] for b in message.blocks or []] == ["header", "section", "section"]
    assert (message.params["username"], message.params["icon_emoji"]) == ("ao", ":robot_face:")
