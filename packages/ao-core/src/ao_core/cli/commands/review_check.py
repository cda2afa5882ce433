"""``ao review-check``: send each session its unresolved review comments now."""

from __future__ import annotations

import argparse
from typing import Any

from ao_core.cli._context import add_config_argument

DESCRIPTION = """\
For every running session with a pull request: read its unresolved review threads and review decision,
and when there are comments to address (or changes requested) send the agent the review feedback now:
every comment with path:line, author and body, plus the review summaries. Feedback already sent is not
sent again (--force sends it anyway).

  ao review-check                 every project
  ao review-check my-app --dry-run   print what would be sent, send nothing"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "review-check",
        help="send agents their unresolved review comments now",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("project", nargs="?", help="only this project")
    parser.add_argument("--dry-run", action="store_true", help="print the messages, send nothing")
    parser.add_argument("--force", action="store_true", help="send even feedback that was sent before")
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_config_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from ao_core.cli._context import open_context, run_async
    from ao_core.cli._format import print_json
    from ao_core.lifecycle import LifecycleManager

    ctx = open_context(args)
    if args.project is not None:
        ctx.manager.project(args.project)
    lifecycle = LifecycleManager(ctx.config, ctx.registry, ctx.store, ctx.manager)
    try:
        results = run_async(lambda: lifecycle.review_check(args.project, dry_run=args.dry_run, force=args.force))
    finally:
        ctx.store.close()
    if args.json:
        print_json([asdict(r) for r in results])
        return 0
    if not results:
        print("no running session has a pull request")
    for result in results:
        print(f"{result.session_id} ({result.pr_url}): {result.result}; {result.comments} unresolved comment(s)")
        if args.dry_run and result.message:
            print("\n".join(f"    {line}" for line in result.message.splitlines()))
    return 0
