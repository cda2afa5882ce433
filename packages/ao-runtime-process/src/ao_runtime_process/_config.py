"""The plugin's configuration model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = ["ProcessRuntimeConfig"]


class ProcessRuntimeConfig(BaseModel):
    """Options of the ``process`` runtime (YAML keys in camelCase: ``gracePeriodS``, ``baseDir``).

    Attributes:
        shell: The shell that runs the launch command as ``<shell> -c <command>``; an absolute path, or a
            name looked up on ``PATH`` when a session is created.
        grace_period_s: Seconds ``destroy`` waits after SIGTERM before it sends SIGKILL to the process group.
        send_timeout_s: Seconds ``send_message`` waits for the process to take a message off its stdin pipe
            (a pipe holds 64 KiB; a larger message is written as the process reads).
        base_dir: Where session directories go when the kernel gives none; default
            ``<state dir>/runtime-process``.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    shell: str = Field(default="/bin/sh", min_length=1)
    grace_period_s: float = Field(default=5.0, ge=0)
    send_timeout_s: float = Field(default=30.0, gt=0)
    base_dir: str | None = None
