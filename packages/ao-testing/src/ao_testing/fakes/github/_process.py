"""The fake GitHub in a separate process, for measurements that the test's own process must not skew.

In one process the fake's handler threads and the client share one interpreter lock; with the fake in
its own process, per-request latency and client-side cost are measured as they would be against a
remote server. The parent drives it by calling its methods over a pipe.
"""

from __future__ import annotations

import multiprocessing
import pickle
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

__all__ = ["FakeGitHubProcess"]


def _serve(conn: Connection, root: str, latency: float) -> None:
    from ao_testing.fakes.github._fake import FakeGitHub

    with FakeGitHub(Path(root), latency=latency) as fake:
        conn.send((fake.url, fake.default_token))
        while True:
            message = conn.recv()
            if message is None:
                break
            name, args, kwargs = message
            try:
                if name == "set_latency":
                    fake.latency = float(args[0])
                    value = None
                else:
                    value = getattr(fake, name)(*args, **kwargs)
                try:
                    pickle.dumps(value)
                except Exception:  # live objects (repositories with locks) stay in the child
                    value = None
                conn.send((True, value))
            except Exception as exc:  # report it to the caller; the server keeps running
                conn.send((False, f"{type(exc).__name__}: {exc}"))


class FakeGitHubProcess:
    """A :class:`FakeGitHub` running in a child process; call its methods with :meth:`call` or as attributes.

    ::

        with FakeGitHubProcess(tmp_path, latency=0.05) as gh:
            gh.create_repo("octo/app")          # runs in the child; unpicklable results come back as None
            records = gh.requests_log()
    """

    def __init__(self, root: Path, *, latency: float = 0.0) -> None:
        self.root = Path(root)
        self.latency = latency
        self.url = ""
        self.default_token = ""
        self._conn: Connection | None = None
        self._proc: Any = None

    def start(self) -> FakeGitHubProcess:
        """Start the child and wait until it serves."""
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        self._proc = context.Process(target=_serve, args=(child, str(self.root), self.latency), daemon=True)
        self._proc.start()
        self._conn = parent
        if not parent.poll(60):
            raise RuntimeError("the fake GitHub process did not start within 60 s")
        self.url, self.default_token = parent.recv()
        return self

    def stop(self) -> None:
        """Stop the child."""
        if self._conn is not None:
            self._conn.send(None)
            self._conn = None
        if self._proc is not None:
            self._proc.join(timeout=10)
            if self._proc.is_alive():
                self._proc.kill()
            self._proc = None

    def __enter__(self) -> FakeGitHubProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``FakeGitHub.<name>(*args, **kwargs)`` in the child and return its (picklable) result.

        Raises:
            RuntimeError: with the child's error message when the call failed.
        """
        if self._conn is None:
            raise RuntimeError("the fake GitHub process is not started")
        self._conn.send((name, args, kwargs))
        ok, value = self._conn.recv()
        if not ok:
            raise RuntimeError(value)
        return value

    def set_latency(self, seconds: float) -> None:
        """Change the latency added to every request."""
        self.call("set_latency", seconds)

    def requests_log(self) -> list[Any]:
        """The child's request log (:class:`RequestRecord` entries)."""
        result: list[Any] = self.call("_requests_copy")
        return result

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self.call(name, *args, **kwargs)
