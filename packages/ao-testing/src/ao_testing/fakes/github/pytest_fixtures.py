"""The ``fake_github`` pytest fixture: a started :class:`FakeGitHub` per test, in the test's tmp dir.

Import it into a package's ``conftest.py``::

    from ao_testing.fakes.github.pytest_fixtures import fake_github

    __all__ = ["fake_github"]
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ao_testing.fakes.github._fake import FakeGitHub

__all__ = ["fake_github"]


@pytest.fixture
def fake_github(tmp_path: Path) -> Iterator[FakeGitHub]:
    """A started fake GitHub whose bare repositories live under the test's ``tmp_path``.

    Needs ``git`` (>= 2.38, for ``git merge-tree --write-tree``): the test is skipped without it, and fails
    when ``CI=true``.
    """
    from ao_core.testing import require_executable

    require_executable("git")
    with FakeGitHub(tmp_path / "fake-github") as fake:
        yield fake
