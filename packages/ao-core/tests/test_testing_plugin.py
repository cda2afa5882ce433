from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from ao_core.testing import FakeAgent, FakeRuntime, FakeWorkspace

pytest_plugins = ["pytester"]


def test_anyio_backend_is_asyncio(anyio_backend: str) -> None:
    assert anyio_backend == "asyncio"


def test_fixtures(
    fake_agent: FakeAgent, fake_runtime: FakeRuntime, fake_workspace: FakeWorkspace, tmp_path: Path
) -> None:
    assert fake_agent.runtime is fake_runtime
    assert fake_workspace.base_dir == tmp_path / "workspaces"


def test_ao_state_dir(ao_state_dir: Path) -> None:
    assert ao_state_dir.is_dir()
    assert os.environ["AO_STATE_DIR"] == str(ao_state_dir)


def test_plugin_imports_cheaply() -> None:
    code = (
        "import sys, ao_core.testing.pytest_plugin\n"
        "heavy = ('pydantic', 'anyio', 'ao_core.models', 'ao_core.testing._fakes_scm')\n"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert completed.stdout.strip() == ""


def test_anyio_tests_run_once_on_asyncio(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.anyio
        async def test_backend(anyio_backend):
            assert anyio_backend == "asyncio"
        """
    )
    pytester.inline_run("-p", "no:cacheprovider").assertoutcome(passed=1)


def test_a_conftest_can_still_choose_the_backend(pytester: pytest.Pytester) -> None:
    pytest.importorskip("trio")  # installed with the workspace's dev tools (anyio[trio])
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def anyio_backend():
            return "trio"
        """
    )
    pytester.makepyfile(
        """
        import pytest, trio

        @pytest.mark.anyio
        async def test_backend():
            trio.lowlevel.current_task()  # raises RuntimeError outside a trio run
        """
    )
    pytester.inline_run("-p", "no:cacheprovider").assertoutcome(passed=1)


def test_markers_are_registered_for_strict_runs(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.integration
        @pytest.mark.docker
        @pytest.mark.agents
        @pytest.mark.browser
        @pytest.mark.dbus
        def test_marked():
            pass
        """
    )
    pytester.inline_run("-p", "no:cacheprovider", "--strict-markers").assertoutcome(passed=1)


def test_markers_registered_by_the_project_are_kept(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        """
        [pytest]
        markers =
            integration: the project's own description
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--markers")
    lines = [line for line in result.outlines if line.startswith("@pytest.mark.integration")]
    assert lines == ["@pytest.mark.integration: the project's own description"]
    assert any(line.startswith("@pytest.mark.docker: needs a Docker engine") for line in result.outlines)


def test_a_run_without_anyio_still_works(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain(fake_scm):\n    assert fake_scm.name == 'fake'\n")
    pytester.inline_run("-p", "no:cacheprovider", "-p", "no:anyio").assertoutcome(passed=1)
