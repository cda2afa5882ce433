"""The modules both workspace plugins carry must stay identical (each distribution ships its own copy)."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = ("_git.py", "_common.py", "_setup.py")
HERE = Path(__file__).resolve().parents[1] / "src" / "ao_workspace_clone"
TWIN = Path(__file__).resolve().parents[2] / "ao-workspace-worktree" / "src" / "ao_workspace_worktree"


@pytest.mark.parametrize("name", SHARED)
def test_the_copy_matches_ao_workspace_worktree(name: str) -> None:
    if not TWIN.is_dir():
        pytest.skip("ao-workspace-worktree's sources are not next to this package (not the ao monorepo)")
    assert (HERE / name).read_bytes() == (TWIN / name).read_bytes(), f"{name} differs: change both copies"
