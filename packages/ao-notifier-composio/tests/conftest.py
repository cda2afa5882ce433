from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from ao_notifier_composio import ComposioNotifier, ComposioNotifierConfig, create
from ao_testing.fakes.composio import FakeComposio, fake_composio

__all__ = ["fake_composio"]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing from the developer's shell may steer the SDK: no real key, no other base URL, no proxy
    # (httpx would send loopback requests through one), no pinned toolkit versions.
    for name in list(os.environ):
        if name.startswith("COMPOSIO_") or name.lower() in {"https_proxy", "http_proxy", "all_proxy"}:
            monkeypatch.delenv(name, raising=False)


MakeNotifier = Callable[..., ComposioNotifier]


@pytest.fixture
def make_notifier(fake_composio: FakeComposio) -> MakeNotifier:
    """Notifiers wired to the fake (Slack, channel C0AGENTS); keyword arguments override config fields."""

    def make(**overrides: Any) -> ComposioNotifier:
        fields: dict[str, Any] = {
            "api_key": fake_composio.api_key,
            "base_url": fake_composio.url,
            "channel_id": "C0AGENTS",
            "timeout_s": 10,
        }
        fields.update(overrides)
        notifier = create(ComposioNotifierConfig(**fields))
        assert isinstance(notifier, ComposioNotifier)
        return notifier

    return make
