"""The slack notifier passes ao's notifier contract suite, in bot mode and in webhook mode."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from ao_core.interfaces import Notifier
from ao_notifier_slack import SlackNotifierConfig, create
from ao_testing.contracts import NotifierContract, Received
from ao_testing.fakes.slack import FakeSlack

pytestmark = pytest.mark.timeout(60)

WRONG_TOKEN = "xoxb-wrong-0000-secret"


class TestSlackBotContract(NotifierContract):
    """Bot mode against the fake Web API; the failing receiver refuses the token."""

    @pytest.fixture
    def notifier(self, fake_slack: FakeSlack, tmp_path: Path) -> Notifier:
        return create(
            SlackNotifierConfig(
                token=fake_slack.token,
                channel="#agents",
                base_url=fake_slack.api_url,
                state_file=tmp_path / "threads.json",
            )
        )

    @pytest.fixture
    def received(self, fake_slack: FakeSlack) -> Received:
        return fake_slack.rendered

    @pytest.fixture
    def failing_notifier(self, fake_slack: FakeSlack, tmp_path: Path) -> Notifier | None:
        return create(
            SlackNotifierConfig(
                token=WRONG_TOKEN, channel="#agents", base_url=fake_slack.api_url, state_file=tmp_path / "t.json"
            )
        )

    @pytest.fixture
    def notifier_secrets(self) -> Sequence[str]:
        return (WRONG_TOKEN,)


class TestSlackWebhookContract(NotifierContract):
    """Webhook mode; the failing receiver is a webhook that does not exist (404 no_service)."""

    @pytest.fixture
    def notifier(self, fake_slack: FakeSlack, tmp_path: Path) -> Notifier:
        return create(SlackNotifierConfig(webhook_url=fake_slack.add_webhook(), state_file=tmp_path / "t.json"))

    @pytest.fixture
    def received(self, fake_slack: FakeSlack) -> Received:
        return fake_slack.rendered

    @pytest.fixture
    def removed_webhook(self, fake_slack: FakeSlack) -> str:
        return f"{fake_slack.url}/services/T0FAKETEAM/B0GONE/gOnEsEcReTpArT0000000000"

    @pytest.fixture
    def failing_notifier(self, removed_webhook: str, tmp_path: Path) -> Notifier | None:
        return create(SlackNotifierConfig(webhook_url=removed_webhook, state_file=tmp_path / "t.json"))

    @pytest.fixture
    def notifier_secrets(self, removed_webhook: str) -> Sequence[str]:
        return (removed_webhook, "gOnEsEcReTpArT0000000000")
