"""The ``fake_linear`` pytest fixture: a started :class:`~ao_testing.fakes.linear.FakeLinear` per test.

Import it into a package's ``conftest.py``::

    from ao_testing.fakes.linear_pytest_fixtures import fake_linear

    __all__ = ["fake_linear"]
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ao_testing.fakes.linear import FakeLinear

__all__ = ["fake_linear"]


@pytest.fixture
def fake_linear() -> Iterator[FakeLinear]:
    """A started fake Linear with workspace ``acme`` and user ``alice`` (key ``fake_linear.default_api_key``).

    It has no teams or issues yet: create them with ``create_team``, ``create_label`` and ``create_issue``.
    """
    with FakeLinear() as fake:
        yield fake
