"""The desktop notifier passes ao's notifier contract suite, through a real D-Bus session bus."""

from __future__ import annotations

import pytest
from ao_core.interfaces import Notifier
from ao_notifier_desktop import create
from ao_testing.contracts import NotifierContract, Received
from ao_testing.fakes.notifications import NotificationServer

pytestmark = [pytest.mark.dbus, pytest.mark.timeout(60)]


class TestDesktopNotifierContract(NotifierContract):
    """The suite, wired to the recording notification server on a private session bus."""

    @pytest.fixture
    def notifier(self, notification_server: NotificationServer) -> Notifier:
        return create()

    @pytest.fixture
    def received(self, notification_server: NotificationServer) -> Received:
        return notification_server.received

    @pytest.fixture
    def failing_notifier(self, notification_server: NotificationServer) -> Notifier | None:
        notification_server.fail_with("org.freedesktop.Notifications.Error.Refused", "do not disturb")
        return create()
