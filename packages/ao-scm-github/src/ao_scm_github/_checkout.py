"""Checking a pull request's branch out in a workspace, with git (argument lists, never a shell)."""

from __future__ import annotations

import shutil
from pathlib import Path

import anyio
from ao_core.errors import SCMError
from ao_core.models import PRInfo

__all__ = ["checkout"]

_GIT_TIMEOUT = 120.0


async def _git(cwd: Path, *args: str, check: bool = True) -> tuple[int, str, str]:
    git = shutil.which("git")
    if git is None:
        raise SCMError("git is not installed; install git to check pull requests out")
    try:
        with anyio.fail_after(_GIT_TIMEOUT):
            proc = await anyio.run_process(
                [git, *args], cwd=cwd, check=False, env=_inherit() | {"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
            )
    except TimeoutError as exc:
        raise SCMError(f"git {args[0]} did not finish within {_GIT_TIMEOUT:.0f} s in {cwd}") from exc
    out, err = proc.stdout.decode(errors="replace").strip(), proc.stderr.decode(errors="replace").strip()
    if check and proc.returncode != 0:
        raise SCMError(f"git {args[0]} failed in {cwd}: {err or out or f'exit {proc.returncode}'}")
    return proc.returncode, out, err


def _inherit() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k not in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE")}


async def checkout(pr: PRInfo, workspace_path: str) -> bool:
    """Check out ``pr.branch`` in the workspace from its ``origin``; ``True`` if the branch changed.

    The branch comes from ``origin``'s ``refs/heads/<branch>``, or ``refs/pull/<n>/head`` when the branch
    is not there (a fork's pull request). An existing local branch is fast-forwarded, never reset.

    Raises:
        SCMError: when the workspace is not a git working tree, has uncommitted changes, the branch name is
            not a valid ref, or git fails.
    """
    cwd = Path(workspace_path)
    if not cwd.is_dir():
        raise SCMError(f"workspace {workspace_path} does not exist")
    code, _, _ = await _git(cwd, "rev-parse", "--is-inside-work-tree", check=False)
    if code != 0:
        raise SCMError(f"workspace {workspace_path} is not a git working tree")
    code, _, _ = await _git(cwd, "check-ref-format", "--branch", pr.branch, check=False)
    if code != 0 or pr.branch.startswith("-"):
        raise SCMError(f"pull request #{pr.number} has a branch name git refuses: {pr.branch!r}")
    _, current, _ = await _git(cwd, "branch", "--show-current")
    if current == pr.branch:
        return False
    _, status, _ = await _git(cwd, "status", "--porcelain")
    if status:
        raise SCMError(
            f"workspace {workspace_path} has uncommitted changes; commit or stash them before checking out "
            f"pull request #{pr.number}"
        )
    remote_ref = f"refs/remotes/origin/{pr.branch}"
    code, _, _ = await _git(cwd, "fetch", "--quiet", "origin", f"+refs/heads/{pr.branch}:{remote_ref}", check=False)
    if code != 0:
        await _git(cwd, "fetch", "--quiet", "origin", f"+refs/pull/{pr.number}/head:{remote_ref}")
    code, _, _ = await _git(cwd, "show-ref", "--verify", "--quiet", f"refs/heads/{pr.branch}", check=False)
    if code == 0:
        await _git(cwd, "checkout", "--quiet", pr.branch, "--")
        code, _, err = await _git(cwd, "merge", "--ff-only", "--quiet", remote_ref, check=False)
        if code != 0:
            raise SCMError(
                f"local branch {pr.branch} in {workspace_path} has diverged from pull request #{pr.number}; "
                f"reconcile it by hand ({err})"
            )
    else:
        await _git(cwd, "checkout", "--quiet", "-b", pr.branch, "--track", remote_ref, "--")
    return True
