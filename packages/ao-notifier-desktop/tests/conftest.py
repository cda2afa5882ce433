from __future__ import annotations

import pytest
from ao_notifier_desktop import _notifier
from ao_testing.fakes.notifications import dbus_session_bus, notification_server

__all__ = ["dbus_session_bus", "notification_server", "reset_warning"]


@pytest.fixture(autouse=True)
def reset_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts as a fresh process would: the once-per-process warning not yet given."""
    monkeypatch.setattr(_notifier, "_warned", False)
