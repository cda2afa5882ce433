from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from ao_core.errors import RuntimeFailedError
from ao_core.models import RuntimeCreateConfig, RuntimeHandle
from ao_runtime_process import ProcessRuntime, ProcessRuntimeConfig

StartSession = Callable[..., Awaitable[RuntimeHandle]]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "workspace"
    path.mkdir()
    return path


@pytest.fixture
def base_dir(tmp_path: Path) -> Path:
    return tmp_path / "sessions"


@pytest.fixture
def runtime(base_dir: Path) -> ProcessRuntime:
    return ProcessRuntime(ProcessRuntimeConfig(base_dir=str(base_dir), grace_period_s=2.0, send_timeout_s=10.0))


@pytest.fixture
async def start(runtime: ProcessRuntime, workspace: Path) -> AsyncIterator[StartSession]:
    """Start sessions with ``await start(command, session_id=..., ...)``; all are destroyed after the test."""
    handles: list[RuntimeHandle] = []
    counter = 0

    async def _start(
        command: str,
        *,
        session_id: str | None = None,
        environment: dict[str, str] | None = None,
        session_dir: str | None = None,
        runtime_: ProcessRuntime | None = None,
    ) -> RuntimeHandle:
        nonlocal counter
        counter += 1
        handle = await (runtime_ or runtime).create(
            RuntimeCreateConfig(
                session_id=session_id or f"test-{counter}",
                workspace_path=str(workspace),
                launch_command=command,
                environment=environment or {},
                session_dir=session_dir,
            )
        )
        handles.append(handle)
        return handle

    yield _start
    errors: list[RuntimeFailedError] = []
    for handle in handles:
        try:
            await runtime.destroy(handle)
        except RuntimeFailedError as exc:  # keep destroying the others; report after
            errors.append(exc)
    assert not errors, errors
