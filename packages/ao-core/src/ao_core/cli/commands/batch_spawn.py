"""``ao batch-spawn``: one session per issue, skipping issues that already have a live session."""

from __future__ import annotations

import argparse
from typing import Any

from ao_core.cli._context import add_config_argument

DESCRIPTION = """\
Spawn one session per issue, one after the other. Issues that already have a live session (or appear
twice) are skipped. Prints what was created, skipped and failed.

  ao batch-spawn my-app 44 45 46
  ao batch-spawn 44 45 46            project from the current directory (or the only one)"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "batch-spawn",
        help="spawn one session per issue",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("target", nargs="+", metavar="[project] issue", help="optional project id, then issue ids")
    parser.add_argument("--agent", help="agent plugin for these sessions")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_config_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ao_core.cli._context import open_context, resolve_project, run_async
    from ao_core.cli._format import print_json
    from ao_core.errors import AoError

    ctx = open_context(args)
    target = list(args.target)
    project = target.pop(0) if target[0] in ctx.config.projects and len(target) > 1 else None
    project_id = resolve_project(ctx, project)
    live = ctx.manager.live_issue_sessions(project_id)
    created: dict[str, str] = {}
    skipped: dict[str, str] = {}
    failed: dict[str, str] = {}

    async def go() -> None:
        for issue in target:
            key = issue.lstrip("#").lower()
            if key in live:
                skipped[issue] = f"live session {live[key]}"
                continue
            try:
                session = await ctx.manager.spawn(project_id, issue_id=issue, agent=args.agent)
            except AoError as exc:
                failed[issue] = str(exc)
                continue
            created[issue] = session.id
            live[key] = session.id
            if not args.json:
                print(f"created {session.id} for issue {issue} ({session.branch})", flush=True)

    run_async(go)
    if args.json:
        print_json({"created": created, "skipped": skipped, "failed": failed})
    else:
        for issue, why in skipped.items():
            print(f"skipped issue {issue}: {why}")
        for issue, why in failed.items():
            print(f"failed  issue {issue}: {why}")
        print(f"{len(created)} created, {len(skipped)} skipped, {len(failed)} failed")
    return 1 if failed else 0
