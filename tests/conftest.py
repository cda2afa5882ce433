"""Fixtures of the cross-package end-to-end tests."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import AoEnv, make_env


@pytest.fixture
def ao_env(tmp_path: Path) -> Iterator[AoEnv]:
    env = make_env(tmp_path)
    yield env
    subprocess.run(["tmux", "-L", env.socket, "kill-server"], capture_output=True, check=False)
    subprocess.run(["pkill", "-f", str(env.root)], capture_output=True, check=False)
