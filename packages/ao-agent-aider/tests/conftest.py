from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The test modules import aider_support from this directory (tests are not a package).
sys.path.insert(0, str(Path(__file__).parent))

from ao_testing.fakes.model_server.pytest_fixtures import model_server

__all__ = ["model_server"]


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own HOME: Aider writes ~/.aider and caches there, never in the real one."""
    home = tmp_path / "isolated-home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for key in ("OPENAI_API_KEY", "OPENAI_API_BASE", "AO_SESSION_ID", "AO_SESSION", "AO_STATE_DIR", "AO_PROJECT_ID"):
        monkeypatch.delenv(key, raising=False)
    return home
