"""``ao attach``: attach your terminal to a session."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from typing import Any

from ao_core.cli._context import add_config_argument


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "attach",
        help="attach your terminal to a session",
        description="Attach this terminal to a session (tmux attach, docker exec...). Without a terminal, "
        "print the command instead.",
    )
    add_arguments(parser)
    parser.set_defaults(handler=run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", help="session id")
    parser.add_argument("--print", action="store_true", help="only print the attach command")
    add_config_argument(parser)


def run(args: argparse.Namespace) -> int:  # noqa: RET503  # ends in exec, which does not return
    from ao_core.cli._context import open_context, run_async
    from ao_core.errors import SessionError
    from ao_core.interfaces import SupportsAttachInfo

    ctx = open_context(args)

    async def go() -> str:
        session = await ctx.manager.get(args.session)
        if session.runtime_handle is None or session.is_terminal:
            raise SessionError(
                f"session '{args.session}' is not running; restore it with: ao session restore {args.session}"
            )
        runtime = ctx.manager.runtime_for(session.project_id, session.runtime_handle.runtime_name)
        if not isinstance(runtime, SupportsAttachInfo):
            raise SessionError(f"the {session.runtime_handle.runtime_name} runtime offers no way to attach")
        info = await runtime.get_attach_info(session.runtime_handle)
        if info.command is None:
            raise SessionError(f"attach to {info.type} target {info.target} with your own tool")
        return info.command

    command = run_async(go)
    if args.print or not sys.stdout.isatty():
        print(command)
        return 0
    argv = shlex.split(command)
    os.execvp(argv[0], argv)
