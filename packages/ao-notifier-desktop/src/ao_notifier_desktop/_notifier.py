"""The ``desktop`` notifier: the D-Bus notification server on Linux, ``osascript`` on macOS."""

from __future__ import annotations

import logging
import os
import shutil
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal

import anyio
import anyio.to_thread
from ao_core.errors import NotifyError
from ao_core.models import NotifyAction, NotifyContext, OrchestratorEvent

from ._config import DesktopNotifierConfig
from ._dbus import DBusNotification, send_notification, session_bus_address
from ._text import (
    URGENCY_NORMAL,
    applescript_string,
    event_title,
    pr_url_of,
    render_body,
    urgency_of,
)

__all__ = ["NO_SERVICE_REASON", "DesktopNotifier", "osascript_script"]

logger = logging.getLogger("ao_notifier_desktop")

CALL_TIMEOUT_S = 10.0
"""Bound of one D-Bus call or one ``osascript`` run."""

NO_SERVICE_REASON = (
    "no desktop notification service: no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset and there is no "
    "$XDG_RUNTIME_DIR/bus) and no osascript on PATH; run ao inside a desktop session, or remove 'desktop' "
    "from notificationRouting / defaults.notifiers"
)
"""The reason of the :class:`~ao_core.errors.NotifyError` raised where no desktop can be reached."""

# Warn once per process, not once per event: on a headless machine every event would repeat it.
_warned_lock = threading.Lock()
_warned = False


@dataclass(frozen=True)
class _Backend:
    kind: Literal["dbus", "osascript"]
    target: str
    """The bus address, or the osascript executable."""


@dataclass(frozen=True)
class _Message:
    title: str
    message: str
    pr_url: str | None
    actions: tuple[NotifyAction, ...]
    urgency: int
    category: str | None


def osascript_script(title: str, body: str, *, sound: bool) -> str:
    """The AppleScript that shows one notification: ``display notification "…" with title "…"``.

    Both strings are AppleScript literals made by :func:`~ao_notifier_desktop._text.applescript_string`, so no
    text can end its literal and run as script. The script goes to ``osascript -e`` as one argument (no
    shell is involved).
    """
    script = f"display notification {applescript_string(body)} with title {applescript_string(title)}"
    if sound:
        script += ' sound name "default"'
    return script


