"""What CLI commands share: loading the config, the registry, the store and the session manager."""

from __future__ import annotations

import argparse
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from ao_core.config import OrchestratorConfig
    from ao_core.registry import Registry
    from ao_core.sessions import SessionManager
    from ao_core.store import Store

T = TypeVar("T")


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--config PATH`` (default: discovered like git, see ``docs/config.md``)."""
    parser.add_argument(
        "--config",
        type=Path,
        metavar="PATH",
        help="the agent-orchestrator.yaml to use (default: $AO_CONFIG_PATH, then searched upwards from here)",
    )


@dataclass
class Context:
    """The loaded configuration and the services built from it."""

    config: OrchestratorConfig
    registry: Registry
    store: Store
    state_dir: Path
    manager: SessionManager


def open_context(args: argparse.Namespace) -> Context:
    """Load the config (``--config`` or discovery) and build the registry, store and session manager."""
    from ao_core.config import load_config
    from ao_core.paths import state_dir
    from ao_core.registry import Registry
    from ao_core.sessions import SessionManager
    from ao_core.store import Store

    config = load_config(getattr(args, "config", None))
    registry = Registry.from_config(config)
    root = state_dir(config.state_dir)
    store = Store.open(root)
    manager = SessionManager(config, registry, store, state_dir=root)
    return Context(config=config, registry=registry, store=store, state_dir=root, manager=manager)


def run_async(fn: Callable[[], Awaitable[T]]) -> T:
    """Run an async function to completion on anyio's default (asyncio) backend."""
    import anyio

    return anyio.run(fn)


def resolve_project(ctx: Context, project: str | None) -> str:
    """The project a command is about: the one named, else the one containing the cwd, else the only one."""
    from ao_core.errors import SessionError

    projects = ctx.config.projects
    if project is not None:
        if project not in projects:
            raise SessionError(f"unknown project '{project}'; configured projects: {', '.join(sorted(projects))}")
        return project
    env_project = os.environ.get("AO_PROJECT_ID")
    if env_project in projects:
        return env_project
    cwd = Path.cwd().resolve()
    for project_id, cfg in projects.items():
        root = Path(cfg.path).expanduser().resolve()
        if cwd == root or root in cwd.parents:
            return project_id
    if len(projects) == 1:
        return next(iter(projects))
    raise SessionError(
        f"which project? name one of: {', '.join(sorted(projects))} (or run ao from inside a project's directory)"
    )
