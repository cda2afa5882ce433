"""The ``ao`` command.

Each subcommand lives in a module of :mod:`ao_core.cli.commands` that exposes ``register(subparsers)``.
Command modules import only ``argparse`` and the standard library at module level; everything heavy
(pydantic, plugins, client libraries) is imported inside the handler, so ``ao --help`` stays fast.
This is the one place where an :class:`~ao_core.errors.AoError` becomes a message and an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import traceback
from collections.abc import Sequence

from ao_core.cli import commands as _commands

__all__ = ["build_parser", "main"]

_DESCRIPTION = """\
ao runs AI coding agents in parallel, each in its own git worktree and session, ties each to an
issue, watches its pull request, CI and reviews, feeds failures back to the agent, and tells you
only when a decision is needed."""

_EPILOG = """\
Typical use:
  ao init                      write agent-orchestrator.yaml for the repository you are in
  ao spawn my-app 42           an agent works issue #42 in its own worktree
  ao status                    every session, its PR, CI, review and activity

'ao <command> --help' explains a command."""


class _VersionAction(argparse.Action):
    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from importlib.metadata import version

        print(f"ao {version('ao-core')}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every subcommand found in :mod:`ao_core.cli.commands`."""
    parser = argparse.ArgumentParser(
        prog="ao",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_VersionAction)
    parser.add_argument("-v", "--verbose", action="store_true", help="show tracebacks and debug logs")
    subparsers = parser.add_subparsers(title="commands", metavar="<command>")
    for info in sorted(pkgutil.iter_modules(_commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{_commands.__name__}.{info.name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ao`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    from ao_core.errors import AoError

    try:
        result = handler(args)
    except AoError as exc:
        if args.verbose:
            traceback.print_exc()
        print(f"ao: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("ao: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)
