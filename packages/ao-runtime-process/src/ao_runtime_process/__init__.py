"""ao runtime plugin ``process``: each session is a detached process group with a FIFO stdin and a log file.

Unlike a plain child process, a session survives the ``ao`` command that started it, and any later ``ao``
process (CLI or daemon) can send to it, read it, probe it and end it: everything needed is in the handle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ao_core.interfaces import PluginManifest, Runtime
from ao_core.models import PluginSlot

from ao_runtime_process._config import ProcessRuntimeConfig

if TYPE_CHECKING:
    from ao_runtime_process._runtime import ProcessHandleData, ProcessRuntime

__all__ = ["ProcessHandleData", "ProcessRuntime", "ProcessRuntimeConfig", "create", "manifest"]

manifest = PluginManifest(
    name="process",
    slot=PluginSlot.RUNTIME,
    description="Detached process group per session: stdin through a named pipe, output to a log file",
    version="0.1.0",
    display_name="Process",
)


def create(config: ProcessRuntimeConfig | None = None) -> Runtime:
    """Build the ``process`` runtime.

    Args:
        config: The plugin's options; defaults when ``None``.

    Returns:
        A :class:`ProcessRuntime`, which also implements ``SupportsMetrics`` and ``SupportsAttachInfo``.
    """
    from ao_runtime_process._runtime import ProcessRuntime

    return ProcessRuntime(config)


def __getattr__(name: str) -> Any:
    # The implementation is imported on first use, so that loading the manifest (``ao plugins``) stays cheap.
    if name in {"ProcessHandleData", "ProcessRuntime"}:
        from ao_runtime_process import _runtime

        return getattr(_runtime, name)
    raise AttributeError(f"module 'ao_runtime_process' has no attribute {name!r}")
