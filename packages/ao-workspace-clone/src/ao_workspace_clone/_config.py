"""The clone plugin's options (``workspace: {plugin: clone, ...}`` in the config)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = ["CloneWorkspaceConfig"]


class CloneWorkspaceConfig(BaseModel):
    """Options of the ``clone`` workspace plugin.

    Attributes:
        base_dir: Directory for clones; each project gets ``<baseDir>/<projectId>/<sessionId>``. Unset: the
            directory the kernel passes (``~/.agent-orchestrator/projects/<projectId>/worktrees``).
        reference: Clone with ``--reference <project checkout>`` so that the clone borrows the project's
            objects instead of copying them.
        post_create_timeout_s: Time limit of each ``postCreate`` command, in seconds.
        git_timeout_s: Time limit of git calls that transfer or check out files (``clone``, ``fetch``).
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    base_dir: str | None = None
    reference: bool = True
    post_create_timeout_s: float = Field(default=600.0, gt=0)
    git_timeout_s: float = Field(default=600.0, gt=0)
