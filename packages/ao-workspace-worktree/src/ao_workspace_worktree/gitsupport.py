"""Git and workspace helpers that other workspace plugins build on (``ao-workspace-clone`` uses them).

Everything here runs git through argument lists with timeouts, validates names before they reach git or a
path, claims and deletes only directories the plugin made, and runs ``postCreate`` set-up. It is the one
copy of this logic; plugins import it rather than carrying their own.
"""

from __future__ import annotations

from ao_workspace_worktree._common import (
    Layout,
    claim_dir,
    current_branch,
    delete_tree,
    info_for,
    is_work_tree_top,
    make_dir,
    path_taken,
    prepare,
    refuse_unignored,
)
from ao_workspace_worktree._git import (
    Fetcher,
    branch_exists,
    git_failure,
    query_git,
    redact,
    ref_exists,
    remote_url,
    run_git,
    validate_id,
)
from ao_workspace_worktree._setup import run_post_create

__all__ = [
    "Fetcher",
    "Layout",
    "branch_exists",
    "claim_dir",
    "current_branch",
    "delete_tree",
    "git_failure",
    "info_for",
    "is_work_tree_top",
    "make_dir",
    "path_taken",
    "prepare",
    "query_git",
    "redact",
    "ref_exists",
    "refuse_unignored",
    "remote_url",
    "run_git",
    "run_post_create",
    "validate_id",
]
