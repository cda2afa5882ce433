"""The lifecycle the HTTP fakes share: a stdlib threading server on 127.0.0.1, served from a daemon thread."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import ClassVar, Self


class LocalHTTPServer:
    """Base class of a fake that serves HTTP on a free port of 127.0.0.1 from a background thread.

    Subclasses implement :meth:`_handler_class` (or override :meth:`_make_server` for another server
    class), call ``super().__init__()``, and set the class attributes below. Use it as a context manager,
    or call :meth:`start` and :meth:`close`.
    """

    _thread_name: ClassVar[str] = "local-http-server"
    """The name of the serving thread."""
    _poll_interval: ClassVar[float] = 0.05
    """How often ``serve_forever`` checks for shutdown: short, so :meth:`close` is quick."""
    _join_timeout: ClassVar[float] = 5.0
    """How long :meth:`close` waits for the serving thread."""
    _not_started_message: ClassVar[str] = "the server is not started; call start() or use it as a context manager"
    """The ``RuntimeError`` message of :attr:`port` and :attr:`url` before :meth:`start`."""

    def __init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        """The request handler class the server uses."""
        raise NotImplementedError(f"{type(self).__name__} must implement _handler_class()")

    def _make_server(self) -> ThreadingHTTPServer:
        """A server on 127.0.0.1 at a free port whose request threads are daemons."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        server.daemon_threads = True
        return server

    def start(self) -> Self:
        """Start serving on 127.0.0.1 at a free port (a no-op when already serving)."""
        if self._server is not None:
            return self
        server = self._make_server()
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": self._poll_interval},
            name=self._thread_name,
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving (a no-op when not serving)."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=self._join_timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def port(self) -> int:
        """The port the server listens on (it must be started)."""
        if self._server is None:
            raise RuntimeError(self._not_started_message)
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (the server must be started)."""
        return f"http://127.0.0.1:{self.port}"
