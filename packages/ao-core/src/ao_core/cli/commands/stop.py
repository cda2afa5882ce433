"""``ao stop``: stop the daemon; sessions keep running unless --kill-sessions."""

from __future__ import annotations

import argparse
from typing import Any

from ao_core.cli._context import add_config_argument

DESCRIPTION = """\
Stop the ao daemon of this state directory (SIGTERM; a running poll finishes first). Sessions keep running:
agents go on working unsupervised until 'ao start' again. --kill-sessions also ends every session (its
runtime session and workspace; branches are kept).

  ao stop
  ao stop --kill-sessions"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "stop",
        help="stop the daemon (sessions keep running unless --kill-sessions)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--kill-sessions", action="store_true", help="also end every running session")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the daemon to exit")
    add_config_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import contextlib
    import os
    import signal
    import time

    from ao_core.config import load_config
    from ao_core.daemon import is_ao_daemon_process, running_daemon
    from ao_core.errors import AoError
    from ao_core.paths import state_dir

    config = load_config(args.config)
    root = state_dir(config.state_dir)
    info = running_daemon(root)
    if info is None:
        print(f"no ao daemon is running for {root}")
    elif info.pid <= 0:
        raise AoError(f"an ao daemon is starting for {root}; try again in a moment")
    else:
        if not is_ao_daemon_process(info.pid):
            raise AoError(f"process {info.pid} named in {root / 'daemon.json'} is not an ao daemon; not signalling it")
        with contextlib.suppress(ProcessLookupError):  # it ended meanwhile: the wait below sees it
            os.kill(info.pid, signal.SIGTERM)
        deadline = time.monotonic() + args.timeout
        while running_daemon(root) is not None:
            if time.monotonic() > deadline:
                raise AoError(
                    f"the ao daemon (pid {info.pid}) did not stop within {args.timeout:g}s; "
                    f"see {info.log}, or end it with: kill -9 {info.pid}"
                )
            time.sleep(0.05)
        print(
            f"stopped the ao daemon (pid {info.pid}); sessions keep running"
            if not args.kill_sessions
            else f"stopped the ao daemon (pid {info.pid})"
        )
    if args.kill_sessions:
        return _kill_sessions(args)
    return 0


def _kill_sessions(args: argparse.Namespace) -> int:
    from ao_core.cli._context import open_context, run_async
    from ao_core.errors import AoError

    ctx = open_context(args)
    failed = 0

    async def go() -> list[str]:
        nonlocal failed
        killed: list[str] = []
        for session in ctx.store.list_sessions(include_terminal=False):
            if session.project_id not in ctx.config.projects:
                continue
            try:
                await ctx.manager.kill(session.id, reason="stopped with ao stop --kill-sessions")
            except AoError as exc:
                failed += 1
                print(f"{session.id}: {exc}")
                continue
            killed.append(session.id)
        return killed

    killed = run_async(go)
    print(f"killed {len(killed)} session(s)" + (f": {', '.join(killed)}" if killed else ""))
    return 1 if failed else 0
