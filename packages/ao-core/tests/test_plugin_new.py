"""``ao plugin new``: the generated package is a working plugin that passes its own tests, lint and mypy."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest
from ao_core._registry_scaffold import SCAFFOLD_SLOTS, ScaffoldError, plugin_names, render, scaffold, template_root
from ao_core.cli import main

ROOT = Path(__file__).resolve().parents[3]
PYPROJECT = ROOT / "pyproject.toml"
GENERATED = {
    "README.md",
    "pyproject.toml",
    "src/{module}/__init__.py",
    "src/{module}/_config.py",
    "src/{module}/_{slot}.py",
    "src/{module}/py.typed",
    "tests/test_contract.py",
    "tests/test_manifest.py",
    "tests/test_{slot}.py",
}


def files_of(package: Path) -> set[str]:
    return {str(p.relative_to(package)) for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def expected_files(slot: str, module: str) -> set[str]:
    return {f.format(slot=slot, module=module) for f in GENERATED}


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "work"
    directory.mkdir()
    monkeypatch.chdir(directory)
    return directory


# --------------------------------------------------------------------------- the command


@pytest.mark.parametrize("slot", SCAFFOLD_SLOTS)
def test_new_creates_the_package_with_every_name_substituted(
    slot: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plugin", "new", slot, "my-thing", "--dir", str(tmp_path)]) == 0

    package = tmp_path / f"ao-{slot}-my-thing"
    module = f"ao_{slot}_my_thing"
    assert files_of(package) == expected_files(slot, module)
    for path in package.rglob("*"):
        if path.is_file():
            assert "{{" not in path.read_text(), f"unrendered placeholder in {path}"
    project = tomllib.loads((package / "pyproject.toml").read_text())
    assert project["project"]["name"] == f"ao-{slot}-my-thing"
    assert project["project"]["entry-points"][f"ao.{slot}"] == {"my-thing": module}
    assert "ao-core>=0.1,<0.2" in project["project"]["dependencies"]
    assert any(r.startswith("ao-testing") for r in project["dependency-groups"]["test"])
    assert project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == [f"src/{module}"]
    init = (package / "src" / module / "__init__.py").read_text()
    protocol = {"notifier": "Notifier", "runtime": "Runtime", "terminal": "Terminal"}[slot]
    assert f"def create(config: MyThing{protocol}Config | None = None) -> {protocol}:" in init
    assert (
        f"class TestMyThing{protocol}Contract({protocol}Contract):"
        in (package / "tests" / "test_contract.py").read_text()
    )
    out = capsys.readouterr().out
    assert f"pip install -e {package}" in out
    assert f"python -m pytest {package / 'tests'}" in out


def test_description_is_quoted_safely(tmp_path: Path) -> None:
    description = 'Tells "the team" about C:\\builds — at once'

    assert main(["plugin", "new", "notifier", "quoted", "--dir", str(tmp_path), "--description", description]) == 0

    package = tmp_path / "ao-notifier-quoted"
    assert tomllib.loads((package / "pyproject.toml").read_text())["project"]["description"] == description
    tree = ast.parse((package / "src" / "ao_notifier_quoted" / "__init__.py").read_text())
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "PluginManifest")
    assert ast.literal_eval(next(k.value for k in call.keywords if k.arg == "description")) == description


@pytest.mark.parametrize("text", ["plain", "it's", 'say "hi"', "both ' and \"", "back\\slash \\n", "ünï ✓"])
def test_description_literal_round_trips(text: str) -> None:
    values = plugin_names("notifier", "x", text).placeholders()

    assert ast.literal_eval(values["description_py"]) == text
    assert tomllib.loads(f"d = {values['description_toml']}")["d"] == text


def test_default_dir_is_packages_when_it_exists(cwd: Path) -> None:
    assert main(["plugin", "new", "terminal", "here"]) == 0
    (cwd / "packages").mkdir()
    assert main(["plugin", "new", "terminal", "there"]) == 0

    assert (cwd / "ao-terminal-here" / "pyproject.toml").is_file()
    assert (cwd / "packages" / "ao-terminal-there" / "pyproject.toml").is_file()


def test_existing_target_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ao-notifier-taken").mkdir()
    (tmp_path / "ao-notifier-taken" / "keep.txt").write_text("mine")

    assert main(["plugin", "new", "notifier", "taken", "--dir", str(tmp_path)]) == 1

    assert "already exists" in capsys.readouterr().err
    assert files_of(tmp_path / "ao-notifier-taken") == {"keep.txt"}


@pytest.mark.parametrize("name", ["Bad", "1st", "a--b", "a-", "a_b", "a b", "ünï", "", "x/../y", "a" * 31])
def test_invalid_names_are_refused(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugin", "new", "notifier", name, "--dir", str(tmp_path)]) == 1

    assert "invalid plugin name" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_unknown_and_unsupported_slots_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugin", "new", "runtimes", "x", "--dir", str(tmp_path)]) == 1
    assert "unknown slot 'runtimes'" in capsys.readouterr().err

    assert main(["plugin", "new", "agent", "x", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "cannot generate a working agent plugin yet; it supports notifier, runtime, terminal" in err
    assert "ao_core.interfaces.Agent" in err
    assert list(tmp_path.iterdir()) == []


def test_first_party_names_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugin", "new", "notifier", "slack", "--dir", str(tmp_path)]) == 1

    assert "first-party notifier plugin (ao-notifier-slack)" in capsys.readouterr().err


def test_description_must_be_one_line() -> None:
    with pytest.raises(ScaffoldError, match="one non-empty line"):
        plugin_names("notifier", "x", "two\nlines")


def test_render_refuses_unknown_placeholders() -> None:
    assert render("{{name}}-{{slot}}", {"name": "a", "slot": "b"}) == "a-b"
    with pytest.raises(ScaffoldError, match="unknown placeholder"):
        render("{{nmae}}", {"name": "a"})


def test_every_template_placeholder_is_known() -> None:
    known = set(plugin_names("runtime", "x").placeholders())
    used: set[str] = set()
    for slot in ("common", *SCAFFOLD_SLOTS):
        for path in Path(str(template_root() / slot)).rglob("*.tmpl"):
            used.update(re.findall(r"\{\{([a-z_]+)\}\}", path.read_text()))
    assert used <= known
    assert {"module", "class_name", "config_class", "protocol", "slot", "name"} <= used


def test_template_is_inside_ao_core_and_linked_from_the_repository_root() -> None:
    root = Path(str(template_root()))
    assert {p.name for p in root.iterdir() if p.is_dir()} == {"common", *SCAFFOLD_SLOTS}
    link = ROOT / "_template"
    if not (ROOT / "packages" / "ao-core").is_dir():
        pytest.skip("not running from the repository")
    assert link.is_symlink()
    assert link.resolve() == root.resolve()


# --------------------------------------------------------------------------- the generated code


def lint_and_typecheck(package: Path, tmp_path: Path) -> None:
    """Ruff (check and format) and mypy --strict with the repository's configuration."""
    config = tmp_path / "ruff.toml"  # the root config, with its tests rule applied below tmp_path too
    config.write_text(f'extend = "{PYPROJECT}"\n[lint.per-file-ignores]\n"**/tests/**" = ["D"]\n')
    for args in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *args, "--config", str(config), "."],
            cwd=package.parent,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, f"ruff {args[0]}:\n{result.stdout}{result.stderr}"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(PYPROJECT),
            "--cache-dir",
            str(tmp_path / "mypy"),
            "src",
            "tests",
        ],
        cwd=package,
        env={**os.environ, "MYPYPATH": str(package / "src")},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, f"mypy:\n{result.stdout}{result.stderr}"


