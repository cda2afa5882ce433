"""The ao daemon: one process running the lifecycle manager and an HTTP server, until SIGTERM or SIGINT.

``ao start`` runs :func:`serve` inside one anyio task group: the lifecycle manager's poll loop and an ASGI
app (Starlette under uvicorn, both imported only here) on ``127.0.0.1:<port>`` serving

- ``GET /api/health``: the daemon's pid, port and the last poll;
- ``POST /api/webhooks/github`` (and ``/api/webhooks/<anything>``): each project whose SCM supports
  webhooks verifies the delivery (its failure status is answered: 401, 413, 400) and parses it; the
  sessions it concerns are checked at once (``202``).

One daemon per state directory: ``<state>/daemon.lock`` is held with ``flock`` for the life of the process
(the kernel releases it when the process dies, even by SIGKILL) and ``<state>/daemon.json`` says where it
runs (pid, host, port, start time, log file). Listening beyond loopback needs a token
(``AO_DAEMON_TOKEN``), which every request but webhook deliveries (verified by their signature) must send
as ``Authorization: Bearer <token>``. Logs go to ``<state>/logs/daemon.log`` (rotated).

On SIGTERM or SIGINT the HTTP server stops accepting requests and a running poll gets a bounded time to
finish. Sessions keep running: the daemon only watches them.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hmac
import ipaddress
import json
import logging
import logging.handlers
import os
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from ao_core.errors import AoError
from ao_core.interfaces import SupportsWebhooks
from ao_core.models import Session, WebhookEvent, WebhookRequest, utc_now

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

    from ao_core.config import OrchestratorConfig, ProjectConfig
    from ao_core.lifecycle import LifecycleManager
    from ao_core.registry import Registry
    from ao_core.sessions import SessionManager
    from ao_core.store import Store

__all__ = [
    "DEFAULT_HOST",
    "MAX_WEBHOOK_BYTES",
    "TOKEN_ENV",
    "DaemonInfo",
    "DaemonLock",
    "DaemonPaths",
    "build_app",
    "check_listen_address",
    "configure_logging",
    "daemon_paths",
    "handle_webhook",
    "is_ao_daemon_process",
    "running_daemon",
    "serve",
]

log = logging.getLogger("ao.daemon")

DEFAULT_HOST = "127.0.0.1"
TOKEN_ENV = "AO_DAEMON_TOKEN"
"""The environment variable holding the API token (required to listen beyond loopback)."""
MAX_WEBHOOK_BYTES = 25 * 1024 * 1024
"""Webhook bodies above this are refused with 413 before any plugin sees them."""
_VERIFY_TIMEOUT_S = 10.0
_LOG_BYTES = 5 * 1024 * 1024
_LOG_BACKUPS = 3


@dataclass(frozen=True)
class DaemonPaths:
    """The daemon's files in a state directory."""

    lock: Path
    info: Path
    log: Path
    out: Path


def daemon_paths(state_dir: Path) -> DaemonPaths:
    """Where the daemon of a state directory keeps its lock, its address, its log and its raw output."""
    return DaemonPaths(
        lock=state_dir / "daemon.lock",
        info=state_dir / "daemon.json",
        log=state_dir / "logs" / "daemon.log",
        out=state_dir / "logs" / "daemon.out",
    )


@dataclass(frozen=True)
class DaemonInfo:
    """Where a daemon runs (the content of ``daemon.json``)."""

    pid: int
    host: str
    port: int
    started_at: str
    log: str
    state_dir: str

    @property
    def url(self) -> str:
        """The base URL of its HTTP server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def describe(self) -> str:
        """One line for humans."""
        return f"pid {self.pid}, {self.url}, started {self.started_at}, log {self.log}"

    @classmethod
    def read(cls, path: Path) -> DaemonInfo | None:
        """Read ``daemon.json``; ``None`` when missing or unreadable."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**{key: data[key] for key in cls.__dataclass_fields__})
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, path: Path) -> None:
        """Write ``daemon.json`` atomically."""
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)


