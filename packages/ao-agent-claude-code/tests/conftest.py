from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The test modules import claude_support from this directory (tests are not a package).
sys.path.insert(0, str(Path(__file__).parent))

from ao_testing.fakes.model_server.pytest_fixtures import claude_env, claude_home, model_server

__all__ = ["claude_env", "claude_home", "model_server"]


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own HOME: the plugin writes ~/.claude.json, never the real one."""
    home = tmp_path / "isolated-home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for key in ("CLAUDE_CONFIG_DIR", "CLAUDECODE", "AO_SESSION_ID", "AO_SESSION", "AO_STATE_DIR", "AO_PROJECT_ID"):
        monkeypatch.delenv(key, raising=False)
    return home
