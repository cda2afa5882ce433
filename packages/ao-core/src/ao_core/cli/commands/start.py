"""``ao start``: run the daemon (lifecycle manager + webhook/health server), in the background by default."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ao_core.cli._context import add_config_argument

DESCRIPTION = """\
Start the ao daemon for this state directory: it polls every session (runtime, agent, pull request, CI,
reviews), records each status change with its evidence, tells agents about CI failures, review comments
and conflicts, and notifies you when a decision is needed. It also serves webhooks and a health check on
127.0.0.1 (the config's port, 3000 by default). One daemon runs per state directory; 'ao stop' ends it and
leaves the sessions running.

  ao start                     in the background; prints its pid, address and log file
  ao start --foreground        in this terminal (logs on stderr); Ctrl-C stops it
  ao start --port 0            any free port (written to <state>/daemon.json)

Listening beyond loopback (--host) needs a token in AO_DAEMON_TOKEN; requests then send
'Authorization: Bearer <token>' (webhook deliveries are verified by their signature instead)."""

DETACHED_ENV = "AO_DAEMON_DETACHED"
_START_TIMEOUT_S = 30.0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "start",
        help="start the daemon: lifecycle polling, reactions, notifications, webhooks",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--foreground", action="store_true", help="run in this terminal instead of detaching")
    parser.add_argument("--port", type=int, help="port of the HTTP server (default: the config's port, 3000)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    add_config_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ao_core.daemon import check_listen_address, daemon_paths, running_daemon
    from ao_core.errors import AoError

    token = os.environ.get("AO_DAEMON_TOKEN") or None
    check_listen_address(args.host, token)
    if args.port is not None and not 0 <= args.port <= 65535:
        raise AoError(f"--port {args.port} is not a port number (0-65535; 0 picks a free one)")
    if args.foreground:
        return _run_foreground(args, token)

    from ao_core.config import load_config
    from ao_core.paths import state_dir

    config = load_config(args.config)
    root = state_dir(config.state_dir)
    running = running_daemon(root)
    if running is not None:
        raise AoError(f"an ao daemon is already running for {root} ({running.describe()}); stop it with 'ao stop'")
    return _start_detached(args, root, daemon_paths(root))


def _run_foreground(args: argparse.Namespace, token: str | None) -> int:
    from ao_core.cli._context import open_context, run_async
    from ao_core.daemon import DaemonInfo, configure_logging, daemon_paths, serve

    ctx = open_context(args)
    paths = daemon_paths(ctx.state_dir)
    detached = os.environ.get(DETACHED_ENV) == "1"
    configure_logging(paths.log, stderr=not detached, verbose=bool(getattr(args, "verbose", False)))

    def ready(info: DaemonInfo) -> None:
        if not detached:
            print(f"ao daemon running: {info.describe()} (Ctrl-C stops it; sessions keep running)", file=sys.stderr)

    async def go() -> None:
        await serve(
            ctx.config,
            ctx.registry,
            ctx.store,
            ctx.manager,
            state_dir=ctx.state_dir,
            host=args.host,
            port=args.port,
            token=token,
            on_ready=ready,
        )

    try:
        run_async(go)
    finally:
        ctx.store.close()
    return 0


def _start_detached(args: argparse.Namespace, root: Any, paths: Any) -> int:
    import subprocess
    import time

    from ao_core.daemon import running_daemon
    from ao_core.errors import AoError

    argv = [sys.executable, "-m", "ao_core", "start", "--foreground", "--host", args.host]
    if args.port is not None:
        argv += ["--port", str(args.port)]
    if args.config is not None:
        argv += ["--config", str(args.config.resolve())]
    paths.out.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, DETACHED_ENV: "1", "AO_STATE_DIR": str(root)}
    with paths.out.open("ab") as out:
        child = subprocess.Popen(  # the daemon outlives this command: no wait here
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            env=env,
            cwd="/",
            start_new_session=True,
            close_fds=True,
        )
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        info = running_daemon(root)
        if info is not None and info.pid == child.pid and _healthy(info.url):
            print(f"ao daemon started: pid {info.pid}, {info.url}")
            print(f"log: {info.log}")
            return 0
        if child.poll() is not None:
            raise AoError(f"the ao daemon exited at start (code {child.returncode}):\n{_tail(paths.out)}")
        time.sleep(0.05)
    raise AoError(f"the ao daemon (pid {child.pid}) did not answer within {_START_TIMEOUT_S:.0f}s; see {paths.log}")


def _healthy(url: str) -> bool:
    import urllib.error
    import urllib.request

    token = os.environ.get("AO_DAEMON_TOKEN")
    request = urllib.request.Request(f"{url}/api/health")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=2) as response:  # our own loopback URL
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _tail(path: Any, lines: int = 20) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no output)"
    return "\n".join(text.splitlines()[-lines:]) or "(no output)"
