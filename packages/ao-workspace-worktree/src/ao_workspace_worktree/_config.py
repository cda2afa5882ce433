"""The worktree plugin's options (``workspace: {plugin: worktree, ...}`` in the config)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = ["WorktreeWorkspaceConfig"]


class WorktreeWorkspaceConfig(BaseModel):
    """Options of the ``worktree`` workspace plugin.

    Attributes:
        base_dir: Directory for worktrees; each project gets ``<baseDir>/<projectId>/<sessionId>``. Unset: the
            directory the kernel passes (``~/.agent-orchestrator/projects/<projectId>/worktrees``).
        post_create_timeout_s: Time limit of each ``postCreate`` command, in seconds.
        git_timeout_s: Time limit of git calls that fetch or check out files (``fetch``, ``worktree add``).
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    base_dir: str | None = None
    post_create_timeout_s: float = Field(default=600.0, gt=0)
    git_timeout_s: float = Field(default=300.0, gt=0)