class DaemonLock:
    """The one-daemon-per-state-directory lock: ``flock`` on ``<state>/daemon.lock``, held until released.

    Args:
        state_dir: The state directory.
    """

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.paths = daemon_paths(state_dir)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock.

        Raises:
            AoError: Another daemon holds it (the message says where it runs).
        """
        self.paths.lock.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.paths.lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise AoError(f"cannot lock {self.paths.lock}: {exc.strerror}") from exc
            info = DaemonInfo.read(self.paths.info)
            where = info.describe() if info is not None else "its details are not written yet"
            raise AoError(
                f"an ao daemon is already running for {self.state_dir} ({where}); stop it with 'ao stop'"
            ) from None
        os.set_inheritable(fd, False)
        self._fd = fd

    def release(self) -> None:
        """Release the lock (idempotent)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def running_daemon(state_dir: Path) -> DaemonInfo | None:
    """The daemon running for a state directory, or ``None``: its lock is held and ``daemon.json`` names it.

    A ``daemon.json`` left by a daemon that died (SIGKILL, a crash) is stale: the lock is free, so this
    returns ``None``.
    """
    paths = daemon_paths(state_dir)
    try:
        fd = os.open(paths.lock, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            info = DaemonInfo.read(paths.info)
            if info is None:
                # Held, but the address is not written yet (the daemon is starting): say so by pid 0.
                return DaemonInfo(pid=0, host="", port=0, started_at="", log=str(paths.log), state_dir=str(state_dir))
            return info
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def is_ao_daemon_process(pid: int) -> bool:
    """Whether process ``pid`` runs ``ao start`` (checked through ``/proc/<pid>/cmdline`` where it exists)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:
        return True  # no /proc access here: the held lock is the evidence
    argv = [part.decode(errors="replace") for part in raw.split(b"\0") if part]
    mentions_ao = any(Path(a).name == "ao" or a in ("ao_core", "ao_core.cli") for a in argv)
    return mentions_ao and "start" in argv


def check_listen_address(host: str, token: str | None) -> None:
    """Refuse to listen beyond loopback without a token.

    Raises:
        AoError: ``host`` is not a loopback address and no token is set.
    """
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError as exc:
        raise AoError(f"--host {host!r} is not an IP address; use 127.0.0.1, ::1 or an interface's address") from exc
    if not loopback and not token:
        raise AoError(
            f"refusing to listen on {host} without a token: anyone who can reach it could drive your agents; "
            f"set {TOKEN_ENV} in the environment (every request must then send 'Authorization: Bearer <token>'), "
            "or listen on 127.0.0.1"
        )


def configure_logging(log_path: Path, *, stderr: bool, verbose: bool = False) -> None:
    """Send ao's (and uvicorn's) logs to a rotating ``log_path``, and to stderr when ``stderr``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [
        logging.handlers.RotatingFileHandler(log_path, maxBytes=_LOG_BYTES, backupCount=_LOG_BACKUPS, encoding="utf-8")
    ]
    if stderr:
        handlers.append(logging.StreamHandler(sys.stderr))
    for handler in handlers:
        handler.setFormatter(formatter)
    for name, level in (("ao", logging.DEBUG if verbose else logging.INFO), ("uvicorn", logging.WARNING)):
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.handlers[:] = handlers
        logger.propagate = False


# =========================================================================== the HTTP app


