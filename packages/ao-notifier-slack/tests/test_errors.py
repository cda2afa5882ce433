"""Slack's refusals become clear NotifyErrors with Slack's code; 429s are retried after Retry-After."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from ao_core.errors import NotifyError
from ao_core.models import NotifyContext
from ao_core.testing import make_event
from ao_notifier_slack import SlackNotifier, SlackNotifierConfig, create
from ao_testing.fakes.slack import FakeSlack

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

MakeNotifier = Callable[..., SlackNotifier]


def _post_calls(fake: FakeSlack) -> list[int]:
    return [r.status for r in fake.requests if r.api_method == "chat.postMessage"]


async def test_a_429_with_retry_after_is_retried_once_and_delivered(
    fake_slack: FakeSlack, make_bot: MakeNotifier
) -> None:
    fake_slack.rate_limit(1, retry_after=1, target="api")
    event = make_event("ci.failing", message="delivered after the rate limit")

    await make_bot().notify(event)

    assert _post_calls(fake_slack) == [429, 200]
    [message] = fake_slack.messages
    assert "delivered after the rate limit" in (message.text or "")


async def test_a_webhook_429_is_retried_once_and_delivered(fake_slack: FakeSlack, make_webhook: MakeNotifier) -> None:
    fake_slack.rate_limit(1, retry_after=1, target="webhook")

    await make_webhook().notify(make_event(message="through the webhook"))

    assert [r.status for r in fake_slack.requests] == [429, 200]
    assert len(fake_slack.messages) == 1


async def test_rate_limiting_that_outlasts_the_retries_is_a_notify_error(
    fake_slack: FakeSlack, make_bot: MakeNotifier
) -> None:
    fake_slack.rate_limit(5, retry_after=1, target="api")

    with pytest.raises(NotifyError) as caught:
        await make_bot(max_rate_limit_retries=0).notify(make_event())

    assert caught.value.code == "ratelimited"
    assert "Retry-After: 1 s" in caught.value.reason
    assert _post_calls(fake_slack) == [429]
    assert fake_slack.messages == []


async def test_a_retry_after_longer_than_allowed_fails_without_waiting(
    fake_slack: FakeSlack, make_bot: MakeNotifier
) -> None:
    fake_slack.rate_limit(1, retry_after=120, target="api")

    with pytest.raises(NotifyError, match="longer than maxRetryAfterS=60") as caught:
        await make_bot().notify(make_event())

    assert caught.value.code == "ratelimited"
    assert _post_calls(fake_slack) == [429]


async def test_channel_not_found_is_a_clear_notify_error(fake_slack: FakeSlack, make_bot: MakeNotifier) -> None:
    with pytest.raises(NotifyError) as caught:
        await make_bot(channel="#no-such-channel").notify(make_event())

    error = caught.value
    assert error.code == "channel_not_found"
    assert error.notifier == "slack"
    assert "'#no-such-channel'" in error.reason
    assert "invite the bot" in error.reason
    assert str(error).endswith("[channel_not_found]")
    assert fake_slack.token not in str(error)


async def test_a_wrong_token_is_invalid_auth_and_never_shown(fake_slack: FakeSlack, make_bot: MakeNotifier) -> None:
    with pytest.raises(NotifyError) as caught:
        await make_bot(token="xoxb-not-the-right-one").notify(make_event())

    assert caught.value.code == "invalid_auth"
    assert "valid bot token" in caught.value.reason
    assert "xoxb-not-the-right-one" not in f"{caught.value} {caught.value!r}"


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        ("missing_scope", "chat:write"),
        ("not_in_channel", "/invite"),
        ("is_archived", "archived"),
        ("token_revoked", "valid bot token"),
        ("some_new_error", "refused chat.postMessage"),
    ],
)
async def test_slack_error_codes_carry_a_hint(
    fake_slack: FakeSlack, make_bot: MakeNotifier, code: str, hint: str
) -> None:
    fake_slack.fail_next(code)

    with pytest.raises(NotifyError, match=hint) as caught:
        await make_bot().notify(make_event())

    assert caught.value.code == code


async def test_an_unreachable_api_is_a_notify_error(make_bot: MakeNotifier) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    with pytest.raises(NotifyError, match=r"cannot reach the Slack API at 127\.0\.0\.1") as caught:
        await make_bot(base_url=f"http://127.0.0.1:{port}/api/").notify(make_event())

    assert caught.value.code == "unreachable"


async def test_a_removed_webhook_is_no_service_and_the_url_is_never_shown(
    fake_slack: FakeSlack, make_webhook: MakeNotifier
) -> None:
    secret = "zZzSecretPartOfTheWebhook0"
    url = f"{fake_slack.url}/services/T0FAKETEAM/B0GONE/{secret}"

    with pytest.raises(NotifyError) as caught:
        await make_webhook(url).notify(make_event())

    assert caught.value.code == "no_service"
    assert "update `webhookUrl`" in caught.value.reason
    assert secret not in f"{caught.value} {caught.value!r}"


async def test_an_unreachable_webhook_never_shows_the_url(make_webhook: MakeNotifier) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    secret = "zZzSecretPartOfTheWebhook1"

    with pytest.raises(NotifyError) as caught:
        await make_webhook(f"http://127.0.0.1:{port}/services/T1/B1/{secret}").notify(make_event())

    assert caught.value.code == "unreachable"
    assert secret not in f"{caught.value} {caught.value!r}"


async def test_the_webhook_url_never_reaches_the_logs(
    fake_slack: FakeSlack, make_webhook: MakeNotifier, caplog: pytest.LogCaptureFixture
) -> None:
    url = fake_slack.add_webhook()
    fake_slack.rate_limit(1, retry_after=1, target="webhook")  # slack-sdk logs retries with the URL at INFO

    with caplog.at_level("DEBUG"):
        await make_webhook(url).notify(make_event())

    assert url.rsplit("/", 1)[-1] not in caplog.text


async def test_without_a_destination_notify_says_how_to_configure(tmp_path: Path) -> None:
    notifier = create(SlackNotifierConfig(state_file=tmp_path / "t.json"))

    with pytest.raises(NotifyError, match=r"SLACK_BOT_TOKEN.*SLACK_WEBHOOK_URL") as caught:
        await notifier.notify(make_event())

    assert caught.value.code == "not_configured"


async def test_bot_mode_without_a_channel_says_so(fake_slack: FakeSlack, tmp_path: Path) -> None:
    notifier = create(SlackNotifierConfig(token=fake_slack.token, base_url=fake_slack.api_url))

    with pytest.raises(NotifyError, match="needs a channel"):
        await notifier.notify(make_event())


async def test_posting_to_another_channel_needs_bot_mode(make_webhook: MakeNotifier) -> None:
    with pytest.raises(NotifyError, match="needs bot mode"):
        await make_webhook().post("hello", NotifyContext(channel="#elsewhere"))
