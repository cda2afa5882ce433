"""``ao config validate`` and ``ao config show``: check the config file, or print the effective config."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ao_core.config import OrchestratorConfig

_SHOW_EPILOG = """\
Secrets are redacted: values that came from a ${VAR} expansion and values of keys named like
token, apiKey, secret, password or webhookUrl are printed as "***" (--no-redact prints them)."""


def register(subparsers: Any) -> None:
    """Add ``ao config`` and its subcommands to the ``ao`` parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "config",
        help="check the config file or print the effective configuration",
        description="Check agent-orchestrator.yaml, or print the configuration ao actually uses.",
    )
    sub = parser.add_subparsers(title="subcommands", metavar="<subcommand>")

    def usage(_: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    parser.set_defaults(handler=usage)

    validate = sub.add_parser(
        "validate",
        help="load and validate the config file",
        description="Load the config file, expand ${VAR}s and check every key, value and plugin name. "
        "The first problem is printed as file:line: key.path: problem.",
    )
    _add_config_option(validate)
    validate.set_defaults(handler=_validate)

    show = sub.add_parser(
        "show",
        help="print the effective configuration (defaults filled in, secrets redacted)",
        description="Print the configuration ao uses: the file with every default filled in and the "
        "built-in reactions merged in.",
        epilog=_SHOW_EPILOG,
    )
    _add_config_option(show)
    show.add_argument("--json", action="store_true", help="print JSON instead of YAML")
    show.add_argument("--no-redact", action="store_true", help="print secrets instead of ***")
    show.set_defaults(handler=_show)


def _add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="the config file (default: $AO_CONFIG_PATH, else agent-orchestrator.yaml in this directory "
        "or a parent, else the global config)",
    )


def _load(args: argparse.Namespace) -> OrchestratorConfig:
    from pathlib import Path

    from ao_core.config import load_config

    return load_config(Path(args.config) if args.config else None)


def _validate(args: argparse.Namespace) -> int:
    config = _load(args)
    _validate_plugins(config)
    for warning in _warnings(config):
        print(f"warning: {warning}", file=sys.stderr)
    count = len(config.projects)
    print(f"{config.config_path}: ok ({count} project{'' if count == 1 else 's'})")
    return 0


def _validate_plugins(config: OrchestratorConfig) -> None:
    """Check plugin names and options through the registry, when ``ao_core.registry`` provides it."""
    import importlib

    try:
        registry = importlib.import_module("ao_core.registry")
    except ModuleNotFoundError as exc:
        if exc.name != "ao_core.registry":
            raise
        return
    factory = getattr(registry, "Registry", None)
    if factory is None or not hasattr(factory, "from_config"):
        return
    factory.from_config(config).validate(config)


def _warnings(config: OrchestratorConfig) -> list[str]:
    """Things that load but are probably mistakes: a missing project directory, an unknown reaction key."""
    import difflib
    from pathlib import Path

    from ao_core.config import DEFAULT_REACTIONS

    file = config.config_path
    warnings: list[str] = []
    for project_id, project in config.projects.items():
        if not Path(project.path).is_dir():
            key = f"projects.{project_id}.path"
            warnings.append(f"{file}:{config.line_of(key)}: {key}: directory {project.path} does not exist")
    reaction_keys: list[tuple[str, str]] = [(f"reactions.{key}", key) for key in config.reactions]
    for project_id, project in config.projects.items():
        reaction_keys += [(f"projects.{project_id}.reactions.{key}", key) for key in project.reactions]
    for key_path, key in reaction_keys:
        if key in DEFAULT_REACTIONS or key_path not in config._lines:
            continue
        close = difflib.get_close_matches(key, list(DEFAULT_REACTIONS), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        warnings.append(f"{file}:{config.line_of(key_path)}: {key_path}: '{key}' is not a built-in reaction key{hint}")
    return warnings


def _show(args: argparse.Namespace) -> int:
    from ao_core.config import dump_config

    config = _load(args)
    data = dump_config(config, redact=not args.no_redact)
    if args.json:
        import json

        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    import yaml

    note = "" if args.no_redact else "; secrets redacted"
    print(f"# effective configuration from {config.config_path}{note}")
    print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120), end="")
    return 0