def build_app(
    lifecycle: LifecycleManager,
    *,
    token: str | None = None,
    info: Callable[[], DaemonInfo | None] = lambda: None,
    max_webhook_bytes: int = MAX_WEBHOOK_BYTES,
) -> Starlette:
    """The daemon's ASGI app (see the module docstring for the routes).

    Args:
        lifecycle: The lifecycle manager (webhooks request checks from it; health reports its polls).
        token: When set, every request but webhook deliveries must send ``Authorization: Bearer <token>``.
        info: Where the daemon runs, for the health answer.
        max_webhook_bytes: Larger webhook bodies are refused with 413.
    """
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    def authorized(request: Request) -> bool:
        if not token:
            return True
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())

    async def health(request: Request) -> Response:
        if not authorized(request):
            return JSONResponse({"error": "missing or wrong bearer token"}, status_code=401)
        report = lifecycle.last_report
        daemon = info()
        return JSONResponse(
            {
                "ok": True,
                "pid": os.getpid(),
                "port": daemon.port if daemon else None,
                "started_at": daemon.started_at if daemon else None,
                "polls": lifecycle.polls,
                "last_poll": None
                if report is None
                else {
                    "started_at": report.started_at.isoformat(),
                    "duration_ms": round(report.duration_ms, 1),
                    "sessions_checked": report.sessions_checked,
                    "transitions": len(report.transitions),
                    "events": len(report.events),
                    "errors": report.errors[:20],
                },
                "last_error": lifecycle.last_error,
            }
        )

    async def webhook(request: Request) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_webhook_bytes:
            return JSONResponse({"error": f"body larger than {max_webhook_bytes} bytes"}, status_code=413)
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > max_webhook_bytes:
                return JSONResponse({"error": f"body larger than {max_webhook_bytes} bytes"}, status_code=413)
        delivery = WebhookRequest(
            method=request.method,
            path=request.url.path,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=bytes(body),
        )
        status, payload = await handle_webhook(lifecycle, delivery)
        return JSONResponse(payload, status_code=status)

    return Starlette(
        routes=[
            Route("/api/health", health, methods=["GET"]),
            Route("/api/webhooks/{provider}", webhook, methods=["POST"]),
        ]
    )


async def handle_webhook(lifecycle: LifecycleManager, delivery: WebhookRequest) -> tuple[int, dict[str, Any]]:
    """Verify and parse a delivery with every project's SCM; request checks of the sessions it concerns.

    Returns:
        The HTTP status and JSON body to answer.
    """
    config = lifecycle.config
    manager = lifecycle.manager
    failure: tuple[int, str] | None = None
    accepted = False
    affected: set[str] = set()
    candidates = 0
    for project_id, project in config.projects.items():
        if project.scm is None:
            continue
        try:
            scm = manager.scm_for(project_id)
        except AoError as exc:
            log.warning("webhook: projects.%s.scm cannot be loaded: %s", project_id, exc)
            continue
        if scm is None or not isinstance(scm, SupportsWebhooks):
            continue
        candidates += 1
        try:
            with anyio.fail_after(_VERIFY_TIMEOUT_S):
                verification = await scm.verify_webhook(delivery, project)
        except Exception as exc:  # a plugin failure is a refused delivery, never a crash of the server
            log.warning("webhook: %s verify_webhook failed: %s", project_id, exc)
            failure = failure or (500, "the SCM plugin could not verify the delivery")
            continue
        if not verification.ok:
            failure = failure or (verification.status_code, verification.reason or "refused")
            continue
        accepted = True
        try:
            with anyio.fail_after(_VERIFY_TIMEOUT_S):
                event = await scm.parse_webhook(delivery, project)
        except Exception as exc:  # accepted but not understood: nothing to check
            log.warning("webhook: %s parse_webhook failed: %s", project_id, exc)
            continue
        if event is not None:
            affected.update(s.id for s in _sessions_for(lifecycle.store, project_id, project, event))
    if candidates == 0:
        return 404, {"error": "no configured project has an SCM that accepts webhooks"}
    if not accepted:
        status, reason = failure or (401, "refused")
        return status, {"error": reason}
    if affected:
        lifecycle.request_check(affected)
    kind = delivery.headers.get("x-github-event", "?")
    log.info("webhook %s: checking %s", kind, ", ".join(sorted(affected)) or "nothing")
    return 202, {"accepted": True, "sessions": sorted(affected)}


def _sessions_for(store: Store, project_id: str, project: ProjectConfig, event: WebhookEvent) -> list[Session]:
    """The sessions of a project a webhook event concerns: by repository and PR number, branch or head SHA."""
    if event.owner and event.repo and project.repo and f"{event.owner}/{event.repo}".lower() != project.repo.lower():
        return []
    found: list[Session] = []
    for session in store.list_sessions(project_id, include_terminal=False):
        pr = session.pr
        by_pr = (
            event.pr_number is not None
            and pr is not None
            and pr.number == event.pr_number
            and (event.repo is None or pr.repo.lower() == event.repo.lower())
        )
        by_branch = event.branch is not None and session.branch == event.branch
        head = (session.metadata.get("prSnapshot") or {}).get("head_sha")
        by_sha = event.sha is not None and head == event.sha
        if by_pr or by_branch or by_sha:
            found.append(session)
    return found


