"""The composio notifier passes ao's notifier contract suite against the fake Composio API."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from ao_core.interfaces import Notifier
from ao_notifier_composio import ComposioNotifierConfig, create
from ao_testing.contracts import NotifierContract, Received
from ao_testing.fakes.composio import FakeComposio

pytestmark = pytest.mark.timeout(60)

WRONG_KEY = "ak_wrong_0000_secret"


class TestComposioContract(NotifierContract):
    """Slack through Composio; the failing receiver refuses the API key (401)."""

    @pytest.fixture
    def notifier(self, fake_composio: FakeComposio) -> Notifier:
        return create(
            ComposioNotifierConfig(api_key=fake_composio.api_key, base_url=fake_composio.url, channel_id="C0AGENTS")
        )

    @pytest.fixture
    def received(self, fake_composio: FakeComposio) -> Received:
        return fake_composio.rendered

    @pytest.fixture
    def failing_notifier(self, fake_composio: FakeComposio) -> Notifier | None:
        return create(ComposioNotifierConfig(api_key=WRONG_KEY, base_url=fake_composio.url, channel_id="C0AGENTS"))

    @pytest.fixture
    def notifier_secrets(self) -> Sequence[str]:
        return (WRONG_KEY,)
