from __future__ import annotations

import pytest
from ao_testing.contracts import RuntimeContract


@pytest.mark.integration
@pytest.mark.timeout(120)
class TestTmuxRuntimeContract(RuntimeContract):
    """The runtime contract against a real tmux server (``runtime`` comes from conftest: its own socket)."""