# =========================================================================== the process


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise AoError(f"port {port} on {host} is in use; pick another with 'ao start --port N'") from exc
        raise AoError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.listen(128)
    sock.setblocking(False)
    return sock


@contextlib.contextmanager
def _daemon_files(state_dir: Path) -> Iterator[DaemonLock]:
    lock = DaemonLock(state_dir)
    lock.acquire()
    try:
        yield lock
    finally:
        info = DaemonInfo.read(lock.paths.info)
        if info is not None and info.pid == os.getpid():
            with contextlib.suppress(OSError):
                lock.paths.info.unlink()
        lock.release()


async def serve(
    config: OrchestratorConfig,
    registry: Registry,
    store: Store,
    manager: SessionManager,
    *,
    state_dir: Path,
    host: str = DEFAULT_HOST,
    port: int | None = None,
    token: str | None = None,
    on_ready: Callable[[DaemonInfo], None] | None = None,
    lifecycle: LifecycleManager | None = None,
) -> None:
    """Run the daemon until SIGTERM or SIGINT: the lifecycle loop and the HTTP server, in one task group.

    Args:
        config: The configuration (``port`` is the default port).
        registry: Plugins.
        store: The state database.
        manager: The session manager.
        state_dir: The state directory (lock, address file, logs).
        host: The address to listen on (beyond loopback only with ``token``).
        port: The port (``None``: ``config.port``; ``0``: any free port, written to ``daemon.json``).
        token: The API token.
        on_ready: Called once the server listens, with where it runs.
        lifecycle: The lifecycle manager to run (default: one built from the arguments).

    Raises:
        AoError: Another daemon runs for this state directory, the address is refused or in use, or
            starlette/uvicorn are missing.
    """
    check_listen_address(host, token)
    try:
        import uvicorn
    except ImportError as exc:
        raise AoError("the ao daemon needs starlette and uvicorn: pip install 'ao-core[daemon]'") from exc
    from ao_core.lifecycle import LifecycleManager

    with _daemon_files(state_dir) as lock:
        sock = _bind(host, config.port if port is None else port)
        try:
            info = DaemonInfo(
                pid=os.getpid(),
                host=host,
                port=int(sock.getsockname()[1]),
                started_at=utc_now().isoformat(timespec="seconds"),
                log=str(lock.paths.log),
                state_dir=str(state_dir),
            )
            info.write(lock.paths.info)
            lifecycle = lifecycle or LifecycleManager(config, registry, store, manager)
            app = build_app(lifecycle, token=token, info=lambda: info)
            server = _QuietServer(
                uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=5)
            )
            stop = anyio.Event()

            def request_stop() -> None:
                stop.set()
                server.should_exit = True

            async def watch_signals() -> None:
                with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                    async for signum in signals:
                        log.info("received %s: stopping (sessions keep running)", signal.Signals(signum).name)
                        request_stop()
                        return

            async def http() -> None:
                try:
                    await server.serve(sockets=[sock])
                finally:
                    request_stop()

            log.info("ao daemon started: %s", info.describe())
            async with anyio.create_task_group() as outer:
                outer.start_soon(watch_signals)
                async with anyio.create_task_group() as tg:
                    tg.start_soon(lifecycle.run, stop)
                    tg.start_soon(http)
                    if on_ready is not None:
                        await _wait_started(server)
                        on_ready(info)
                outer.cancel_scope.cancel()
            log.info("ao daemon stopped")
        finally:
            sock.close()


async def _wait_started(server: Any) -> None:
    # uvicorn offers no event for "listening"; its own main loop polls the same flags.
    with anyio.move_on_after(10):
        while not server.started and not server.should_exit:  # noqa: ASYNC110  # see above
            await anyio.sleep(0.01)


def _quiet_server_class() -> type[Any]:
    import uvicorn

    class QuietServer(uvicorn.Server):
        """uvicorn's server without its own signal handlers: the daemon handles SIGTERM/SIGINT itself."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return QuietServer


def _QuietServer(config: Any) -> Any:  # a factory standing in for the lazily defined class
    return _quiet_server_class()(config)
