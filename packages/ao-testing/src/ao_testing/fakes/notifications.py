"""A recording desktop-notification server on a real D-Bus session bus, and a private bus to run it on.

:class:`NotificationServer` owns the well-known name ``org.freedesktop.Notifications`` on a session bus and
implements the server side of the Desktop Notifications Specification (``Notify``, ``GetCapabilities``,
``GetServerInformation``, ``CloseNotification``, the ``NotificationClosed`` signal). It shows nothing: it
records every ``Notify`` call exactly as it arrived over the bus (app name, replaces id, icon, summary,
body, actions, hints with the urgency byte, expire timeout), so a test can assert what a notifier sent,
whatever client library or program (jeepney, dbus-next, ``notify-send``) the notifier uses.

:class:`PrivateSessionBus` starts a ``dbus-daemon`` of its own (no service activation, so nothing else on
the machine can answer for the notification server), and tears it down afterwards.

::

    with PrivateSessionBus() as bus, NotificationServer(bus.address) as server:
        os.environ["DBUS_SESSION_BUS_ADDRESS"] = bus.address
        ...  # the code under test sends a notification
        [note] = server.notifications
        assert note.urgency == 2

Fixtures for plugin tests (import them into the package's ``conftest.py``)::

    from ao_testing.fakes.notifications import dbus_session_bus, notification_server

``dbus_session_bus`` (session scope) is the address of a private bus (``dbus-daemon`` is required: the test
is skipped without it and fails when ``CI=true``); ``notification_server`` (per test) is a started server on
that bus, with ``DBUS_SESSION_BUS_ADDRESS`` set to the bus for the test.

Requires ``jeepney`` (imported when a server starts; the desktop notifier plugin depends on it) and, for the
private bus, the ``dbus-daemon`` program (Debian package ``dbus-daemon``).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

__all__ = [
    "NOTIFICATIONS_INTERFACE",
    "NOTIFICATIONS_PATH",
    "Notification",
    "NotificationServer",
    "PrivateSessionBus",
    "dbus_session_bus",
    "notification_server",
]

NOTIFICATIONS_INTERFACE = "org.freedesktop.Notifications"
"""The interface, and the well-known bus name, of a notification server."""
NOTIFICATIONS_PATH = "/org/freedesktop/Notifications"
"""The object path a notification server exports."""

_DEFAULT_CAPABILITIES = ("actions", "body", "body-hyperlinks", "body-markup")
_START_TIMEOUT_S = 10.0
_CALL_TIMEOUT_S = 5.0
_POLL_S = 0.02

_BUS_CONFIG = """\
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


# =========================================================================== the private bus


