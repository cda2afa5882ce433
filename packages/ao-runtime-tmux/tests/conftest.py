from __future__ import annotations

import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# The test modules import tmux_helpers from this directory (tests are not a package).
sys.path.insert(0, str(Path(__file__).parent))

from ao_core.testing import require_executable
from ao_runtime_tmux import TmuxRuntime, TmuxRuntimeConfig
from tmux_helpers import socket_path, tmux


@pytest.fixture(autouse=True)
def private_tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Launch scripts of sessions made without a session dir go under the test's own directory."""
    path = tmp_path / "tmp"
    path.mkdir()
    monkeypatch.setenv("TMPDIR", str(path))
    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    return path


@pytest.fixture
def tmux_path() -> str:
    return require_executable("tmux")


@pytest.fixture
def socket_name(tmux_path: str) -> Iterator[str]:
    """A socket name of a tmux server of this test alone; the server is killed afterwards."""
    name = f"ao-test-{uuid.uuid4().hex[:12]}"
    yield name
    tmux(name, "kill-server", check=False)
    socket_path(name).unlink(missing_ok=True)


@pytest.fixture
def runtime(socket_name: str) -> TmuxRuntime:
    return TmuxRuntime(TmuxRuntimeConfig(socket_name=socket_name))


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "workspace"
    path.mkdir()
    return path