@pytest.mark.timeout(300)
@pytest.mark.parametrize("slot", SCAFFOLD_SLOTS)
def test_generated_package_is_lint_and_mypy_clean(slot: str, tmp_path: Path) -> None:
    description = 'Tells "the team" about C:\\builds — without a final period'
    package = scaffold(plugin_names(slot, "a-thirty-character-plugin-name", description), tmp_path / "gen")

    lint_and_typecheck(package, tmp_path)


def make_venv(path: Path) -> Path:
    """A throwaway venv that sees the workspace's packages (ao-core, ao-testing, pytest, hatchling, pip).

    ``--system-site-packages`` would expose the base interpreter, not the workspace venv, so a ``.pth`` file
    adds the workspace's site-packages (and runs its ``.pth`` files) after the venv's own.
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


@pytest.mark.integration
@pytest.mark.timeout(180)
def test_generated_plugins_pass_their_own_tests_after_pip_install_e(tmp_path: Path) -> None:
    target = tmp_path / "x"
    for slot in SCAFFOLD_SLOTS:
        assert main(["plugin", "new", slot, "example", "--dir", str(target)]) == 0
    python = make_venv(tmp_path / "venv")
    editable = [arg for slot in SCAFFOLD_SLOTS for arg in ("-e", str(target / f"ao-{slot}-example"))]

    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index", *editable],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert install.returncode == 0, f"pip install -e failed:\n{install.stdout}{install.stderr}"

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AO_", "PYTEST_")) and k != "PYTHONPATH"}
    env["HOME"] = str(tmp_path)
    for slot in SCAFFOLD_SLOTS:
        package = target / f"ao-{slot}-example"
        result = subprocess.run(
            [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", "tests"],
            cwd=package,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, f"the generated {slot} plugin's tests failed:\n{result.stdout}{result.stderr}"
        summary = result.stdout.strip().splitlines()[-1]
        assert " passed" in summary
        assert "failed" not in summary
        assert "error" not in summary
    listed = subprocess.run(
        [str(python), "-m", "ao_core", "plugins", "--json", "--slot", "notifier"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert '"origin": "entry point ao-notifier-example"' in listed


@pytest.mark.integration
@pytest.mark.timeout(180)
def test_the_ao_core_wheel_ships_the_template(tmp_path: Path) -> None:
    if not (ROOT / "packages" / "ao-core" / "pyproject.toml").is_file():
        pytest.skip("not running from the repository")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--wheel-dir",
            str(tmp_path),
            str(ROOT / "packages" / "ao-core"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [wheel] = tmp_path.glob("ao_core-*.whl")

    names = set(zipfile.ZipFile(wheel).namelist())

    shipped = {n.removeprefix("ao_core/_template/") for n in names if n.startswith("ao_core/_template/")}
    on_disk = {
        str(p.relative_to(Path(str(template_root())))) for p in Path(str(template_root())).rglob("*") if p.is_file()
    }
    assert shipped == {p for p in on_disk if "__pycache__" not in p}
    assert "notifier/src/__module__/_notifier.py.tmpl" in shipped


# --------------------------------------------------------------------------- the guide


GUIDE = ROOT / "docs" / "plugins.md"
GUIDE_COMMAND = (
    'ao plugin new notifier my-alerts --description "Append ao\'s events to a file that my pager tool follows"'
)


def guide_blocks(text: str, marker: str) -> dict[str, str]:
    """The fenced block after each ``<!-- marker: key -->`` (or ``<!-- marker -->``), dedented by its fence."""
    blocks: dict[str, str] = {}
    pattern = re.compile(
        rf"<!-- {marker}:? ?(?P<key>[^ ]*) -->\n(?P<indent> *)```\w*\n(?P<body>.*?)\n(?P=indent)```", re.S
    )
    for match in pattern.finditer(text):
        indent = match.group("indent")
        lines = [line.removeprefix(indent) for line in match.group("body").split("\n")]
        blocks[match.group("key")] = "\n".join(lines) + "\n"
    return blocks


def tree_files(tree: str) -> set[str]:
    """Files of an indented tree listing (two spaces per level, directories end in '/', comments after)."""
    files: set[str] = set()
    stack: list[str] = []
    for line in tree.splitlines()[1:]:
        depth = (len(line) - len(line.lstrip(" "))) // 2 - 1
        name = line.split()[0]
        del stack[depth:]
        if name.endswith("/"):
            stack.append(name.rstrip("/"))
        else:
            files.add("/".join([*stack, name]))
    return files


def test_the_guide_shows_exactly_what_plugin_new_generates(tmp_path: Path) -> None:
    if not GUIDE.is_file():
        pytest.skip("not running from the repository")
    text = GUIDE.read_text()
    assert GUIDE_COMMAND in text
    description = GUIDE_COMMAND.split("--description ")[1].strip('"')
    package = scaffold(plugin_names("notifier", "my-alerts", description), tmp_path)

    files = guide_blocks(text, "plugin-new-file")
    [tree] = guide_blocks(text, "plugin-new-tree").values()

    assert tree.splitlines()[0] == "ao-notifier-my-alerts/"
    assert tree_files(tree) == files_of(package)
    assert set(files) == {"pyproject.toml", "src/ao_notifier_my_alerts/__init__.py", "tests/test_contract.py"}
    for relative, shown in files.items():
        assert shown == (package / relative).read_text(), f"docs/plugins.md shows another {relative}"


def test_inside_the_ao_repository_the_next_step_is_bootstrap(cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (cwd / "packages").mkdir()
    (cwd / "scripts").mkdir()
    (cwd / "scripts" / "bootstrap").write_text("#!/bin/sh\n")

    assert main(["plugin", "new", "runtime", "here"]) == 0

    out = capsys.readouterr().out
    assert "scripts/bootstrap" in out
    assert "pip install -e" not in out
