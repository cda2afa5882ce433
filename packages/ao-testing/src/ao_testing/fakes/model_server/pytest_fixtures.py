"""Pytest fixtures: a started model server, a per-test Claude Code HOME, and the environment tying them.

Import them into a package's ``conftest.py``::

    from ao_testing.fakes.model_server.pytest_fixtures import claude_env, claude_home, model_server

    __all__ = ["claude_env", "claude_home", "model_server"]
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ao_testing.fakes.model_server._claude_home import claude_environment, seed_claude_home
from ao_testing.fakes.model_server._server import ModelServer

__all__ = ["claude_env", "claude_home", "model_server"]


@pytest.fixture
def model_server(tmp_path: Path) -> Iterator[ModelServer]:
    """A started :class:`ModelServer` with an empty script, also logging to ``tmp_path/model-requests.jsonl``."""
    with ModelServer(log_path=tmp_path / "model-requests.jsonl") as server:
        yield server


@pytest.fixture
def claude_home(tmp_path: Path) -> Path:
    """A fresh HOME (``tmp_path/home``) where Claude Code is onboarded, the test key approved, no folder trusted."""
    return seed_claude_home(tmp_path / "home")


@pytest.fixture
def claude_env(model_server: ModelServer, claude_home: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment for Claude Code against ``model_server`` with ``claude_home`` as HOME.

    It is also set in ``os.environ`` for the test (so programs the test starts, such as a tmux server,
    inherit it) and returned as a dict.
    """
    env = claude_environment(claude_home, model_server.base_url)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    # An outer Claude Code session (someone running the tests from inside one) must not leak in.
    for key in ("CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT", "CLAUDE_CONFIG_DIR", "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    return env
