"""The webhook notifier against a real HTTP receiver: payload, signature, retries, and no secret ever printed."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import logging
import socket
import textwrap
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from ao_core.config import load_config
from ao_core.errors import ConfigError, NotifyError
from ao_core.interfaces import SupportsActions, SupportsPost
from ao_core.models import EventPriority, EventType, NotifyAction, NotifyContext, OrchestratorEvent
from ao_core.registry import Registry
from ao_notifier_webhook import SCHEMA, WebhookNotifierConfig, create
from ao_notifier_webhook._notifier import WebhookNotifier, display_url
from ao_testing.fakes.webhook_receiver import HANG, Reply, WebhookReceiver
from pydantic import SecretStr, ValidationError

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

PR_URL = "https://github.com/acme/my-app/pull/12"
HEADER_TOKEN = "hdr-tok-91c2e0"
SECRET = "whsec-7d1f0c9a-do-not-print"


@pytest.fixture
def signed_receiver() -> Iterator[WebhookReceiver]:
    """A receiver that verifies ``X-AO-Signature-256`` with :data:`SECRET` (bad signatures get 401)."""
    with WebhookReceiver(secret=SECRET) as receiver:
        yield receiver


def _event(priority: EventPriority = EventPriority.WARNING) -> OrchestratorEvent:
    return OrchestratorEvent(
        type=EventType.CI_FAILING,
        priority=priority,
        session_id="my-app-3",
        project_id="my-app",
        message='CI is failing: "lint" ✗',
        data={"prUrl": PR_URL, "checks": [{"name": "lint", "conclusion": "failure"}]},
    )


def _notifier(url: str, **options: Any) -> WebhookNotifier:
    options.setdefault("retry_delay_ms", 10)
    notifier = create(WebhookNotifierConfig(url=url, **options))
    assert isinstance(notifier, WebhookNotifier)
    return notifier


def _expected_signature(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# ---------------------------------------------------------------------------------------------- payload


async def test_notification_payload_follows_the_v1_schema(webhook_receiver: WebhookReceiver) -> None:
    event = _event()

    await _notifier(webhook_receiver.url).notify(event)

    [request] = webhook_receiver.requests
    assert request.method == "POST"
    assert request.path == "/hook"
    assert request.json() == {
        "schema": "ao.notification/v1",
        "type": "notification",
        "event": {
            "id": event.id,
            "type": "ci.failing",
            "priority": "warning",
            "sessionId": "my-app-3",
            "projectId": "my-app",
            "timestamp": request.json()["event"]["timestamp"],
            "message": 'CI is failing: "lint" ✗',
            "data": {"prUrl": PR_URL, "checks": [{"name": "lint", "conclusion": "failure"}]},
        },
    }
    assert datetime.fromisoformat(request.json()["event"]["timestamp"]) == event.timestamp
    assert request.header("Content-Type") == "application/json"
    assert request.header("X-AO-Event") == "notification"
    assert uuid.UUID(str(request.header("X-AO-Delivery")))
    assert str(request.header("User-Agent")).startswith("ao-notifier-webhook/")
    assert request.header("X-AO-Signature-256") is None  # no secret configured
    assert "✗".encode() in request.body  # UTF-8, not \u escapes


async def test_notification_with_actions_payload(webhook_receiver: WebhookReceiver) -> None:
    notifier = _notifier(webhook_receiver.url)
    assert isinstance(notifier, SupportsActions)
    actions = [
        NotifyAction(label="Open pull request", url=PR_URL),
        NotifyAction(label="Kill session", callback_endpoint="/api/sessions/my-app-3/kill"),
    ]

    await notifier.notify_with_actions(_event(), actions)

    [request] = webhook_receiver.requests
    payload = request.json()
    assert payload["schema"] == SCHEMA
    assert payload["type"] == "notification_with_actions"
    assert payload["event"]["sessionId"] == "my-app-3"
    assert payload["actions"] == [
        {"label": "Open pull request", "url": PR_URL, "callbackEndpoint": None},
        {"label": "Kill session", "url": None, "callbackEndpoint": "/api/sessions/my-app-3/kill"},
    ]
    assert request.header("X-AO-Event") == "notification_with_actions"


async def test_post_payload_and_returned_delivery_id(webhook_receiver: WebhookReceiver) -> None:
    notifier = _notifier(webhook_receiver.url)
    assert isinstance(notifier, SupportsPost)

    with_context = await notifier.post("All sessions are done", NotifyContext(project_id="my-app", pr_url=PR_URL))
    without = await notifier.post("plain")

    first, second = webhook_receiver.requests
    assert first.json() == {
        "schema": SCHEMA,
        "type": "message",
        "message": "All sessions are done",
        "context": {"sessionId": None, "projectId": "my-app", "prUrl": PR_URL, "channel": None},
    }
    assert second.json()["context"] is None
    assert (with_context, without) == (first.header("X-AO-Delivery"), second.header("X-AO-Delivery"))
    assert first.header("X-AO-Event") == "message"


async def test_configured_headers_are_sent(webhook_receiver: WebhookReceiver) -> None:
    headers = {
        "Authorization": SecretStr(f"Bearer {HEADER_TOKEN}"),
        "X-Team": SecretStr("platform"),
        "user-agent": SecretStr("acme-relay/2"),
    }

    await _notifier(webhook_receiver.url, headers=headers).notify(_event())

    [request] = webhook_receiver.requests
    assert request.header("Authorization") == f"Bearer {HEADER_TOKEN}"
    assert request.header("X-Team") == "platform"
    assert [value for name, value in request.headers if name.lower() == "user-agent"] == ["acme-relay/2"]


# ---------------------------------------------------------------------------------------------- signature


async def test_receiver_verifies_the_hmac_of_every_delivery(signed_receiver: WebhookReceiver) -> None:
    notifier = _notifier(signed_receiver.url, secret=SecretStr(SECRET))

    await notifier.notify(_event())
    await notifier.notify_with_actions(_event(EventPriority.URGENT), [NotifyAction(label="Open", url=PR_URL)])
    await notifier.post("digest: 3 sessions done", NotifyContext(session_id="my-app-3"))

    requests = signed_receiver.requests
    assert len(requests) == 3
    assert [r.signature_valid for r in requests] == [True, True, True]
    assert [r.status for r in requests] == [200, 200, 200]
    for request in requests:  # computed here too, over the raw bytes as received
        assert request.header("X-AO-Signature-256") == _expected_signature(request.body)


async def test_a_wrong_secret_is_refused_and_not_retried(signed_receiver: WebhookReceiver) -> None:
    notifier = _notifier(signed_receiver.url, secret=SecretStr("not-the-secret"))

    with pytest.raises(NotifyError, match="answered HTTP 401") as caught:
        await notifier.notify(_event())

    assert caught.value.code == "401"
    assert signed_receiver.attempts == 1
    assert signed_receiver.requests[0].signature_valid is False


async def test_the_signature_covers_the_exact_body(signed_receiver: WebhookReceiver) -> None:
    await _notifier(signed_receiver.url, secret=SecretStr(SECRET)).notify(_event())

    [request] = signed_receiver.requests
    tampered = request.body.replace(b"my-app-3", b"my-app-4")
    assert request.header("X-AO-Signature-256") != _expected_signature(tampered)


# ---------------------------------------------------------------------------------------------- retries


async def test_503_503_200_delivers_once_after_two_retries(signed_receiver: WebhookReceiver) -> None:
    signed_receiver.script(503, 503, 200)
    notifier = _notifier(signed_receiver.url, secret=SecretStr(SECRET), retries=2, retry_delay_ms=50)

    await notifier.notify(_event())

    requests = signed_receiver.requests
    assert signed_receiver.attempts == 3
    assert [r.status for r in requests] == [503, 503, 200]
    assert all(r.signature_valid for r in requests)
    # one delivery: the same id and the same bytes on every attempt
    assert len({r.header("X-AO-Delivery") for r in requests}) == 1
    assert len({r.body for r in requests}) == 1
    # exponential backoff: 50 ms, then 100 ms
    gaps = [later.received_at - earlier.received_at for earlier, later in itertools.pairwise(requests)]
    assert gaps[0] >= 0.045
    assert gaps[1] >= 0.095


async def test_400_is_not_retried(webhook_receiver: WebhookReceiver) -> None:
    webhook_receiver.script(Reply(400, body=b'{"error": "unknown field"}'), 200)

    with pytest.raises(NotifyError) as caught:
        await _notifier(webhook_receiver.url, retries=5).notify(_event())

    assert webhook_receiver.attempts == 1
    assert caught.value.code == "400"
    assert 'answered HTTP 400: {"error": "unknown field"} (not retried' in caught.value.reason


@pytest.mark.parametrize("status", [404, 409, 422])
async def test_other_4xx_are_not_retried(webhook_receiver: WebhookReceiver, status: int) -> None:
    webhook_receiver.script(status)

    with pytest.raises(NotifyError):
        await _notifier(webhook_receiver.url).notify(_event())

    assert webhook_receiver.attempts == 1


async def test_persistent_5xx_gives_up_after_the_retries(webhook_receiver: WebhookReceiver) -> None:
    webhook_receiver.script(500, 502, 504, 200)

    with pytest.raises(NotifyError, match=r"answered HTTP 504 \(gave up after 3 attempts\)") as caught:
        await _notifier(webhook_receiver.url, retries=2).notify(_event())

    assert caught.value.code == "504"
    assert webhook_receiver.attempts == 3


async def test_429_honours_retry_after(webhook_receiver: WebhookReceiver) -> None:
    webhook_receiver.script(Reply(429, headers={"Retry-After": "1"}), 200)

    await _notifier(webhook_receiver.url, retry_delay_ms=10).notify(_event())

    first, second = webhook_receiver.requests
    assert second.received_at - first.received_at >= 0.95
    assert second.status == 200


async def test_retry_after_is_bounded(webhook_receiver: WebhookReceiver) -> None:
    webhook_receiver.script(Reply(429, headers={"Retry-After": "3600"}), 200)

    started = time.monotonic()
    await _notifier(webhook_receiver.url, max_retry_delay_ms=200).notify(_event())

    assert webhook_receiver.attempts == 2
    assert time.monotonic() - started < 3


async def test_retry_after_as_an_http_date(webhook_receiver: WebhookReceiver) -> None:
    webhook_receiver.script(Reply(503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}), 200)

    # a date in the past means "now": the retry does not wait for the (here: 5 s) backoff
    started = time.monotonic()
    await _notifier(webhook_receiver.url, retry_delay_ms=5000).notify(_event())

    assert [r.status for r in webhook_receiver.requests] == [503, 200]
    assert time.monotonic() - started < 2.5


async def test_a_hanging_receiver_times_out_and_is_retried(webhook_receiver: WebhookReceiver) -> None:
    webhook_receiver.script(HANG, 200)

    started = time.monotonic()
    await _notifier(webhook_receiver.url, timeout_s=0.3, retries=1).notify(_event())

    assert time.monotonic() - started < 5
    assert webhook_receiver.attempts == 2
    assert webhook_receiver.requests[-1].status == 200


async def test_a_hanging_receiver_fails_with_a_timeout_after_the_retries(webhook_receiver: WebhookReceiver) -> None:
    webhook_receiver.script(HANG, HANG)

    with pytest.raises(NotifyError, match=r"request failed: ReadTimeout.*\(gave up after 2 attempts\)") as caught:
        await _notifier(webhook_receiver.url, timeout_s=0.2, retries=1).notify(_event())

    assert caught.value.code is None


async def test_connection_refused_is_retried_then_reported() -> None:
    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    with pytest.raises(NotifyError, match=r"request failed: ConnectError.*\(gave up after 3 attempts\)"):
        await _notifier(f"http://127.0.0.1:{port}/hook", retries=2).notify(_event())


async def test_redirects_are_not_followed(webhook_receiver: WebhookReceiver) -> None:
    webhook_receiver.script(Reply(302, headers={"Location": "http://127.0.0.1:9/elsewhere"}))

    with pytest.raises(NotifyError, match="redirects are not followed") as caught:
        await _notifier(webhook_receiver.url).notify(_event())

    assert caught.value.code == "302"
    assert webhook_receiver.attempts == 1


# ---------------------------------------------------------------------------------------------- secrets


def _secret_url(receiver: WebhookReceiver) -> str:
    origin = receiver.url.split("//", 1)[1].split("/", 1)[0]
    return f"http://hookuser:url-pass-5e1@{origin}/hook/path-tok-77aa?key=query-key-3b9"


URL_SECRETS = ("url-pass-5e1", "path-tok-77aa", "query-key-3b9", "hookuser")


async def test_no_secret_in_errors_or_logs(webhook_receiver: WebhookReceiver, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    # the receiver echoes the credentials back in its answers, as some error pages do
    echo = f"denied for Bearer {HEADER_TOKEN} with secret {SECRET} at path-tok-77aa?key=query-key-3b9"
    webhook_receiver.script(Reply(503, body=echo), Reply(503, body=echo), Reply(400, body=echo), 200)
    notifier = _notifier(
        _secret_url(webhook_receiver),
        headers={"Authorization": SecretStr(f"Bearer {HEADER_TOKEN}")},
        secret=SecretStr(SECRET),
        retries=3,
    )

    with pytest.raises(NotifyError) as caught:
        await notifier.notify(_event())

    assert webhook_receiver.attempts == 3
    error_text = f"{caught.value} {caught.value.reason} {caught.value!r}"
    assert "answered HTTP 400" in error_text
    assert "denied for *** with secret *** at ***" in error_text
    logged = caplog.text + " ".join(str(r.args) for r in caplog.records)
    assert "retrying" in logged  # the retries were logged...
    for secret in (HEADER_TOKEN, SECRET, *URL_SECRETS):  # ...without a secret
        assert secret not in error_text
        assert secret not in logged
    assert "http://127.0.0.1:" in error_text
    assert "/…" in error_text


async def test_no_secret_in_transport_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    notifier = _notifier(
        f"http://hookuser:url-pass-5e1@127.0.0.1:{port}/hook/path-tok-77aa?key=query-key-3b9",
        headers={"Authorization": SecretStr(f"Bearer {HEADER_TOKEN}")},
        retries=1,
    )

    with pytest.raises(NotifyError) as caught:
        await notifier.notify(_event())

    text = f"{caught.value!r} {caplog.text}"
    for secret in (HEADER_TOKEN, *URL_SECRETS):
        assert secret not in text


def test_config_repr_hides_secrets() -> None:
    config = WebhookNotifierConfig(
        url="https://u:url-pass-5e1@hooks.example.test/path-tok-77aa?key=query-key-3b9",
        headers={"Authorization": SecretStr(f"Bearer {HEADER_TOKEN}")},
        secret=SecretStr(SECRET),
    )
    text = f"{config!r} {config}"
    for secret in (HEADER_TOKEN, SECRET, "url-pass-5e1", "path-tok-77aa", "query-key-3b9"):
        assert secret not in text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.example.test/services/T0/B0/tok", "https://hooks.example.test/…"),
        ("https://user:pw@hooks.example.test:8443/x?key=1", "https://hooks.example.test:8443/…"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://[::1]:8080/?k=v", "http://[::1]:8080/…"),
    ],
)
def test_display_url_keeps_only_scheme_host_and_port(url: str, shown: str) -> None:
    assert display_url(url) == shown


# ---------------------------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"url": "ftp://hooks.example.test/x"}, "must start with http:// or https://"),
        ({"url": "https:///no-host"}, "url has no host"),
        ({"url": "https://h.test", "headers": {"X-AO-Signature-256": "forged"}}, "set by the plugin itself"),
        ({"url": "https://h.test", "headers": {"content-type": "text/plain"}}, "set by the plugin itself"),
        ({"url": "https://h.test", "headers": {"Bad Name": "x"}}, "not a valid HTTP header name"),
        ({"url": "https://h.test", "headers": {"X-A": "a\r\nInjected: yes"}}, "line break"),
        ({"url": "https://h.test", "retries": 11}, "less than or equal to 10"),
        ({"url": "https://h.test", "timeoutS": 0}, "greater than 0"),
        ({"url": "https://h.test", "retry_delay": 5}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_options_are_refused(options: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        WebhookNotifierConfig.model_validate(options)


def test_config_errors_from_the_registry_do_not_repeat_the_url(tmp_path: Path) -> None:
    config = tmp_path / "agent-orchestrator.yaml"
    config.write_text(
        textwrap.dedent(
            f"""\
            projects:
              app:
                path: {tmp_path}
            notifiers:
              hook:
                plugin: webhook
                url: ftp://user:url-pass-5e1@hooks.example.test/path-tok-77aa
            """
        )
    )
    loaded = load_config(config)

    with pytest.raises(ConfigError, match=r"notifiers\.hook\.url") as caught:
        Registry.from_config(loaded).notifier(loaded.notifiers["hook"], key_path="notifiers.hook", config=loaded)

    assert "url-pass-5e1" not in str(caught.value)
    assert "path-tok-77aa" not in str(caught.value)


async def test_env_references_in_the_config_reach_the_request(
    signed_receiver: WebhookReceiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_HOOK_URL", signed_receiver.url)
    monkeypatch.setenv("TEST_HOOK_TOKEN", HEADER_TOKEN)
    monkeypatch.setenv("TEST_HOOK_SECRET", SECRET)
    config = tmp_path / "agent-orchestrator.yaml"
    config.write_text(
        textwrap.dedent(
            f"""\
            projects:
              app:
                path: {tmp_path}
            notifiers:
              hook:
                plugin: webhook
                url: ${{TEST_HOOK_URL}}
                headers:
                  Authorization: Bearer ${{TEST_HOOK_TOKEN}}
                secret: ${{TEST_HOOK_SECRET}}
                retryDelayMs: 10
            """
        )
    )
    loaded = load_config(config)
    registry = Registry.from_config(loaded)

    notifier = registry.notifier(loaded.notifiers["hook"], key_path="notifiers.hook", config=loaded)
    await notifier.notify(_event())

    [request] = signed_receiver.requests
    assert request.signature_valid is True
    assert request.header("Authorization") == f"Bearer {HEADER_TOKEN}"
