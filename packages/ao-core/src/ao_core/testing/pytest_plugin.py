"""The ao pytest plugin (entry point ``pytest11: ao_core``), active in every pytest run where ao-core is installed.

Fixtures: ``anyio_backend`` (``"asyncio"``, session scope), one per fake (``fake_runtime``, ``fake_agent``,
``fake_workspace``, ``fake_tracker``, ``fake_scm``, ``recording_notifier``, ``fake_terminal``),
``ao_state_dir`` (a fresh state directory in ``AO_STATE_DIR``) and ``git_repo`` (a real repository with one
commit on ``main`` and a bare ``origin``). It also registers ao's markers (``integration``, ``docker``,
``agents``, ``browser``, ``dbus``) when the project's configuration has not.

This module imports only the standard library and pytest: it must never slow down or break a test run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ao_core.testing import (
        FakeAgent,
        FakeRuntime,
        FakeSCM,
        FakeTerminal,
        FakeTracker,
        FakeWorkspace,
        RecordingNotifier,
    )

MARKERS: dict[str, str] = {
    "integration": "needs a real external program (git, tmux); fails instead of skipping when CI=true",
    "docker": "needs a Docker engine",
    "agents": "needs the real agent CLIs",
    "browser": "needs Chromium",
    "dbus": "needs a D-Bus session bus",
}
"""The markers ao's tests use, with their descriptions."""

_BACKEND_PLUGIN = "ao_core.testing.anyio_backend"


def pytest_configure(config: pytest.Config) -> None:
    """Register ao's markers unless already registered, and the ``anyio_backend`` fixture."""
    registered = {line.split(":", 1)[0].split("(", 1)[0].strip() for line in config.getini("markers")}
    for name, description in MARKERS.items():
        if name not in registered:
            config.addinivalue_line("markers", f"{name}: {description}")
    # Registered now, after every entry-point plugin (anyio's included), so that this fixture wins.
    if not config.pluginmanager.has_plugin(_BACKEND_PLUGIN):
        from ao_core.testing import _anyio_backend

        config.pluginmanager.register(_anyio_backend, _BACKEND_PLUGIN)


@pytest.fixture
def fake_runtime() -> FakeRuntime:
    """A fresh :class:`~ao_core.testing.FakeRuntime`."""
    from ao_core.testing import FakeRuntime

    return FakeRuntime()


@pytest.fixture
def fake_agent(fake_runtime: FakeRuntime) -> FakeAgent:
    """A fresh :class:`~ao_core.testing.FakeAgent` whose process runs while its ``fake_runtime`` session lives."""
    from ao_core.testing import FakeAgent

    return FakeAgent(runtime=fake_runtime)


@pytest.fixture
def fake_workspace(tmp_path: Path) -> FakeWorkspace:
    """A fresh :class:`~ao_core.testing.FakeWorkspace` making directories under ``tmp_path/workspaces``."""
    from ao_core.testing import FakeWorkspace

    return FakeWorkspace(tmp_path / "workspaces")


@pytest.fixture
def fake_tracker() -> FakeTracker:
    """A fresh, empty :class:`~ao_core.testing.FakeTracker` (add issues with ``add_issue``)."""
    from ao_core.testing import FakeTracker

    return FakeTracker()


@pytest.fixture
def fake_scm() -> FakeSCM:
    """A fresh :class:`~ao_core.testing.FakeSCM` for ``acme/app`` with webhook secret ``test-secret``."""
    from ao_core.testing import FakeSCM

    return FakeSCM(webhook_secret="test-secret")


@pytest.fixture
def recording_notifier() -> RecordingNotifier:
    """A fresh :class:`~ao_core.testing.RecordingNotifier`."""
    from ao_core.testing import RecordingNotifier

    return RecordingNotifier()


@pytest.fixture
def fake_terminal() -> FakeTerminal:
    """A fresh :class:`~ao_core.testing.FakeTerminal`."""
    from ao_core.testing import FakeTerminal

    return FakeTerminal()


@pytest.fixture
def ao_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty state directory, set as ``AO_STATE_DIR`` for the test."""
    path = tmp_path / "ao-state"
    path.mkdir()
    monkeypatch.setenv("AO_STATE_DIR", str(path))
    return path


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A real git repository (``tmp_path/repo``): one commit on ``main``, pushed to a bare ``origin``.

    Skips the test when git is missing (fails under ``CI=true``).
    """
    from ao_core.testing import init_git_repo

    return init_git_repo(tmp_path)
