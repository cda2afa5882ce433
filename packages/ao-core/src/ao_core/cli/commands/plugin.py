"""``ao plugin new``: create a plugin package from the template."""

from __future__ import annotations

import argparse
from typing import Any

_NEW_EPILOG = """\
The package is a working plugin with its tests: install it and run them, then change it.
  notifier  appends every event as a JSON line to a file
  runtime   runs the launch command as a detached process; stdin is a named pipe, output goes to a log
  terminal  opens each session by running a command you configure (a terminal emulator)

Example:
  ao plugin new notifier my-alerts --description "Send ao events to my pager"
  pip install -e packages/ao-notifier-my-alerts
  pytest packages/ao-notifier-my-alerts/tests

The guide: docs/plugins.md."""


def register(subparsers: Any) -> None:
    """Add ``ao plugin`` and ``ao plugin new`` to the ``ao`` parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "plugin",
        help="create a new plugin package (ao plugin new)",
        description="Work on plugin packages. 'ao plugins' lists the plugins ao can find.",
    )
    sub = parser.add_subparsers(title="subcommands", metavar="<subcommand>")

    def usage(_: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    parser.set_defaults(handler=usage)
    new = sub.add_parser(
        "new",
        help="create a plugin package from the template",
        description="Create the package ao-<slot>-<name> (import name ao_<slot>_<name>) from the template: "
        "pyproject.toml with the ao.<slot> entry point, README, the plugin module, and tests that run the "
        "slot's contract suite.",
        epilog=_NEW_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    new.add_argument("slot", help="the slot: notifier, runtime or terminal")
    new.add_argument("name", help="the plugin's name: lowercase letters, digits and '-' (e.g. my-alerts)")
    new.add_argument(
        "--dir",
        metavar="DIR",
        help="where to create the package directory (default: ./packages if it exists, else the current directory)",
    )
    new.add_argument("--description", metavar="TEXT", help="one line saying what the plugin does")
    new.set_defaults(handler=run_new)


def run_new(args: argparse.Namespace) -> int:
    """Create the package and print the next steps."""
    import shlex
    from pathlib import Path

    from ao_core._registry_scaffold import ScaffoldError, plugin_names, scaffold
    from ao_core.models import PluginSlot
    from ao_core.registry import BUILTIN_PLUGINS

    names = plugin_names(args.slot, args.name, args.description)
    builtin = BUILTIN_PLUGINS.get((PluginSlot(names.slot), names.name))
    if builtin is not None:
        raise ScaffoldError(
            f"'{names.name}' is the name of the first-party {names.slot} plugin ({builtin.distribution}); "
            "choose another name"
        )
    default_dir = Path("packages") if Path("packages").is_dir() else Path()
    target = scaffold(names, Path(args.dir) if args.dir is not None else default_dir)
    package = shlex.quote(str(target))
    print(f"created {target}: the {names.slot} plugin '{names.name}' (import name {names.module})")
    print("next steps:")
    in_ao_repository = Path("scripts/bootstrap").is_file() and target.resolve().parent == Path("packages").resolve()
    if in_ao_repository:
        print("  scripts/bootstrap   # installs it (editable) and its test group, like every package here")
    else:
        print(f"  pip install -e {package}   # registers the entry point ao.{names.slot}: {names.name}")
        print("  pip install ao-testing pytest pytest-timeout   # its test group, unless installed already")
    print(f"  python -m pytest {shlex.quote(str(target / 'tests'))}")
    print(f"  ao plugins --slot {names.slot}   # lists it as installed")
    print(f"then change src/{names.module}/ and README.md to do what you need (guide: docs/plugins.md)")
    return 0
