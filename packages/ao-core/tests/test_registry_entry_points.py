"""A plugin installed into a real (throwaway) virtual environment is found through its entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

PLUGIN = '''\
"""A notifier installed as its own distribution."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from ao_core.interfaces import Notifier, PluginManifest
from ao_core.models import OrchestratorEvent, PluginSlot

manifest = PluginManifest(name="venvtest", slot=PluginSlot.NOTIFIER, description="Installed in a venv", version="0.3.1")


class VenvtestNotifierConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prefix: str = ""


class VenvtestNotifier:
    def __init__(self, config: VenvtestNotifierConfig) -> None:
        self.config = config
        self.seen: list[str] = []

    @property
    def name(self) -> str:
        return "venvtest"

    async def notify(self, event: OrchestratorEvent) -> None:
        self.seen.append(self.config.prefix + event.message)


def create(config: VenvtestNotifierConfig | None = None) -> Notifier:
    return VenvtestNotifier(config or VenvtestNotifierConfig())
'''

PYPROJECT = """\
[build-system]
requires = ["hatchling>=1.25"]
build-backend = "hatchling.build"

[project]
name = "ao-notifier-venvtest"
version = "0.3.1"
requires-python = ">=3.11"
dependencies = ["ao-core>=0.1,<0.2"]

[project.entry-points."ao.notifier"]
venvtest = "ao_notifier_venvtest"

[tool.hatch.build.targets.wheel]
packages = ["src/ao_notifier_venvtest"]
"""


def make_venv(path: Path) -> Path:
    """A venv that sees the workspace's packages (ao-core, pydantic, hatchling, pip) but installs into itself.

    ``--system-site-packages`` would expose the base interpreter's packages, not the workspace venv's, so a
    ``.pth`` file adds the workspace's site-packages (with its own ``.pth`` files) after the venv's own.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=60)
    python = path / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    workspace = sysconfig.get_paths()["purelib"]
    (Path(purelib) / "_ao_workspace.pth").write_text(f"import site; site.addsitedir({workspace!r})\n")
    return python


def clean_env(home: Path) -> dict[str, str]:
    """The environment without any ao config to discover."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AO_") and k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
    return env


def pip_install(python: Path, *args: str) -> None:
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"pip install failed:\n{result.stdout}\n{result.stderr}"


def ao_plugins(python: Path, cwd: Path, *args: str) -> dict[str, Any]:
    result = subprocess.run(
        [str(python), "-m", "ao_core", "plugins", "--json", *args],
        cwd=cwd,
        env=clean_env(cwd),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def by_name(document: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [p for p in document["plugins"] if p["slot"] == "notifier" and p["name"] == name]


def test_plugin_installed_in_a_venv_is_listed_as_installed(tmp_path: Path) -> None:
    dist = tmp_path / "ao-notifier-venvtest"
    (dist / "src" / "ao_notifier_venvtest").mkdir(parents=True)
    (dist / "pyproject.toml").write_text(PYPROJECT)
    (dist / "src" / "ao_notifier_venvtest" / "__init__.py").write_text(PLUGIN)
    python = make_venv(tmp_path / "venv")
    pip_install(python, str(dist))
    home = tmp_path / "home"
    home.mkdir()

    listed = by_name(ao_plugins(python, home), "venvtest")

    assert listed == [
        {
            "slot": "notifier",
            "name": "venvtest",
            "source": "installed",
            "origin": "entry point ao-notifier-venvtest",
            "module": "ao_notifier_venvtest",
            "version": "0.3.1",
            "description": "Installed in a venv",
            "error": None,
            "installed": True,
            "install": None,
        }
    ]
    # Installed into the throwaway venv only: the workspace's own interpreter does not see it.
    assert by_name(ao_plugins(Path(sys.executable), home), "venvtest") == []


def test_installed_plugin_and_a_local_path_with_its_name_conflict(tmp_path: Path) -> None:
    dist = tmp_path / "ao-notifier-venvtest"
    (dist / "src" / "ao_notifier_venvtest").mkdir(parents=True)
    (dist / "pyproject.toml").write_text(PYPROJECT)
    (dist / "src" / "ao_notifier_venvtest" / "__init__.py").write_text(PLUGIN)
    python = make_venv(tmp_path / "venv")
    pip_install(python, str(dist))
    project = tmp_path / "project"
    (project / "plugins").mkdir(parents=True)
    (project / "plugins" / "venvtest.py").write_text(PLUGIN)
    (project / "agent-orchestrator.yaml").write_text(
        textwrap.dedent(
            """\
            plugins:
              - path: ./plugins/venvtest.py
            projects:
              app:
                path: .
            """
        )
    )

    listed = by_name(ao_plugins(python, project), "venvtest")

    assert [(p["source"], p["origin"]) for p in listed] == [
        ("installed", "entry point ao-notifier-venvtest"),
        ("local", str((project / "plugins" / "venvtest.py").resolve())),
    ]
    for plugin in listed:
        assert "provided twice" in plugin["error"]
