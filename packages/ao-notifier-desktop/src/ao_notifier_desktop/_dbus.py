"""The D-Bus side: find the session bus, and call ``org.freedesktop.Notifications.Notify`` on it (blocking).

Everything here blocks and is meant to run in a worker thread. ``jeepney`` (pure Python) is imported when a
notification is sent, never when the plugin is imported.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ao_core.errors import NotifyError

__all__ = ["NOTIFICATIONS_NAME", "DBusNotification", "send_notification", "session_bus_address"]

NOTIFICATIONS_NAME = "org.freedesktop.Notifications"
_NOTIFICATIONS_PATH = "/org/freedesktop/Notifications"
_NOTIFY_SIGNATURE = "susssasa{sv}i"
_NO_OWNER_ERRORS = frozenset(
    {
        "org.freedesktop.DBus.Error.ServiceUnknown",
        "org.freedesktop.DBus.Error.NameHasNoOwner",
        "org.freedesktop.DBus.Error.Spawn.ServiceNotFound",
    }
)
_PLUGIN = "desktop"


@dataclass(frozen=True)
class DBusNotification:
    """One notification to send.

    Attributes:
        app_name: The application name.
        summary: The title.
        body: Builds the body from the server's capabilities (``body-markup``, ``body-hyperlinks``...).
        urgency: The urgency byte (0 low, 1 normal, 2 critical).
        expire_timeout: Milliseconds (-1: the server decides, 0: never).
        category: The ``category`` hint (``x-ao.ci.failing``), or ``None``.
    """

    app_name: str
    summary: str
    body: Callable[[frozenset[str]], str]
    urgency: int
    expire_timeout: int
    category: str | None = None


def session_bus_address(env: Mapping[str, str] | None = None) -> str | None:
    """The session bus address: ``$DBUS_SESSION_BUS_ADDRESS``, else ``$XDG_RUNTIME_DIR/bus`` when it is a socket.

    The fallback is the one libdbus and systemd user sessions use. ``None`` when neither exists.
    """
    env = os.environ if env is None else env
    address = env.get("DBUS_SESSION_BUS_ADDRESS", "").strip()
    if address:
        return address
    runtime_dir = env.get("XDG_RUNTIME_DIR", "").strip()
    if runtime_dir:
        socket_path = Path(runtime_dir) / "bus"
        with contextlib.suppress(OSError):
            if stat.S_ISSOCK(socket_path.stat().st_mode):
                return f"unix:path={socket_path}"
    return None


def send_notification(address: str, notification: DBusNotification, timeout_s: float) -> int:
    """Send ``notification`` to the notification server on the bus at ``address``; return its id.

    Asks the server for its capabilities first, so the body can use markup and links only where they work.

    Raises:
        NotifyError: the bus cannot be reached, nothing serves notifications on it, the server refuses the
            call, or it does not answer within ``timeout_s``.
    """
    from jeepney import DBusAddress, new_method_call

    server = DBusAddress(_NOTIFICATIONS_PATH, bus_name=NOTIFICATIONS_NAME, interface=NOTIFICATIONS_NAME)
    connection = _connect(address, timeout_s)
    with contextlib.closing(connection):
        (capabilities,) = _call(connection, new_method_call(server, "GetCapabilities"), timeout_s)
        body = notification.body(frozenset(str(c) for c in capabilities))
        hints: dict[str, tuple[str, Any]] = {"urgency": ("y", notification.urgency)}
        if notification.category:
            hints["category"] = ("s", notification.category)
        message = new_method_call(
            server,
            "Notify",
            _NOTIFY_SIGNATURE,
            (
                notification.app_name,
                0,  # replaces_id: a new notification
                "",  # app_icon: the server's default
                notification.summary,
                body,
                [],  # actions: see the README ("Actions") for why links in the body are used instead
                hints,
                notification.expire_timeout,
            ),
        )
        (notification_id,) = _call(connection, message, timeout_s)
        return int(notification_id)


def _connect(address: str, timeout_s: float) -> Any:
    from jeepney.io.blocking import open_dbus_connection

    try:
        return open_dbus_connection(address, auth_timeout=timeout_s)
    except Exception as exc:  # jeepney raises OSError, TimeoutError, RuntimeError, KeyError...: all mean "no bus"
        raise NotifyError(
            _PLUGIN,
            f"cannot connect to the D-Bus session bus at {_display_address(address)}: {_describe(exc)}; "
            "check DBUS_SESSION_BUS_ADDRESS",
        ) from exc


def _call(connection: Any, message: Any, timeout_s: float) -> Any:
    from jeepney.wrappers import DBusErrorResponse, unwrap_msg

    method = message.header.fields
    try:
        return unwrap_msg(connection.send_and_get_reply(message, timeout=timeout_s))
    except DBusErrorResponse as exc:
        name = str(exc.name)
        if name in _NO_OWNER_ERRORS:
            raise NotifyError(
                _PLUGIN,
                f"no notification server on the D-Bus session bus (nothing owns {NOTIFICATIONS_NAME}); start one "
                "(your desktop environment's, dunst, mako) or remove 'desktop' from notificationRouting",
                code=name,
            ) from exc
        detail = " ".join(str(part) for part in exc.data) if exc.data else ""
        raise NotifyError(
            _PLUGIN, f"the notification server refused the call: {detail or name}".rstrip(), code=name
        ) from exc
    except TimeoutError as exc:
        raise NotifyError(
            _PLUGIN, f"the notification server did not answer within {timeout_s:g} s ({_member(method)})"
        ) from exc
    except OSError as exc:
        raise NotifyError(_PLUGIN, f"the D-Bus connection failed: {_describe(exc)}") from exc


def _member(fields: Any) -> str:
    from jeepney import HeaderFields

    return str(fields.get(HeaderFields.member, "call"))


def _display_address(address: str) -> str:
    # the guid is noise for a human; the transport and path are what to check
    return ",".join(part for part in address.split(",") if not part.startswith("guid="))


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
