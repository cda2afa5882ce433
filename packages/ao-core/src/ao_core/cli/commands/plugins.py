"""``ao plugins``: every plugin ao can find, where it comes from, and whether it loads."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ao_core.config import OrchestratorConfig
    from ao_core.registry import PluginInfo

_SLOTS = ("runtime", "agent", "workspace", "tracker", "scm", "notifier", "terminal")

_EPILOG = """\
Sources, in the order they are searched:
  built-in   the first-party plugins (ao-runtime-tmux, ...); "not installed" says what to pip install
  installed  entry points of installed distributions, group ao.<slot>
  local      paths (and packages) listed under 'plugins:' in the config file

Without a config file only built-in and installed plugins are listed."""


def register(subparsers: Any) -> None:
    """Add ``ao plugins`` to the ``ao`` parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "plugins",
        help="list every plugin ao can find, its source, version and any load error",
        description="List every discoverable plugin, grouped by slot: its name, source, origin, version, "
        "description, and why it cannot be used (load error, conflict, not installed).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--slot", choices=_SLOTS, help="list only this slot's plugins")
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="the config whose local plugins to include (default: $AO_CONFIG_PATH, else agent-orchestrator.yaml "
        "in this directory or a parent, else the global config; none found: list without local plugins)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """List the plugins."""
    from ao_core.registry import Registry

    config = _config(args.config)
    registry = Registry() if config is None else Registry.from_config(config)
    infos = registry.discover()
    if args.slot is not None:
        infos = [info for info in infos if info.slot.value == args.slot]
    if args.json:
        _print_json(config, infos)
    else:
        _print_table(config, infos)
    return 0


def _config(path: str | None) -> OrchestratorConfig | None:
    from pathlib import Path

    from ao_core.config import find_config_file, load_config
    from ao_core.errors import ConfigError

    if path is not None:
        return load_config(Path(path))
    try:
        found = find_config_file()
    except ConfigError:
        return None
    try:
        return load_config(found)
    except ConfigError as exc:
        print(f"ao: warning: {exc}; listing plugins without the config's local plugins", file=sys.stderr)
        return None


def _as_dict(info: PluginInfo) -> dict[str, Any]:
    return {
        "slot": info.slot.value,
        "name": info.name,
        "source": info.source,
        "origin": info.origin,
        "module": info.module,
        "version": info.version,
        "description": info.description,
        "error": info.error,
        "installed": info.installed,
        "install": info.install_hint,
    }


def _print_json(config: OrchestratorConfig | None, infos: list[PluginInfo]) -> None:
    import json

    path = config.config_path if config is not None else None
    document = {"config": str(path) if path is not None else None, "plugins": [_as_dict(i) for i in infos]}
    json.dump(document, sys.stdout, indent=2)
    sys.stdout.write("\n")


def _status(info: PluginInfo) -> str:
    if info.install_hint is not None:
        return f"not installed ({info.install_hint})"
    if info.error is not None:
        return f"error: {info.error}"
    return info.description or ""


def _print_table(config: OrchestratorConfig | None, infos: list[PluginInfo]) -> None:
    if config is not None:
        print(f"config: {config.config_path}")
    else:
        print("config: none found (local plugins are not listed)")
    if not infos:
        print("no plugins found")
        return
    rows = [(i.name, i.source, i.version or "-", i.origin, _status(i)) for i in infos]
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    current = None
    for info, row in zip(infos, rows, strict=True):
        if info.slot != current:
            current = info.slot
            print(f"\n{info.slot.value}")
        cells = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)]
        print("  " + "  ".join([*cells, row[4]]).rstrip())
    usable = sum(1 for i in infos if i.installed and i.error is None)
    missing = sum(1 for i in infos if not i.installed)
    broken = sum(1 for i in infos if i.installed and i.error is not None)
    print(f"\n{len(infos)} plugins: {usable} usable, {missing} not installed, {broken} with errors")
