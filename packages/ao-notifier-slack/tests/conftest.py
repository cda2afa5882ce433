from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ao_notifier_slack import SlackNotifier, SlackNotifierConfig, create
from ao_testing.fakes.slack import FakeSlack, fake_slack

__all__ = ["fake_slack"]

MakeNotifier = Callable[..., SlackNotifier]


@pytest.fixture(autouse=True)
def _direct_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    # slack-sdk sends every request through a proxy named in the environment; the fake is on loopback.
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    return tmp_path / "state" / "slack-threads.json"


@pytest.fixture
def make_bot(fake_slack: FakeSlack, state_file: Path) -> MakeNotifier:
    """Bot-mode notifiers wired to the fake; keyword arguments override config fields."""

    def make(**overrides: Any) -> SlackNotifier:
        fields: dict[str, Any] = {
            "token": fake_slack.token,
            "channel": "#agents",
            "base_url": fake_slack.api_url,
            "state_file": state_file,
        }
        fields.update(overrides)
        notifier = create(SlackNotifierConfig(**fields))
        assert isinstance(notifier, SlackNotifier)
        return notifier

    return make


@pytest.fixture
def make_webhook(fake_slack: FakeSlack, state_file: Path) -> MakeNotifier:
    """Webhook-mode notifiers posting to a new webhook of channel ``agents`` (or ``url=...``)."""

    def make(url: str | None = None, **overrides: Any) -> SlackNotifier:
        fields: dict[str, Any] = {"webhook_url": url or fake_slack.add_webhook("agents"), "state_file": state_file}
        fields.update(overrides)
        notifier = create(SlackNotifierConfig(**fields))
        assert isinstance(notifier, SlackNotifier)
        return notifier

    return make
