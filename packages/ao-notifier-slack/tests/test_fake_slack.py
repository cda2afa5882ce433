"""The fake Slack answers the real slack-sdk clients the way Slack does (the ground the other tests stand on)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

import pytest
from ao_testing.fakes.slack import FakeSlack
from slack_sdk.errors import SlackApiError
from slack_sdk.web import WebClient
from slack_sdk.webhook import WebhookClient

pytestmark = pytest.mark.timeout(30)


def _client(fake: FakeSlack, token: str | None = None) -> WebClient:
    return WebClient(token=token or fake.token, base_url=fake.api_url, retry_handlers=[])


def test_auth_test_is_form_encoded_and_answers_the_bot(fake_slack: FakeSlack) -> None:
    response = _client(fake_slack).auth_test()

    assert response["ok"] is True
    assert response["user_id"] == "U0FAKEBOT"
    [request] = fake_slack.requests
    assert request.api_method == "auth.test"
    assert request.content_type.startswith("application/x-www-form-urlencoded")
    assert request.authorization == f"Bearer {fake_slack.token}"


def test_a_wrong_or_missing_token_is_refused_with_http_200(fake_slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as wrong:
        _client(fake_slack, "xoxb-wrong").chat_postMessage(channel="#agents", text="hi")
    assert (wrong.value.response.status_code, wrong.value.response["error"]) == (200, "invalid_auth")

    request = urllib.request.Request(f"{fake_slack.api_url}auth.test", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert json.loads(answer.read()) == {"ok": False, "error": "not_authed"}
    assert fake_slack.messages == []


def test_post_message_as_json_returns_ts_channel_and_message(fake_slack: FakeSlack) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    response = _client(fake_slack).chat_postMessage(channel="#agents", text="hi", blocks=blocks)

    [message] = fake_slack.messages
    assert response["ts"] == message.ts
    assert response["channel"] == fake_slack.default_channel_id == message.channel
    assert response["message"]["blocks"] == blocks
    assert message.blocks == blocks
    assert fake_slack.requests[0].content_type.startswith("application/json")


def test_post_message_as_a_form_with_blocks_as_a_json_string(fake_slack: FakeSlack) -> None:
    parent = _client(fake_slack).chat_postMessage(channel=fake_slack.default_channel_id, text="parent")
    blocks = [{"type": "section", "text": {"type": "plain_text", "text": "reply"}}]

    _client(fake_slack).api_call(
        "chat.postMessage",
        data={"channel": "agents", "thread_ts": parent["ts"], "blocks": json.dumps(blocks), "reply_broadcast": "true"},
    )

    reply = fake_slack.messages[1]
    assert (reply.thread_ts, reply.blocks, reply.reply_broadcast) == (parent["ts"], blocks, True)
    assert fake_slack.replies(parent["ts"]) == [reply]
    assert fake_slack.requests[-1].content_type.startswith("application/x-www-form-urlencoded")


_HEADER_TOO_LONG = [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"channel": "#nowhere", "text": "x"}, "channel_not_found"),
        pytest.param(
            {"channel": "#agents"},
            "no_text",
            # slack-sdk warns before it sends a message without text; sending one is the point here.
            marks=pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing:UserWarning"),
        ),
        ({"channel": "#agents", "text": "x", "blocks": _HEADER_TOO_LONG}, "invalid_blocks"),
        ({"channel": "#agents", "text": "x", "blocks": [{"type": "bogus"}]}, "invalid_blocks"),
    ],
)
def test_post_message_refusals(fake_slack: FakeSlack, kwargs: dict[str, object], error: str) -> None:
    with pytest.raises(SlackApiError) as caught:
        _client(fake_slack).chat_postMessage(**kwargs)  # type: ignore[arg-type]  # deliberately incomplete calls

    assert caught.value.response["error"] == error
    assert fake_slack.messages == []


def test_unknown_methods_are_unknown_method(fake_slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as caught:
        _client(fake_slack).api_call("conversations.nope")
    assert caught.value.response["error"] == "unknown_method"


def test_a_scripted_429_carries_retry_after(fake_slack: FakeSlack) -> None:
    fake_slack.rate_limit(1, retry_after=7)

    with pytest.raises(SlackApiError) as caught:
        _client(fake_slack).chat_postMessage(channel="#agents", text="x")

    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "7"
    assert _client(fake_slack).chat_postMessage(channel="#agents", text="x")["ok"] is True


def test_webhooks_answer_ok_and_record_the_channel(fake_slack: FakeSlack) -> None:
    releases = fake_slack.add_channel("releases")
    url = fake_slack.add_webhook("#releases")

    response = WebhookClient(url).send(text="hello", blocks=[{"type": "divider"}])

    assert (response.status_code, response.body) == (200, "ok")
    [message] = fake_slack.messages
    assert (message.channel, message.text, message.via) == (releases, "hello", "webhook")
    assert url.rsplit("/", 1)[-1] not in fake_slack.requests[0].path


def test_webhooks_accept_a_form_payload(fake_slack: FakeSlack) -> None:
    url = fake_slack.add_webhook()
    data = "payload=" + urllib.parse.quote(json.dumps({"text": "from a form"}))
    request = urllib.request.Request(
        url, data=data.encode(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )

    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.read() == b"ok"
    assert fake_slack.messages[0].text == "from a form"


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [(b"not json", 400, "invalid_payload"), (b'{"blocks": []}', 400, "no_text")],
)
def test_webhook_refusals(fake_slack: FakeSlack, body: bytes, status: int, text: str) -> None:
    request = urllib.request.Request(fake_slack.add_webhook(), data=body, headers={"Content-Type": "application/json"})

    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)

    assert (caught.value.code, caught.value.read().decode()) == (status, text)


def test_an_unknown_webhook_is_404_no_service(fake_slack: FakeSlack) -> None:
    response = WebhookClient(f"{fake_slack.url}/services/T0/B0/nope").send(text="x")

    assert (response.status_code, response.body) == (404, "no_service")
    assert fake_slack.messages == []
