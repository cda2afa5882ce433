"""``ao session``: list, kill, restore, clean up and attach to sessions."""

from __future__ import annotations

import argparse
import functools
from typing import Any

from ao_core.cli._context import add_config_argument


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "session",
        help="list, kill, restore, clean up or attach to sessions",
        description="Manage sessions one by one. See 'ao session <command> --help'.",
    )
    sub = parser.add_subparsers(title="session commands", metavar="<command>", required=True)

    ls = sub.add_parser("ls", help="list sessions", description="List sessions (ended ones with --all).")
    ls.add_argument("-p", "--project", help="only this project")
    ls.add_argument("-a", "--all", action="store_true", help="include killed and cleaned-up sessions")
    ls.add_argument("--json", action="store_true", help="print JSON")
    add_config_argument(ls)
    ls.set_defaults(handler=run_ls)

    kill = sub.add_parser(
        "kill",
        help="end a session (its runtime session and workspace; the branch is kept)",
        description="End a session: destroy its runtime session and its workspace. The branch and the session's "
        "record are kept, so it can be restored. Killing an ended session is not an error.",
    )
    kill.add_argument("session", nargs="+", help="session id(s)")
    add_config_argument(kill)
    kill.set_defaults(handler=run_kill)

    restore = sub.add_parser(
        "restore",
        help="bring an ended or crashed session back",
        description="Restore a session whose runtime died or that was killed: recreate its workspace if needed, "
        "on the same branch, and relaunch the agent, resuming its conversation when the agent supports it.",
    )
    restore.add_argument("session", help="session id")
    add_config_argument(restore)
    restore.set_defaults(handler=run_restore)

    cleanup = sub.add_parser(
        "cleanup",
        help="kill sessions whose runtime died, whose issue is done or whose PR is closed",
        description="Kill every session whose runtime is dead, whose issue is completed, or whose PR was closed or "
        "merged. --dry-run only says what would be killed.",
    )
    cleanup.add_argument("-p", "--project", help="only this project")
    cleanup.add_argument("--dry-run", action="store_true", help="say what would be killed, kill nothing")
    cleanup.add_argument("--json", action="store_true", help="print JSON")
    add_config_argument(cleanup)
    cleanup.set_defaults(handler=run_cleanup)

    output = sub.add_parser(
        "output",
        help="print the last lines a session shows",
        description="Print the last lines of a session's terminal or log, without attaching to it.",
    )
    output.add_argument("session", help="session id")
    output.add_argument("-n", "--lines", type=int, default=40, help="how many lines (default 40)")
    add_config_argument(output)
    output.set_defaults(handler=run_output)

    claim = sub.add_parser(
        "claim-pr",
        help="attach an existing pull request to a session",
        description="Check an open pull request's branch out in a session's workspace and make the session track "
        "it (CI failures and reviews then reach this session's agent). Other sessions tracking the same pull "
        "request let go of it. The session defaults to $AO_SESSION_ID (inside an agent's session).",
    )
    claim.add_argument("pr", help="pull request number (42, #42) or URL")
    claim.add_argument("session", nargs="?", help="session id (default: $AO_SESSION_ID)")
    claim.add_argument("--assign-on-github", action="store_true", help="also assign the pull request to you")
    add_config_argument(claim)
    claim.set_defaults(handler=run_claim)

    from ao_core.cli.commands import attach

    att = sub.add_parser("attach", help="attach your terminal to a session", description=attach.__doc__)
    attach.add_arguments(att)
    att.set_defaults(handler=attach.run)


def run_ls(args: argparse.Namespace) -> int:
    from ao_core.cli._context import open_context, run_async
    from ao_core.cli._format import age, print_json, table

    ctx = open_context(args)
    sessions = run_async(lambda: ctx.manager.list_sessions(args.project))
    shown = [s for s in sessions if args.all or not s.is_terminal]
    if args.json:
        print_json(
            {
                "data": [s.model_dump(mode="json") for s in shown],
                "meta": {"hiddenTerminatedCount": len(sessions) - len(shown)},
            }
        )
        return 0
    rows = [
        [s.id, s.project_id, str(s.status), s.branch or "-", s.pr.url if s.pr else "-", age(s.created_at)]
        for s in shown
    ]
    print(table(["SESSION", "PROJECT", "STATUS", "BRANCH", "PR", "AGE"], rows) if rows else "no sessions")
    return 0


def run_kill(args: argparse.Namespace) -> int:
    from ao_core.cli._context import open_context, run_async

    ctx = open_context(args)
    for session_id in args.session:
        result = run_async(functools.partial(ctx.manager.kill, session_id))
        print(f"{session_id}: {'already ended' if result.already_terminated else 'killed'}")
    return 0


def run_restore(args: argparse.Namespace) -> int:
    from ao_core.cli._context import open_context, run_async

    ctx = open_context(args)
    session = run_async(lambda: ctx.manager.restore(args.session))
    print(f"{session.id} restored on branch {session.branch} in {session.workspace_path}")
    return 0


def run_cleanup(args: argparse.Namespace) -> int:
    from ao_core.cli._context import open_context, run_async
    from ao_core.cli._format import print_json

    ctx = open_context(args)
    result = run_async(lambda: ctx.manager.cleanup(args.project, dry_run=args.dry_run))
    if args.json:
        print_json(
            {"killed": result.killed, "skipped": result.skipped, "errors": result.errors, "dryRun": args.dry_run}
        )
        return 1 if result.errors else 0
    verb = "would kill" if args.dry_run else "killed"
    for session_id, reason in result.killed.items():
        print(f"{verb} {session_id}: {reason}")
    for session_id, error in result.errors.items():
        print(f"error   {session_id}: {error}")
    print(f"{len(result.killed)} {verb}, {len(result.skipped)} left alone, {len(result.errors)} errors")
    return 1 if result.errors else 0


def run_output(args: argparse.Namespace) -> int:
    from ao_core.cli._context import open_context, run_async

    ctx = open_context(args)
    print(run_async(lambda: ctx.manager.get_output(args.session, args.lines)))
    return 0


def run_claim(args: argparse.Namespace) -> int:
    import os

    from ao_core.cli._context import open_context, run_async
    from ao_core.errors import SessionError

    session_id = args.session or os.environ.get("AO_SESSION_ID")
    if not session_id:
        raise SessionError("name the session: ao session claim-pr <pr> <session> (or run it inside a session)")
    ctx = open_context(args)
    result = run_async(lambda: ctx.manager.claim_pr(session_id, args.pr, assign=args.assign_on_github))
    moved = "checked out" if result.branch_changed else "already checked out"
    print(f"{session_id} now tracks PR #{result.pr.number} ({result.pr.url}); branch {result.pr.branch} {moved}")
    if result.taken_over_from:
        print(f"  taken over from: {', '.join(result.taken_over_from)}")
    if args.assign_on_github:
        print("  assigned to you" if result.assigned else f"  not assigned: {result.assign_error}")
    return 0
