"""``ao plugins``: every discoverable plugin, grouped by slot, with its source, version and problems."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from ao_core.cli import main
from ao_core.registry import BUILTIN_PLUGINS

DATA = Path(__file__).parent / "data" / "plugins"
SLOTS = ("runtime", "agent", "workspace", "tracker", "scm", "notifier", "terminal")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory and home: no config file to discover."""
    for name in ("AO_CONFIG_PATH", "AO_GLOBAL_CONFIG", "AO_STATE_DIR"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.chdir(home)
    return home


@pytest.fixture
def project(home: Path) -> Path:
    """A project directory with a config that loads two local plugins (a file and a package)."""
    directory = home / "app"
    (directory / "plugins").mkdir(parents=True)
    shutil.copy(DATA / "local_notifier.py", directory / "plugins" / "local_notifier.py")
    shutil.copytree(DATA / "local_terminal_pkg", directory / "plugins" / "local_terminal_pkg")
    (directory / "agent-orchestrator.yaml").write_text(
        textwrap.dedent(
            """\
            plugins:
              - path: ./plugins/local_notifier.py
              - path: ./plugins/local_terminal_pkg
            projects:
              app:
                path: .
            """
        )
    )
    return directory


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["plugins", "--json", *args]) == 0
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return document


def test_json_lists_local_plugins_of_the_given_config(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = run_json(capsys, "--config", str(project / "agent-orchestrator.yaml"))

    local = [p for p in document["plugins"] if p["source"] == "local"]
    assert document["config"] == str((project / "agent-orchestrator.yaml").absolute())
    assert [(p["slot"], p["name"], p["version"], p["description"], p["error"]) for p in local] == [
        ("notifier", "local-file", "0.1.0", "Writes messages to a file", None),
        ("terminal", "recorder", "0.1.0", "Records opened sessions", None),
    ]
    assert local[0]["origin"] == str((project / "plugins" / "local_notifier.py").resolve())


def test_json_lists_every_first_party_plugin(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = run_json(capsys)

    assert document["config"] is None
    built_in = {(p["slot"], p["name"]): p for p in document["plugins"] if p["source"] == "built-in"}
    assert set(built_in) == {(slot.value, name) for slot, name in BUILTIN_PLUGINS}
    for (slot, name), plugin in built_in.items():
        spec = BUILTIN_PLUGINS[next(k for k in BUILTIN_PLUGINS if (k[0].value, k[1]) == (slot, name))]
        installed = importlib.util.find_spec(spec.module) is not None
        assert plugin["installed"] is installed
        assert plugin["install"] == (None if installed else f"pip install {spec.distribution}")
    slots = [p["slot"] for p in document["plugins"]]
    assert slots == sorted(slots, key=SLOTS.index), "grouped by slot, in slot order"


def test_table_groups_by_slot_and_says_what_to_install(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project / "plugins")  # the config is found upwards from here, like every ao command does

    assert main(["plugins"]) == 0

    out = capsys.readouterr().out
    assert out.startswith(f"config: {(project / 'agent-orchestrator.yaml').absolute()}\n")
    lines = out.splitlines()
    for slot in SLOTS:
        assert slot in lines, f"no heading for {slot}"
    notifier_row = next(line for line in lines if line.strip().startswith("local-file"))
    assert "local" in notifier_row
    assert "0.1.0" in notifier_row
    assert notifier_row.rstrip().endswith("Writes messages to a file")
    for (_slot, name), builtin in BUILTIN_PLUGINS.items():
        if importlib.util.find_spec(builtin.module) is None:
            assert any(
                line.strip().startswith(name) and f"not installed (pip install {builtin.distribution})" in line
                for line in lines
            ), f"no install hint for {name}"
    assert "usable" in lines[-1]


def test_slot_filter(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = run_json(capsys, "--slot", "terminal", "--config", str(project / "agent-orchestrator.yaml"))

    assert {p["slot"] for p in document["plugins"]} == {"terminal"}
    assert "recorder" in {p["name"] for p in document["plugins"]}


def test_without_a_config_local_plugins_are_not_listed(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins"]) == 0

    out = capsys.readouterr().out
    assert out.startswith("config: none found (local plugins are not listed)")
    assert "local-file" not in out


def test_broken_discovered_config_warns_and_lists_the_rest(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (home / "agent-orchestrator.yaml").write_text("projects: [not, a, mapping]\n")

    assert main(["plugins", "--json"]) == 0

    captured = capsys.readouterr()
    assert "ao: warning:" in captured.err
    assert "listing plugins without the config's local plugins" in captured.err
    assert json.loads(captured.out)["config"] is None


def test_explicit_config_that_does_not_exist_is_an_error(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "--config", str(home / "nope.yaml")]) == 2

    assert "no such file" in capsys.readouterr().err


def test_broken_local_plugin_shows_its_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "plugins" / "local_notifier.py").write_text(
        "from ao_core.interfaces import PluginManifest\n"
        "from ao_core.models import PluginSlot\n"
        "manifest = PluginManifest(name='local-file', slot=PluginSlot.NOTIFIER, description='x')\n"
        "import a_library_nobody_installed\n"
    )

    assert main(["plugins", "--slot", "notifier", "--config", str(project / "agent-orchestrator.yaml")]) == 0

    row = next(line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("local-file"))
    assert "error: importing it failed: ModuleNotFoundError" in row
    assert "No module named 'a_library_nobody_installed'" in row


def test_plugin_without_subcommand_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugin"]) == 2

    assert "new" in capsys.readouterr().out


def test_help_lists_the_commands_without_importing_the_registry() -> None:
    code = (
        "import sys\n"
        "from ao_core.cli import build_parser\n"
        "text = build_parser().format_help()\n"
        "print('plugins' in text, 'plugin ' in text)\n"
        "print(sorted(m for m in sys.modules if m.startswith(('ao_core.registry', 'ao_core._registry'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)

    assert result.stdout.splitlines() == ["True True", "[]"]
