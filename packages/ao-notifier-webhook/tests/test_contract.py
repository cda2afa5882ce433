"""The webhook notifier passes ao's notifier contract suite against the recording webhook receiver."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from urllib.parse import urlsplit

import pytest
from ao_core.interfaces import Notifier
from ao_notifier_webhook import WebhookNotifierConfig, create
from ao_testing.contracts import NotifierContract, Received
from ao_testing.fakes.webhook_receiver import WebhookReceiver
from pydantic import SecretStr

pytestmark = pytest.mark.timeout(60)

URL_PASSWORD = "pa55-word-in-the-url"
PATH_TOKEN = "path-token-in-the-url"
QUERY_KEY = "query-key-in-the-url"
HEADER_TOKEN = "bearer-token-in-a-header"
SIGNING_SECRET = "signing-secret-value"


class TestWebhookNotifierContract(NotifierContract):
    """The suite, wired to a receiver on 127.0.0.1; the failing one answers 500 to every request."""

    @pytest.fixture
    def notifier(self, webhook_receiver: WebhookReceiver) -> Notifier:
        return create(WebhookNotifierConfig(url=webhook_receiver.url))

    @pytest.fixture
    def received(self, webhook_receiver: WebhookReceiver) -> Received:
        return webhook_receiver.received

    @pytest.fixture
    def failing_notifier(self) -> Iterator[Notifier | None]:
        with WebhookReceiver(default=500) as failing:
            origin = urlsplit(failing.url).netloc
            yield create(
                WebhookNotifierConfig(
                    url=f"http://hook:{URL_PASSWORD}@{origin}/hook/{PATH_TOKEN}?key={QUERY_KEY}",
                    headers={"Authorization": SecretStr(f"Bearer {HEADER_TOKEN}")},
                    secret=SecretStr(SIGNING_SECRET),
                    retries=1,
                    retry_delay_ms=1,
                )
            )

    @pytest.fixture
    def notifier_secrets(self) -> Sequence[str]:
        return (URL_PASSWORD, PATH_TOKEN, QUERY_KEY, HEADER_TOKEN, SIGNING_SECRET)
