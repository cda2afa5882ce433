"""Development tasks. Packages are found by globbing packages/*/pyproject.toml: nobody keeps a list.

Sessions run in the current environment (the workspace's .venv, made by scripts/bootstrap), where
every package is installed in editable mode: one environment, no reinstall per session.

    nox -s lint typecheck tests      # what CI runs (plus e2e)
    nox -s tests -t runtime          # the tests of every runtime plugin
    nox -s "tests(ao-runtime-tmux)"  # one package
    nox -s bench                     # the benchmark harness
"""

from __future__ import annotations

import sys
from pathlib import Path

import nox

ROOT = Path(__file__).parent
nox.options.default_venv_backend = "none"
nox.options.sessions = ["lint", "typecheck", "tests", "e2e"]
nox.options.error_on_missing_interpreters = True

SLOTS = ("runtime", "agent", "workspace", "tracker", "scm", "notifier", "terminal")


def _packages() -> list[Path]:
    return sorted(p.parent for p in ROOT.glob("packages/*/pyproject.toml"))


def _tags(package: Path) -> list[str]:
    name = package.name
    tags = [name]
    parts = name.split("-")
    if len(parts) >= 3 and parts[1] in SLOTS:
        tags.append(parts[1])
    elif name in {"ao-core", "ao-testing"}:
        tags.append("kernel")
    return tags


def _params() -> list[object]:
    return [nox.param(p.name, id=p.name, tags=_tags(p)) for p in _packages()]


def _run(session: nox.Session, *args: str) -> None:
    session.run(sys.executable, "-m", *args, external=True)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff lint and format check over the whole tree."""
    _run(session, "ruff", "check", ".")
    _run(session, "ruff", "format", "--check", ".")


@nox.session
@nox.parametrize("package", _params())
def typecheck(session: nox.Session, package: str) -> None:
    """mypy --strict over one package's src and tests."""
    pkg = ROOT / "packages" / package
    targets = [str(pkg / "src")]
    if any((pkg / "tests").glob("*.py")):
        targets.append(str(pkg / "tests"))
    _run(session, "mypy", "--config-file", str(ROOT / "pyproject.toml"), *targets)


@nox.session
@nox.parametrize("package", _params())
def tests(session: nox.Session, package: str) -> None:
    """pytest over one package's tests (extra arguments go to pytest)."""
    pkg = ROOT / "packages" / package
    _run(
        session,
        "pytest",
        "-c",
        str(ROOT / "pyproject.toml"),
        "--rootdir",
        str(ROOT),
        str(pkg / "tests"),
        *session.posargs,
    )


@nox.session
def e2e(session: nox.Session) -> None:
    """Cross-package end-to-end tests under tests/."""
    if not any((ROOT / "tests").glob("test_*.py")):
        session.skip("no end-to-end tests yet")
    _run(
        session,
        "pytest",
        "-c",
        str(ROOT / "pyproject.toml"),
        "--rootdir",
        str(ROOT),
        str(ROOT / "tests"),
        *session.posargs,
    )


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmark harness: prints one line per figure (median, min, max)."""
    _run(session, "benchmarks", *session.posargs)
