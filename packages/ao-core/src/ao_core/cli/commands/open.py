"""``ao open``: open a project's sessions (or all) through the terminal plugin."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ao_core.cli._context import add_config_argument

if TYPE_CHECKING:
    from ao_core.cli._context import Context
    from ao_core.models import Session


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "open",
        help="open a project's sessions in your terminal",
        description="Open every live session of a project (or 'all') through the configured terminal plugin. "
        "Without a terminal plugin, print the command that attaches to each.",
    )
    parser.add_argument("target", nargs="?", default="all", help="project id, session id, or 'all' (default)")
    add_config_argument(parser)
    parser.set_defaults(handler=run)


async def open_sessions(ctx: Context, sessions: Sequence[Session]) -> None:
    """Open sessions through their project's terminal plugin, else print their attach commands."""
    from ao_core.interfaces import SupportsAttachInfo, Terminal

    by_project: dict[str, list[Session]] = {}
    for session in sessions:
        by_project.setdefault(session.project_id, []).append(session)
    for project_id, group in by_project.items():
        project = ctx.config.projects[project_id]
        ref = project.terminal or ctx.config.defaults.terminal
        if ref is not None:
            terminal: Terminal = ctx.registry.create("terminal", ref, key_path=f"projects.{project_id}.terminal")
            await terminal.open_all(group)
            continue
        for session in group:
            if session.runtime_handle is None:
                continue
            runtime = ctx.manager.runtime_for(project_id, session.runtime_handle.runtime_name)
            if isinstance(runtime, SupportsAttachInfo):
                info = await runtime.get_attach_info(session.runtime_handle)
                print(f"{session.id}: {info.command or info.target}")


def run(args: argparse.Namespace) -> int:
    from ao_core.cli._context import open_context, run_async

    ctx = open_context(args)

    async def go() -> int:
        sessions = [s for s in await ctx.manager.list_sessions() if not s.is_terminal]
        if args.target != "all":
            if args.target in ctx.config.projects:
                sessions = [s for s in sessions if s.project_id == args.target]
            else:
                sessions = [await ctx.manager.get(args.target)]
        if not sessions:
            print("no live sessions")
            return 0
        await open_sessions(ctx, sessions)
        return 0

    return run_async(go)