class DesktopNotifier:
    """Shows each event as a desktop notification.

    Linux (and any system with a D-Bus session bus): ``org.freedesktop.Notifications.Notify`` over the
    session bus, with urgency 2 (critical) for urgent events and 1 (normal) otherwise. macOS:
    ``osascript -e 'display notification …'``. Where neither is available every call raises
    :class:`~ao_core.errors.NotifyError` (and one warning is logged per process): the routing records the
    failure on the event, and ``ao doctor --test-notify`` shows why, instead of a notification silently lost.

    Implements :class:`~ao_core.interfaces.SupportsActions` (actions are listed in the body, as links where
    the server renders them) and :class:`~ao_core.interfaces.SupportsPost`.

    Args:
        config: The plugin's options.
        env: Environment to find the session bus in (default: ``os.environ`` at each call).
        platform: ``sys.platform`` to decide for (default: the running one).
    """

    def __init__(
        self,
        config: DesktopNotifierConfig,
        *,
        env: Mapping[str, str] | None = None,
        platform: str | None = None,
    ) -> None:
        self._config = config
        self._env = env
        self._platform = platform or sys.platform

    @property
    def name(self) -> str:
        """The plugin name."""
        return "desktop"

    @property
    def config(self) -> DesktopNotifierConfig:
        """The options it was built with."""
        return self._config

    async def notify(self, event: OrchestratorEvent) -> None:
        """Show ``event``: title ``URGENT · <session>: <what>`` or ``<appName> · <session>: <what>``.

        Raises:
            NotifyError: no desktop notification service, or it failed or did not answer.
        """
        await self._show(self._event_message(event, ()))

    async def notify_with_actions(self, event: OrchestratorEvent, actions: Sequence[NotifyAction]) -> None:
        """Show ``event`` with its actions listed in the body (links where the server renders them).

        Raises:
            NotifyError: no desktop notification service, or it failed or did not answer.
        """
        await self._show(self._event_message(event, tuple(actions)))

    async def post(self, message: str, context: NotifyContext | None = None) -> str | None:
        """Show a free-form message titled ``<appName>`` (``· <session>`` when the context names one).

        Returns:
            The notification server's id for it (D-Bus), or ``None`` (macOS gives none).

        Raises:
            NotifyError: no desktop notification service, or it failed or did not answer.
        """
        session = context.session_id if context is not None else None
        title = f"{self._config.app_name} · {session}" if session else self._config.app_name
        pr_url = context.pr_url if context is not None else None
        return await self._show(_Message(title, message, pr_url, (), URGENCY_NORMAL, "x-ao.message"))

    # ------------------------------------------------------------------ internals

    def _event_message(self, event: OrchestratorEvent, actions: tuple[NotifyAction, ...]) -> _Message:
        return _Message(
            title=event_title(event, self._config.app_name),
            message=event.message,
            pr_url=pr_url_of(event),
            actions=actions,
            urgency=urgency_of(event.priority),
            category=f"x-ao.{event.type.value}",
        )

    async def _show(self, message: _Message) -> str | None:
        backend = self._backend()
        if backend.kind == "dbus":
            notification = DBusNotification(
                app_name=self._config.app_name,
                summary=message.title,
                body=partial(_dbus_body, message),
                urgency=message.urgency,
                expire_timeout=self._config.timeout_ms,
                category=message.category,
            )
            # abandon_on_cancel: a caller's timeout returns at once even if the bus never answers; the
            # thread then ends by itself within CALL_TIMEOUT_S (every jeepney call here is bounded).
            notification_id = await anyio.to_thread.run_sync(
                send_notification, backend.target, notification, CALL_TIMEOUT_S, abandon_on_cancel=True
            )
            logger.debug("desktop notification %d shown: %s", notification_id, message.title)
            return str(notification_id)
        await self._osascript(backend.target, message)
        return None

    async def _osascript(self, executable: str, message: _Message) -> None:
        body = render_body(message.message, message.pr_url, message.actions)
        sound = self._config.sound and message.urgency > URGENCY_NORMAL
        script = osascript_script(message.title, body, sound=sound)
        try:
            with anyio.fail_after(CALL_TIMEOUT_S):
                result = await anyio.run_process([executable, "-e", script], check=False)
        except TimeoutError as exc:
            raise NotifyError(self.name, f"osascript did not finish within {CALL_TIMEOUT_S:g} s") from exc
        except OSError as exc:
            raise NotifyError(self.name, f"cannot run {executable}: {exc.strerror or exc}") from exc
        if result.returncode != 0:
            detail = result.stderr.decode("utf-8", errors="replace").strip()[:300]
            raise NotifyError(
                self.name, f"osascript failed with exit status {result.returncode}: {detail or 'no message'}"
            )

    def _backend(self) -> _Backend:
        env = os.environ if self._env is None else self._env
        choice = self._config.backend
        osascript = shutil.which("osascript", path=env.get("PATH")) if choice != "dbus" else None
        address = session_bus_address(env) if choice != "osascript" else None
        if choice == "dbus" and address is None:
            raise NotifyError(
                self.name,
                "no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is unset and there is no $XDG_RUNTIME_DIR/bus",
            )
        if choice == "osascript" and osascript is None:
            raise NotifyError(self.name, "osascript is not on PATH (it is part of macOS)")
        if osascript is not None and (choice == "osascript" or self._platform == "darwin" or address is None):
            return _Backend("osascript", osascript)
        if address is not None:
            return _Backend("dbus", address)
        _warn_no_service_once()
        raise NotifyError(self.name, NO_SERVICE_REASON)


def _dbus_body(message: _Message, capabilities: frozenset[str]) -> str:
    return render_body(
        message.message,
        message.pr_url,
        message.actions,
        markup="body-markup" in capabilities,
        links="body-hyperlinks" in capabilities,
    )


def _warn_no_service_once() -> None:
    global _warned
    with _warned_lock:
        if _warned:
            return
        _warned = True
    logger.warning("desktop notifications are not delivered: %s", NO_SERVICE_REASON)
