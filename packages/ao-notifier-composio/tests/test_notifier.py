"""The composio notifier drives the real SDK: what reaches Composio, and how refusals are reported."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from ao_core.errors import NotifyError
from ao_core.models import NotifyAction, NotifyContext
from ao_core.testing import make_event
from ao_notifier_composio import ComposioNotifier, ComposioNotifierConfig, create
from ao_testing.fakes.composio import FakeComposio

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

MakeNotifier = Callable[..., ComposioNotifier]

EVENT = make_event(
    "ci.failing",
    session_id="app-1",
    message="CI is failing on feat/login",
    priority="urgent",
    data={"prUrl": "https://github.com/acme/app/pull/12"},
)
EVENT_TEXT = "\N{POLICE CARS REVOLVING LIGHT} *ci.failing* — app-1\nCI is failing on feat/login\nPR: https://github.com/acme/app/pull/12"


async def test_the_fake_receives_the_sdks_real_request_for_a_slack_message(
    fake_composio: FakeComposio, make_notifier: MakeNotifier
) -> None:
    await make_notifier().notify(EVENT)

    schema, execute = fake_composio.requests
    assert (schema.method, schema.path, schema.status) == ("GET", "/api/v3.1/tools/SLACK_SEND_MESSAGE", 200)
    assert (execute.method, execute.path, execute.status) == ("POST", "/api/v3.1/tools/execute/SLACK_SEND_MESSAGE", 200)
    assert execute.headers["x-api-key"] == fake_composio.api_key
    assert execute.headers["content-type"] == "application/json"
    assert execute.body == {
        "user_id": "default",
        "version": "latest",
        "arguments": {"channel": "C0AGENTS", "text": EVENT_TEXT},
    }
    [execution] = fake_composio.executions
    assert (execution.slug, execution.toolkit, execution.successful) == ("SLACK_SEND_MESSAGE", "slack", True)


async def test_events_without_a_pr_have_two_lines(fake_composio: FakeComposio, make_notifier: MakeNotifier) -> None:
    await make_notifier(channel_id=None, channel_name="#agents").notify(
        make_event("session.stuck", session_id="app-2", message="no output for 10 minutes", priority="warning")
    )

    [execution] = fake_composio.executions
    assert execution.arguments == {
        "channel": "#agents",
        "text": "\N{WARNING SIGN}\N{VARIATION SELECTOR-16} *session.stuck* — app-2\nno output for 10 minutes",
    }


async def test_discord_gets_channel_id_and_content(fake_composio: FakeComposio, make_notifier: MakeNotifier) -> None:
    await make_notifier(default_app="discord", channel_id="112233445566778899").notify(EVENT)

    [execution] = fake_composio.executions
    assert execution.slug == "DISCORDBOT_CREATE_MESSAGE"
    assert execution.arguments == {"channel_id": "112233445566778899", "content": EVENT_TEXT}


async def test_gmail_gets_recipient_subject_and_body(fake_composio: FakeComposio, make_notifier: MakeNotifier) -> None:
    await make_notifier(default_app="gmail", channel_id=None, email_to="lead@example.test").notify(EVENT)

    [execution] = fake_composio.executions
    assert execution.slug == "GMAIL_SEND_EMAIL"
    assert execution.arguments == {
        "recipient_email": "lead@example.test",
        "subject": "Agent Orchestrator Notification",
        "body": EVENT_TEXT,
    }


async def test_gmail_without_a_recipient_says_to_set_email_to(
    fake_composio: FakeComposio, make_notifier: MakeNotifier
) -> None:
    with pytest.raises(NotifyError, match="emailTo") as caught:
        await make_notifier(default_app="gmail").notify(EVENT)

    assert caught.value.code == "not_configured"
    assert fake_composio.requests == []


async def test_slack_without_a_channel_says_to_set_one(
    fake_composio: FakeComposio, make_notifier: MakeNotifier
) -> None:
    with pytest.raises(NotifyError, match="channelId"):
        await make_notifier(channel_id=None).notify(EVENT)


async def test_a_missing_api_key_says_how_to_set_it(fake_composio: FakeComposio) -> None:
    notifier = create(ComposioNotifierConfig(base_url=fake_composio.url, channel_id="C1"))

    with pytest.raises(NotifyError, match=r"apiKey: \$\{COMPOSIO_API_KEY\}.*export COMPOSIO_API_KEY") as caught:
        await notifier.notify(EVENT)

    assert caught.value.code == "not_configured"
    assert fake_composio.requests == []


async def test_the_api_key_falls_back_to_the_environment(
    fake_composio: FakeComposio, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPOSIO_API_KEY", fake_composio.api_key)
    monkeypatch.setenv("COMPOSIO_BASE_URL", fake_composio.url)  # the SDK's own variable works too

    await create(ComposioNotifierConfig(channel_id="C1")).notify(EVENT)

    assert [e.slug for e in fake_composio.executions] == ["SLACK_SEND_MESSAGE"]


async def test_a_bad_key_is_a_401_notify_error_without_the_key(fake_composio: FakeComposio) -> None:
    secret = "ak_this_is_not_the_key_0001"
    notifier = create(ComposioNotifierConfig(api_key=secret, base_url=fake_composio.url, channel_id="C1"))

    with pytest.raises(NotifyError) as caught:
        await notifier.notify(EVENT)

    error = caught.value
    assert error.code == "Auth_InvalidApiKey"
    assert "Composio rejected the API key (Invalid API key)" in error.reason
    assert "COMPOSIO_API_KEY" in error.reason
    assert secret not in f"{error} {error!r} {error.reason}"
    assert [r.status for r in fake_composio.requests] == [401]
    assert fake_composio.executions == []


async def test_a_user_without_a_connected_account_is_told_to_connect(
    fake_composio: FakeComposio, make_notifier: MakeNotifier
) -> None:
    fake_composio.disconnect("slack")

    with pytest.raises(NotifyError) as caught:
        await make_notifier().notify(EVENT)

    assert caught.value.code == "ConnectedAccount_NotFound"
    assert "No connected account found for this user and toolkit" in caught.value.reason
    assert "connect slack for user 'default'" in caught.value.reason


async def test_user_id_and_connected_account_are_sent(fake_composio: FakeComposio, make_notifier: MakeNotifier) -> None:
    account = fake_composio.connect("slack", user_id="alice")

    await make_notifier(user_id="alice").notify(EVENT)
    await make_notifier(user_id="alice", connected_account_id=account).notify(EVENT)

    first, second = fake_composio.executions
    assert (first.user_id, first.connected_account_id) == ("alice", None)
    assert (second.user_id, second.connected_account_id) == ("alice", account)


async def test_a_pinned_toolkit_version_is_sent(fake_composio: FakeComposio, make_notifier: MakeNotifier) -> None:
    await make_notifier(toolkit_version="20250901_00").notify(EVENT)

    assert fake_composio.executions[0].version == "20250901_00"


async def test_a_tool_that_runs_but_fails_is_execution_failed(
    fake_composio: FakeComposio, make_notifier: MakeNotifier
) -> None:
    fake_composio.fail_tool("SLACK_SEND_MESSAGE", "channel_not_found")

    with pytest.raises(NotifyError, match="SLACK_SEND_MESSAGE ran but failed: channel_not_found") as caught:
        await make_notifier().notify(EVENT)

    assert caught.value.code == "execution_failed"


async def test_an_unknown_tool_suggests_tool_slug(fake_composio: FakeComposio, make_notifier: MakeNotifier) -> None:
    with pytest.raises(NotifyError, match="set `toolSlug`") as caught:
        await make_notifier(tool_slug="SLACK_SENDS_A_MESSAGE_TO_A_SLACK_CHANNEL").notify(EVENT)

    assert caught.value.code == "Tool_ToolNotFound"


async def test_arguments_the_tool_does_not_take_are_reported(
    fake_composio: FakeComposio, make_notifier: MakeNotifier
) -> None:
    # GMAIL_SEND_EMAIL does not take Slack's arguments: the service's validation errors are passed on.
    with pytest.raises(NotifyError, match=r"Unknown argument 'channel'") as caught:
        await make_notifier(tool_slug="GMAIL_SEND_EMAIL").notify(EVENT)

    assert caught.value.code == "ActionExecute_InvalidArguments"


async def test_a_failed_execution_is_not_retried(fake_composio: FakeComposio, make_notifier: MakeNotifier) -> None:
    # A retried execution could send the message twice: the SDK must not retry it, even on a 503.
    fake_composio.fail_next(503, "upstream unavailable", error_slug="Service_Unavailable", route="execute")

    with pytest.raises(NotifyError, match="upstream unavailable") as caught:
        await make_notifier().notify(EVENT)

    assert caught.value.code == "Service_Unavailable"
    assert [(r.method, r.status) for r in fake_composio.requests] == [("GET", 200), ("POST", 503)]


async def test_reading_the_tools_schema_is_retried(fake_composio: FakeComposio, make_notifier: MakeNotifier) -> None:
    fake_composio.fail_next(503, "try again", route="retrieve")

    await make_notifier().notify(EVENT)

    assert [(r.method, r.status) for r in fake_composio.requests] == [("GET", 503), ("GET", 200), ("POST", 200)]


async def test_an_unreachable_service_is_a_notify_error(make_notifier: MakeNotifier) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    with pytest.raises(NotifyError, match=r"cannot reach http://127\.0\.0\.1") as caught:
        await make_notifier(base_url=f"http://127.0.0.1:{port}").notify(EVENT)

    assert caught.value.code == "unreachable"


async def test_actions_are_appended_as_lines(fake_composio: FakeComposio, make_notifier: MakeNotifier) -> None:
    actions = [
        NotifyAction(label="Open pull request", url="https://github.com/acme/app/pull/12"),
        NotifyAction(label="Kill session", callback_endpoint="/api/sessions/app-1/kill"),
    ]

    await make_notifier().notify_with_actions(EVENT, actions)

    text = fake_composio.executions[0].arguments["text"]
    assert text == f"{EVENT_TEXT}\nOpen pull request: https://github.com/acme/app/pull/12\nKill session"


async def test_post_sends_the_text_and_returns_the_message_id(
    fake_composio: FakeComposio, make_notifier: MakeNotifier
) -> None:
    ts = await make_notifier().post("All sessions are done", NotifyContext(pr_url="https://github.com/a/b/pull/3"))

    [execution] = fake_composio.executions
    assert execution.arguments["text"] == "All sessions are done\nPR: https://github.com/a/b/pull/3"
    [_execute] = [r for r in fake_composio.requests if r.method == "POST"]
    assert isinstance(ts, str)
    assert ts  # the Slack tool reports the message's ts


async def test_no_telemetry_leaves_the_process(fake_composio: FakeComposio, make_notifier: MakeNotifier) -> None:
    from composio.core.models import _telemetry

    await make_notifier().notify(EVENT)
    await make_notifier().post("again")

    # The SDK starts a background thread that posts to its telemetry host on the first traced call.
    assert _telemetry._thread is None
    assert {r.path.split("/")[1] for r in fake_composio.requests} == {"api"}


async def test_any_text_reaches_discord_intact(fake_composio: FakeComposio, make_notifier: MakeNotifier) -> None:
    message = 'quotes " and \\ backslashes, émoji ✓, <b>tags</b> & <!channel>, a\nnewline'

    await make_notifier(default_app="discord", channel_id="1").notify(make_event(message=message))

    assert fake_composio.executions[0].arguments["content"].endswith(f"\n{message}")


async def test_slack_text_is_escaped_for_mrkdwn(fake_composio: FakeComposio, make_notifier: MakeNotifier) -> None:
    await make_notifier().notify(make_event(message="a < b & <!channel>"))

    assert fake_composio.executions[0].arguments["text"].endswith("\na &lt; b &amp; &lt;!channel&gt;")