class PrivateSessionBus:
    """A ``dbus-daemon`` session bus of its own, listening on a socket in a fresh temporary directory.

    The bus has no service directories, so a call to a name nobody owns fails with
    ``org.freedesktop.DBus.Error.ServiceUnknown`` instead of starting the machine's notification daemon.

    Args:
        executable: The ``dbus-daemon`` program (default: found on ``PATH``).

    Raises:
        RuntimeError: from :meth:`start` when ``dbus-daemon`` is missing or does not come up.
    """

    def __init__(self, executable: str | None = None) -> None:
        self._executable = executable
        self._process: subprocess.Popen[str] | None = None
        self._directory: Path | None = None
        self._address: str | None = None

    @property
    def address(self) -> str:
        """The bus address (``unix:path=...,guid=...``), for ``DBUS_SESSION_BUS_ADDRESS``."""
        if self._address is None:
            raise RuntimeError("the bus is not started; call start() or use it as a context manager")
        return self._address

    def start(self) -> PrivateSessionBus:
        """Start the daemon and wait until it prints its address."""
        executable = self._executable or shutil.which("dbus-daemon")
        if executable is None:
            raise RuntimeError("dbus-daemon is not installed (Debian package: dbus-daemon)")
        # A short directory of its own: a unix socket path may not exceed 107 bytes.
        self._directory = Path(tempfile.mkdtemp(prefix="ao-dbus-"))
        config = self._directory / "bus.conf"
        config.write_text(_BUS_CONFIG.format(socket=self._directory / "bus"), encoding="utf-8")
        self._process = subprocess.Popen(
            [executable, f"--config-file={config}", "--nofork", "--nopidfile", "--print-address=1"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # "Failed to set fd limit" is printed when not privileged: harmless
            text=True,
        )
        stdout = self._process.stdout
        assert stdout is not None
        ready = threading.Event()
        lines: list[str] = []

        def read_address() -> None:
            lines.append(stdout.readline().strip())
            ready.set()

        threading.Thread(target=read_address, name="dbus-daemon-address", daemon=True).start()
        if not ready.wait(_START_TIMEOUT_S) or not lines[0]:
            self.stop()
            raise RuntimeError(f"dbus-daemon did not print its address within {_START_TIMEOUT_S} s")
        self._address = lines[0]
        return self

    def stop(self) -> None:
        """Stop the daemon and remove its directory. Idempotent."""
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
            if process.stdout is not None:
                process.stdout.close()
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None
        self._address = None

    def __enter__(self) -> PrivateSessionBus:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


# =========================================================================== the server


@dataclass(frozen=True)
class Notification:
    """One ``Notify`` call as the server received it.

    Attributes:
        id: The id the server answered with.
        app_name: The application name.
        replaces_id: The notification it replaces (0: none).
        app_icon: The icon name or URI.
        summary: The title.
        body: The body text (possibly with markup, when the server advertises ``body-markup``).
        actions: The flat action list: ``[key, label, key, label, ...]``.
        hints: The hints, variant values unwrapped (``{"urgency": 2}``).
        expire_timeout: Milliseconds until it expires (-1: the server decides, 0: never).
        sender: The caller's unique bus name.
    """

    id: int
    app_name: str
    replaces_id: int
    app_icon: str
    summary: str
    body: str
    actions: list[str]
    hints: dict[str, Any]
    expire_timeout: int
    sender: str | None = None

    @property
    def urgency(self) -> int | None:
        """The ``urgency`` hint (0 low, 1 normal, 2 critical), ``None`` when not given."""
        value = self.hints.get("urgency")
        return int(value) if value is not None else None

    @property
    def action_pairs(self) -> list[tuple[str, str]]:
        """The actions as ``(key, label)`` pairs."""
        return list(zip(self.actions[::2], self.actions[1::2], strict=False))

    def as_text(self) -> str:
        """Summary, body and action labels on separate lines (what a contract suite searches)."""
        return "\n".join([self.summary, self.body, *self.actions[1::2]])


@dataclass
class _Pending:
    due: float
    reply: Any


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    notifications: list[Notification] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    error: tuple[str, str] | None = None
    hang_seconds: float | None = None


class NotificationServer:
    """A recording ``org.freedesktop.Notifications`` server on a D-Bus session bus, served from a thread.

    Args:
        address: The bus address (default: ``$DBUS_SESSION_BUS_ADDRESS``).
        capabilities: What ``GetCapabilities`` answers (default: ``actions``, ``body``, ``body-hyperlinks``,
            ``body-markup``, as common servers such as dunst do).
        server_information: What ``GetServerInformation`` answers: name, vendor, version, spec version.

    :meth:`fail_with` makes every ``Notify`` answer a D-Bus error; :meth:`hang_for` delays every ``Notify``
    reply (the server keeps serving other calls meanwhile).
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        capabilities: Sequence[str] = _DEFAULT_CAPABILITIES,
        server_information: tuple[str, str, str, str] = ("ao-testing", "ao", "0.1.0", "1.2"),
    ) -> None:
        self._address = address
        self.capabilities = list(capabilities)
        """What ``GetCapabilities`` answers; may be changed while the server runs."""
        self._server_information = server_information
        self._state = _State()
        self._ids = itertools.count(1)
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._startup_errors: list[BaseException] = []

    # ------------------------------------------------------------------ what was received

    @property
    def notifications(self) -> list[Notification]:
        """Every ``Notify`` call answered with an id, in order."""
        with self._state.lock:
            return list(self._state.notifications)

    @property
    def closed(self) -> list[int]:
        """The ids passed to ``CloseNotification``, in order."""
        with self._state.lock:
            return list(self._state.closed)

    @property
    def calls(self) -> list[str]:
        """The name of every method called on the server, in order (``GetCapabilities``, ``Notify``...)."""
        with self._state.lock:
            return list(self._state.calls)

    def received(self) -> list[str]:
        """Every notification as text (:meth:`Notification.as_text`), for ``NotifierContract``'s ``received``."""
        return [note.as_text() for note in self.notifications]

    def clear(self) -> None:
        """Forget everything received."""
        with self._state.lock:
            self._state.notifications.clear()
            self._state.closed.clear()
            self._state.calls.clear()

    # ------------------------------------------------------------------ test controls

    def fail_with(self, error_name: str | None, message: str = "refused by the test") -> None:
        """Make every ``Notify`` answer the D-Bus error ``error_name`` (``None``: answer normally again)."""
        with self._state.lock:
            self._state.error = None if error_name is None else (error_name, message)

    def hang_for(self, seconds: float | None) -> None:
        """Delay every ``Notify`` reply by ``seconds`` (``None``: answer at once)."""
        with self._state.lock:
            self._state.hang_seconds = seconds

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> NotificationServer:
        """Connect, take the name ``org.freedesktop.Notifications`` and serve calls on a thread.

        Raises:
            RuntimeError: when there is no bus, or another program owns the name.
        """
        address = self._address or os.environ.get("DBUS_SESSION_BUS_ADDRESS")
        if not address:
            raise RuntimeError("no D-Bus session bus: pass an address or set DBUS_SESSION_BUS_ADDRESS")
        self._stop.clear()
        self._ready.clear()
        self._startup_errors.clear()
        self._thread = threading.Thread(target=self._run, args=(address,), name="notification-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_S):
            self.stop()
            raise RuntimeError(f"the notification server did not start within {_START_TIMEOUT_S} s")
        if self._startup_errors:
            error = self._startup_errors[0]
            self.stop()
            raise RuntimeError(f"the notification server could not start: {error}") from error
        return self

    def stop(self) -> None:
        """Release the name, disconnect and end the thread. Idempotent."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=_START_TIMEOUT_S)

    def __enter__(self) -> NotificationServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ the thread

    def _run(self, address: str) -> None:
        from jeepney import DBusAddress
        from jeepney.bus_messages import DBusNameFlags, message_bus
        from jeepney.io.blocking import open_dbus_connection

        try:
            connection = open_dbus_connection(address, auth_timeout=_CALL_TIMEOUT_S)
        except Exception as exc:  # any failure to connect is reported to start()
            self._startup_errors.append(exc)
            self._ready.set()
            return
        with contextlib.closing(connection):
            try:
                reply = connection.send_and_get_reply(
                    message_bus.RequestName(NOTIFICATIONS_INTERFACE, DBusNameFlags.do_not_queue),
                    timeout=_CALL_TIMEOUT_S,
                )
                if reply.body != (1,):  # 1: DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER
                    raise RuntimeError(f"{NOTIFICATIONS_INTERFACE} is already owned by another program on this bus")
            except Exception as exc:  # reported to start()
                self._startup_errors.append(exc)
                self._ready.set()
                return
            self._ready.set()
            emitter = DBusAddress(NOTIFICATIONS_PATH, interface=NOTIFICATIONS_INTERFACE)
            pending: list[_Pending] = []
            try:
                while not self._stop.is_set():
                    now = time.monotonic()
                    for item in [p for p in pending if p.due <= now]:
                        pending.remove(item)
                        connection.send(item.reply)
                    try:
                        message = connection.receive(timeout=_POLL_S)
                    except TimeoutError:
                        continue
                    self._handle(connection, message, emitter, pending)
            finally:
                with contextlib.suppress(Exception):  # the bus may be gone already
                    connection.send_and_get_reply(
                        message_bus.ReleaseName(NOTIFICATIONS_INTERFACE), timeout=_CALL_TIMEOUT_S
                    )

    def _handle(self, connection: Any, message: Any, emitter: Any, pending: list[_Pending]) -> None:
        from jeepney import HeaderFields, MessageType, new_error, new_method_return, new_signal

        header = message.header
        if header.message_type != MessageType.method_call:
            return
        member = header.fields.get(HeaderFields.member)
        interface = header.fields.get(HeaderFields.interface)
        path = header.fields.get(HeaderFields.path)
        with self._state.lock:
            self._state.calls.append(str(member))
        if path != NOTIFICATIONS_PATH or interface not in (None, NOTIFICATIONS_INTERFACE):
            connection.send(
                new_error(message, "org.freedesktop.DBus.Error.UnknownMethod", "s", (f"no {interface}.{member}",))
            )
            return
        if member == "GetCapabilities":
            connection.send(new_method_return(message, "as", (list(self.capabilities),)))
        elif member == "GetServerInformation":
            connection.send(new_method_return(message, "ssss", self._server_information))
        elif member == "CloseNotification":
            (notification_id,) = message.body
            with self._state.lock:
                self._state.closed.append(int(notification_id))
            connection.send(new_method_return(message))
            # reason 3: closed by a call to CloseNotification
            connection.send(new_signal(emitter, "NotificationClosed", "uu", (notification_id, 3)))
        elif member == "Notify":
            self._notify(connection, message, pending)
        else:
            connection.send(
                new_error(message, "org.freedesktop.DBus.Error.UnknownMethod", "s", (f"no method {member}",))
            )

    def _notify(self, connection: Any, message: Any, pending: list[_Pending]) -> None:
        from jeepney import HeaderFields, new_error, new_method_return

        signature = message.header.fields.get(HeaderFields.signature)
        if signature != "susssasa{sv}i":
            connection.send(
                new_error(
                    message,
                    "org.freedesktop.DBus.Error.InvalidArgs",
                    "s",
                    (f"Notify takes susssasa{{sv}}i, got {signature}",),
                )
            )
            return
        with self._state.lock:
            error = self._state.error
            hang = self._state.hang_seconds
        if error is not None:
            reply = new_error(message, error[0], "s", (error[1],))
        else:
            app_name, replaces_id, app_icon, summary, body, actions, hints, expire_timeout = message.body
            notification_id = replaces_id or next(self._ids)
            note = Notification(
                id=notification_id,
                app_name=app_name,
                replaces_id=replaces_id,
                app_icon=app_icon,
                summary=summary,
                body=body,
                actions=list(actions),
                hints={key: value for key, (_signature, value) in hints.items()},
                expire_timeout=expire_timeout,
                sender=message.header.fields.get(HeaderFields.sender),
            )
            with self._state.lock:
                self._state.notifications.append(note)
            reply = new_method_return(message, "u", (notification_id,))
        if hang:
            pending.append(_Pending(time.monotonic() + hang, reply))
        else:
            connection.send(reply)


# =========================================================================== fixtures


@pytest.fixture(scope="session")
def dbus_session_bus() -> Iterator[str]:
    """The address of a private D-Bus session bus for the test session.

    Needs ``dbus-daemon``: skips without it (fails when ``CI=true``). A private bus is used even when one is
    already running, so a developer's own notification daemon never answers (nor shows) test notifications.
    """
    from ao_core.testing import require_executable

    executable = require_executable("dbus-daemon")
    with PrivateSessionBus(executable) as bus:
        yield bus.address


@pytest.fixture
def notification_server(dbus_session_bus: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[NotificationServer]:
    """A started :class:`NotificationServer` on the private bus; ``DBUS_SESSION_BUS_ADDRESS`` points at it."""
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", dbus_session_bus)
    with NotificationServer(dbus_session_bus) as server:
        yield server
