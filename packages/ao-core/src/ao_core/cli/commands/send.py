"""``ao send``: deliver a message to a session's agent, confirmed submitted."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ao_core.cli._context import add_config_argument

DESCRIPTION = """\
Send a message to the agent of a session. ao waits until the agent has finished its turn, types the
message in, presses Enter and confirms it was submitted. A session whose runtime died is restored first.

  ao send my-app-1 "also add tests"
  ao send my-app-1 -f review-notes.md
  echo "carry on" | ao send my-app-1 -f -
  ao send my-app-1 --no-wait "stop and open the PR now"   queue it even while the agent is busy"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "send",
        help="send a message to a session's agent",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("session", help="session id (see 'ao status')")
    parser.add_argument("message", nargs="*", help="the message (words are joined with spaces)")
    parser.add_argument("-f", "--file", help="read the message from a file ('-' for standard input)")
    parser.add_argument("--no-wait", action="store_true", help="do not wait for the agent to finish its turn")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the agent (default 600)")
    add_config_argument(parser)
    parser.set_defaults(handler=run)


def read_message(args: argparse.Namespace) -> str:
    from ao_core.errors import SessionError

    if args.file and args.message:
        raise SessionError("give the message as arguments or with --file, not both")
    if args.file == "-":
        return sys.stdin.read()
    if args.file:
        try:
            return Path(args.file).read_text(encoding="utf-8")
        except OSError as exc:
            raise SessionError(f"cannot read message file {args.file}: {exc.strerror}") from exc
    return " ".join(args.message)


def run(args: argparse.Namespace) -> int:
    from ao_core.cli._context import open_context, run_async

    message = read_message(args)
    ctx = open_context(args)

    async def go() -> None:
        await ctx.manager.send(args.session, message, wait=not args.no_wait, timeout_s=args.timeout)

    run_async(go)
    print(f"sent to {args.session} ({len(message)} characters)")
    return 0
