"""``ao status``: every session with its branch, PR, CI, review, activity and age."""

from __future__ import annotations

import argparse
import time
from typing import Any

from ao_core.cli._context import add_config_argument

DESCRIPTION = """\
One line per session: id, status, branch, PR, CI, review, activity, age and cost. Reads the state store
(kept fresh by the 'ao start' daemon) and checks that each session's runtime is still alive.

  ao status                  every project
  ao status -p my-app --json
  ao status --watch          redraw every 5 seconds
  ao status -v               also show the evidence of each session's status"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "status",
        help="show every session, its PR, CI, review and activity",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-p", "--project", help="only this project")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("-w", "--watch", action="store_true", help="redraw until interrupted")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between redraws (default 5)")
    parser.add_argument("-a", "--all", action="store_true", help="include killed and cleaned-up sessions")
    parser.add_argument("-v", "--evidence", action="store_true", help="show why each session has its status")
    add_config_argument(parser)
    parser.set_defaults(handler=run)


def _row(session: Any, evidence: bool) -> list[str]:
    from ao_core.cli._format import age

    snap = session.metadata.get("prSnapshot") or {}
    pr = f"#{session.pr.number}" if session.pr else "-"
    cost = session.agent_info.cost if session.agent_info else None
    row = [
        session.id,
        str(session.status),
        session.branch or "-",
        pr,
        str(snap.get("ci_status", "-")),
        str(snap.get("review_decision", "-")),
        str(session.activity) if session.activity else "-",
        age(session.created_at),
        f"${cost.estimated_cost_usd:.2f}" if cost else "-",
    ]
    if evidence:
        row.append(session.status_evidence or "-")
    return row


def run(args: argparse.Namespace) -> int:
    from ao_core.cli._context import open_context, run_async
    from ao_core.cli._format import print_json, table

    ctx = open_context(args)
    if args.project is not None:
        ctx.manager.project(args.project)
    headers = ["SESSION", "STATUS", "BRANCH", "PR", "CI", "REVIEW", "ACTIVITY", "AGE", "COST"]
    if args.evidence:
        headers.append("EVIDENCE")
    while True:
        sessions = run_async(lambda: ctx.manager.list_sessions(args.project))
        shown = [s for s in sessions if args.all or args.json or not s.is_terminal]
        if args.json:
            print_json([s.model_dump(mode="json") for s in shown])
        else:
            if args.watch:
                print("\033[2J\033[H", end="")
            if shown:
                print(table(headers, [_row(s, args.evidence) for s in shown]))
            else:
                print("no sessions" + ("" if args.all else " running (ao status --all shows ended ones)"))
            hidden = len(sessions) - len(shown)
            if hidden and not args.all:
                print(f"({hidden} ended sessions hidden; --all shows them)")
        if not args.watch:
            return 0
        time.sleep(args.interval)
