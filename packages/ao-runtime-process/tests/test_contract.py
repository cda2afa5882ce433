from __future__ import annotations

from pathlib import Path

import pytest
from ao_core.interfaces import Runtime
from ao_runtime_process import ProcessRuntimeConfig, create
from ao_testing.contracts import RuntimeContract

pytestmark = pytest.mark.timeout(60)


class TestProcessRuntimeContract(RuntimeContract):
    @pytest.fixture
    def runtime(self, tmp_path: Path) -> Runtime:
        return create(ProcessRuntimeConfig(base_dir=str(tmp_path / "unused-base"), grace_period_s=2.0))
