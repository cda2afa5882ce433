"""The ``anyio_backend`` fixture, registered by the pytest plugin after every installed plugin.

It lives in its own module so that :func:`ao_core.testing.pytest_plugin.pytest_configure` can register
it late: among plugins, the fixture registered last wins, so this one overrides anyio's own
(parametrized over every installed backend), while a ``conftest.py`` or test module can still override it.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """Run ``@pytest.mark.anyio`` tests on asyncio (once, not once per installed backend)."""
    return "asyncio"
