"""``ao lifecycle``: run the lifecycle manager once, or check one session now (for scripts and tests)."""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from ao_core.cli._context import add_config_argument

DESCRIPTION = """\
Run the lifecycle manager by hand, without the daemon: probe every session, refresh pull requests, decide
statuses, run reactions and notify, exactly as one poll of 'ao start' does.

  ao lifecycle run-once            one poll; prints a summary and each transition
  ao lifecycle run-once --json     the poll report: transitions, events, reactions, SCM calls, duration
  ao lifecycle check my-app-3      one session now, re-reading its reviews and pull request"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "lifecycle",
        help="run one lifecycle poll (or check one session) without the daemon",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(title="lifecycle commands", metavar="<command>", required=True)
    once = sub.add_parser("run-once", help="poll every session once", description="Poll every session once.")
    once.add_argument("--json", action="store_true", help="print the poll report as JSON")
    add_config_argument(once)
    once.set_defaults(handler=run_once)
    check = sub.add_parser("check", help="check one session now", description="Check one session now.")
    check.add_argument("session", help="session id")
    check.add_argument("--json", action="store_true", help="print the poll report as JSON")
    add_config_argument(check)
    check.set_defaults(handler=run_check)


def _lifecycle(args: argparse.Namespace) -> Any:
    import logging
    import sys

    from ao_core.cli._context import open_context
    from ao_core.daemon import running_daemon
    from ao_core.lifecycle import LifecycleManager

    ctx = open_context(args)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.getLogger("ao").addHandler(handler)
    logging.getLogger("ao").setLevel(logging.WARNING)
    daemon = running_daemon(ctx.state_dir)
    if daemon is not None and daemon.pid > 0:
        print(f"note: the ao daemon (pid {daemon.pid}) polls too; reactions are never repeated", file=sys.stderr)
    return ctx, LifecycleManager(ctx.config, ctx.registry, ctx.store, ctx.manager)


def _print(report: Any, as_json: bool) -> int:
    from ao_core.cli._format import print_json

    if as_json:
        print_json(report.to_dict())
    else:
        print(report.summary())
        for t in report.transitions:
            print(f"  {t.session_id}: {t.old} → {t.new} — {t.evidence}")
        for r in report.reactions:
            detail = f" — {r.detail}" if r.detail else ""
            print(f"  {r.session_id}: reaction {r.key} ({r.action}): {r.result}{detail}")
        for e in report.errors:
            print(f"  error: {e}")
    return 1 if report.errors and not report.sessions_checked else 0


def run_once(args: argparse.Namespace) -> int:
    from ao_core.cli._context import run_async

    ctx, lifecycle = _lifecycle(args)
    try:
        report = run_async(lifecycle.poll_once)
    finally:
        ctx.store.close()
    return _print(report, args.json)


def run_check(args: argparse.Namespace) -> int:
    from ao_core.cli._context import run_async

    ctx, lifecycle = _lifecycle(args)
    try:
        if ctx.store.get_session(args.session) is None:
            _missing(ctx, args.session)
        report = run_async(lambda: lifecycle.check(args.session))
    finally:
        ctx.store.close()
    return _print(report, args.json)


def _missing(ctx: Any, session_id: str) -> NoReturn:
    from ao_core.errors import SessionNotFoundError

    raise SessionNotFoundError(session_id, known=[s.id for s in ctx.store.list_sessions()])
