"""The real git repository behind each fake GitHub repository: a bare repository on disk.

Branches and head SHAs are read from git, so an agent that pushes to the bare repository's path is seen
by the fake at once. Mergeability comes from ``git merge-tree --write-tree`` (git >= 2.38); merges are
real commits written into the bare repository.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GitError", "GitRepo", "MergeInfo"]

_ENV = {
    "GIT_AUTHOR_NAME": "Fake GitHub",
    "GIT_AUTHOR_EMAIL": "noreply@fake-github.invalid",
    "GIT_COMMITTER_NAME": "Fake GitHub",
    "GIT_COMMITTER_EMAIL": "noreply@fake-github.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
}


_MERGER = {"GIT_COMMITTER_NAME": "GitHub", "GIT_COMMITTER_EMAIL": "noreply@github.com"}
"""GitHub commits merges (and rewrites rebased commits) as itself."""


@functools.cache
def _git() -> str:
    """The git executable, found once (tests may change ``PATH`` later)."""
    return shutil.which("git") or "git"


class GitError(RuntimeError):
    """Raised when a git command of the fake fails."""


@dataclass(frozen=True)
class MergeInfo:
    """What git says about merging a head into a base."""

    conflicts: bool
    behind: bool
    additions: int
    deletions: int
    changed_files: int


class GitRepo:
    """A bare git repository, driven by the git command line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._merge_cache: dict[tuple[str, str], MergeInfo] = {}
        self._commits_cache: dict[tuple[str, str], list[str]] = {}
        self._cache_lock = threading.Lock()
        self._known: set[str] = set()

    # ------------------------------------------------------------------ plumbing

    def run(
        self,
        *args: str,
        input: bytes | None = None,
        check: bool = True,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``git`` against this repository and return the completed process."""
        full_env = {**os.environ, **_ENV, **(env or {})}
        cmd = [_git(), *args] if cwd is not None else [_git(), f"--git-dir={self.path}", *args]
        proc = subprocess.run(cmd, input=input, capture_output=True, env=full_env, cwd=cwd, check=False, timeout=60)
        if check and proc.returncode != 0:
            raise GitError(f"git {' '.join(args)} failed ({proc.returncode}): {proc.stderr.decode(errors='replace')}")
        return proc

    def out(self, *args: str, input: bytes | None = None) -> str:
        """Run ``git`` and return its stripped standard output."""
        return self.run(*args, input=input).stdout.decode().strip()

    @classmethod
    def init_bare(cls, path: Path, default_branch: str) -> GitRepo:
        """Create a bare repository whose HEAD names ``default_branch``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [_git(), "init", "--quiet", "--bare", f"--initial-branch={default_branch}", str(path)],
            check=True,
            capture_output=True,
            env={**os.environ, **_ENV},
        )
        return cls(path)

    # ------------------------------------------------------------------ reading

    def refs(self) -> dict[str, str]:
        """Every branch and the SHA it points at."""
        text = self.out("for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/heads/")
        result: dict[str, str] = {}
        for line in text.splitlines():
            name, _, sha = line.rpartition(" ")
            result[name] = sha
        return result

    def branch_sha(self, branch: str) -> str | None:
        """The SHA of a branch, or ``None`` when it does not exist."""
        proc = self.run("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}", check=False)
        return proc.stdout.decode().strip() or None

    def commit_exists(self, sha: str) -> bool:
        """Whether ``sha`` names a commit of this repository."""
        if sha in self._known:
            return True
        proc = self.run("cat-file", "-e", f"{sha}^{{commit}}", check=False)
        if proc.returncode == 0:
            self._known.add(sha)
            return True
        return False

    def resolve(self, ref: str) -> str | None:
        """The commit SHA of a branch name or SHA, or ``None``."""
        if len(ref) == 40 and all(c in "0123456789abcdef" for c in ref):
            return ref if self.commit_exists(ref) else None
        return self.branch_sha(ref)

    def commit_info(self, sha: str) -> dict[str, str]:
        """Message, author and dates of a commit."""
        fmt = "%H%x00%T%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%P%x00%B"
        fields = self.run("show", "-s", f"--format={fmt}", sha).stdout.decode().split("\x00")
        keys = ["sha", "tree", "author_name", "author_email", "author_date", "committer_name", "committer_email"]
        info = dict(zip(keys, fields, strict=False))
        info["committer_date"] = fields[7]
        info["parents"] = fields[8]
        info["message"] = fields[9].rstrip("\n")
        return info

    def merge_info(self, base_sha: str, head_sha: str) -> MergeInfo:
        """Conflicts (``git merge-tree``), behind (merge-base) and diff stats of head against base; cached."""
        key = (base_sha, head_sha)
        with self._cache_lock:
            cached = self._merge_cache.get(key)
        if cached is not None:
            return cached
        merge = self.run("merge-tree", "--write-tree", "--no-messages", base_sha, head_sha, check=False)
        if merge.returncode not in (0, 1):
            raise GitError(f"git merge-tree failed: {merge.stderr.decode(errors='replace')}")
        behind = self.run("merge-base", "--is-ancestor", base_sha, head_sha, check=False).returncode != 0
        merge_base = self.out("merge-base", base_sha, head_sha)
        additions = deletions = files = 0
        for line in self.out("diff", "--numstat", merge_base, head_sha).splitlines():
            added, deleted, _ = line.split("\t", 2)
            files += 1
            additions += int(added) if added.isdigit() else 0
            deletions += int(deleted) if deleted.isdigit() else 0
        info = MergeInfo(merge.returncode == 1, behind, additions, deletions, files)
        with self._cache_lock:
            self._merge_cache[key] = info
        return info

    def commits_between(self, base_sha: str, head_sha: str) -> list[str]:
        """Commits reachable from head and not from base, oldest first; cached."""
        key = (base_sha, head_sha)
        with self._cache_lock:
            cached = self._commits_cache.get(key)
        if cached is None:
            cached = self.out("rev-list", "--reverse", "--topo-order", f"{base_sha}..{head_sha}").split()
            with self._cache_lock:
                self._commits_cache[key] = cached
        return list(cached)

    # ------------------------------------------------------------------ writing

    def commit_files(
        self,
        branch: str,
        files: Mapping[str, str | None],
        message: str,
        *,
        parent: str | None = None,
        author: tuple[str, str] | None = None,
    ) -> str:
        """Commit ``files`` (path → content, ``None`` deletes) on ``branch`` without a working tree.

        The parent is ``parent`` (a SHA or branch) when given, else the branch's current head (none for
        a new branch of an empty repository). Returns the new commit's SHA.
        """
        parent_sha = self.resolve(parent) if parent is not None else self.branch_sha(branch)
        if parent is not None and parent_sha is None:
            raise GitError(f"unknown parent {parent!r}")
        with tempfile.TemporaryDirectory(prefix="fake-gh-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            if author is not None:
                env |= {"GIT_AUTHOR_NAME": author[0], "GIT_AUTHOR_EMAIL": author[1]}
            if parent_sha is not None:
                self.run("read-tree", parent_sha, env=env)
            for path, content in files.items():
                if content is None:
                    self.run("update-index", "--force-remove", "--", path, env=env)
                    continue
                blob = self.run("hash-object", "-w", "--stdin", input=content.encode()).stdout.decode().strip()
                self.run("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
            tree = self.run("write-tree", env=env).stdout.decode().strip()
        parents = ["-p", parent_sha] if parent_sha is not None else []
        sha = self.run("commit-tree", tree, *parents, "-m", message, env=env).stdout.decode().strip()
        self.update_ref(branch, sha, None)
        return sha

    def bulk_branches(self, branches: Mapping[str, Mapping[str, str]], base: str, message: str) -> dict[str, str]:
        """Create many branches off ``base``, one commit each, with one ``git fast-import`` process."""
        base_sha = self.resolve(base)
        if base_sha is None:
            raise GitError(f"unknown base {base!r}")
        stream: list[bytes] = []
        marks: dict[str, int] = {}
        for mark, (branch, files) in enumerate(branches.items(), start=1):
            marks[branch] = mark
            data = message.encode()
            stream.append(f"commit refs/heads/{branch}\nmark :{mark}\n".encode())
            stream.append(b"committer Fake GitHub <noreply@fake-github.invalid> 1700000000 +0000\n")
            stream.append(b"data %d\n%s\n" % (len(data), data))
            stream.append(f"from {base_sha}\n".encode())
            for path, content in files.items():
                blob = content.encode()
                stream.append(f"M 100644 inline {path}\n".encode())
                stream.append(b"data %d\n%s\n" % (len(blob), blob))
            stream.append(b"\n")
        with tempfile.TemporaryDirectory(prefix="fake-gh-marks-") as tmp:
            marks_file = Path(tmp) / "marks"
            self.run("fast-import", "--quiet", f"--export-marks={marks_file}", input=b"".join(stream))
            by_mark = dict(line.split(" ", 1) for line in marks_file.read_text().splitlines())
        return {branch: by_mark[f":{m}"].strip() for branch, m in marks.items()}

    def update_ref(self, branch: str, new_sha: str, old_sha: str | None) -> None:
        """Point a branch at ``new_sha``; with ``old_sha``, only if it still points there."""
        args = ["update-ref", f"refs/heads/{branch}", new_sha]
        if old_sha is not None:
            args.append(old_sha)
        self.run(*args)

    def update_pull_ref(self, number: int, sha: str) -> None:
        """Point ``refs/pull/<number>/head`` at the pull request's head, as GitHub does."""
        self.run("update-ref", f"refs/pull/{number}/head", sha)

    def delete_branch(self, branch: str) -> None:
        """Delete a branch (no error when it is gone)."""
        self.run("update-ref", "-d", f"refs/heads/{branch}", check=False)

    def merge(self, base_branch: str, head_sha: str, method: str, message: str) -> str:
        """Merge ``head_sha`` into ``base_branch`` by ``merge``, ``squash`` or ``rebase``; return the new base SHA.

        Raises:
            GitError: when the merge conflicts or the base moved meanwhile.
        """
        base_sha = self.branch_sha(base_branch)
        if base_sha is None:
            raise GitError(f"base branch {base_branch!r} does not exist")
        if method == "rebase":
            new_sha = self._rebase(base_sha, head_sha)
        else:
            merge = self.run("merge-tree", "--write-tree", "--no-messages", base_sha, head_sha, check=False)
            if merge.returncode != 0:
                raise GitError("merge conflict")
            tree = merge.stdout.decode().split()[0]
            parents = ["-p", base_sha] if method == "squash" else ["-p", base_sha, "-p", head_sha]
            new_sha = self.run("commit-tree", tree, *parents, "-m", message, env=_MERGER).stdout.decode().strip()
        self.update_ref(base_branch, new_sha, base_sha)
        return new_sha

    def _rebase(self, base_sha: str, head_sha: str) -> str:
        # git 2.39 has no `merge-tree --merge-base`, so replay the commits in a throwaway worktree.
        with tempfile.TemporaryDirectory(prefix="fake-gh-rebase-") as tmp:
            work = Path(tmp) / "w"
            self.run("worktree", "add", "--quiet", "--detach", str(work), head_sha)
            try:
                proc = self.run("rebase", "--quiet", "--force-rebase", base_sha, cwd=work, check=False, env=_MERGER)
                if proc.returncode != 0:
                    self.run("rebase", "--abort", cwd=work, check=False)
                    raise GitError("rebase conflict")
                return self.run("rev-parse", "HEAD", cwd=work).stdout.decode().strip()
            finally:
                self.run("worktree", "remove", "--force", str(work), check=False)
                self.run("worktree", "prune", check=False)
