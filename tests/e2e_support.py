"""Helpers of the cross-package end-to-end tests: a real project repository, a config, and `ao` as a process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
AO = [sys.executable, "-m", "ao_core"]
ECHO_AGENT = ROOT / "tests" / "plugins" / "echo_agent.py"
GITHUB_REPO = "acme/widgets"
"""The repository of the ``github_env`` fixture on the fake GitHub."""


def need(executable: str) -> str:
    """The path of an executable; skip without it, but fail under CI=true."""
    path = shutil.which(executable)
    if path is None:
        message = f"{executable} is not installed"
        if os.environ.get("CI", "").lower() in {"1", "true"}:
            pytest.fail(message + " (CI=true: required)")
        pytest.skip(message)
    return path


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@dataclass
class AoEnv:
    """A project repository, a config file and a state dir, with helpers to run `ao` against them."""

    root: Path
    repo: Path
    origin: Path
    state: Path
    config: Path
    socket: str
    extra: dict[str, Any] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    """Environment variables `ao` runs with on top of ours (tokens)."""

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AO_")}
        env["AO_STATE_DIR"] = str(self.state)
        env["AO_CONFIG_PATH"] = str(self.config)
        env.update(self.extra_env)
        return env

    def ao(
        self, *args: str, check: bool = True, timeout: float = 120, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*AO, *args], cwd=self.repo, env=self.env(), capture_output=True, text=True, timeout=timeout, input=input
        )
        if check and result.returncode != 0:
            raise AssertionError(f"ao {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def ao_json(self, *args: str) -> Any:
        return json.loads(self.ao(*args, "--json").stdout)

    def write_config(self, *, runtime: str = "tmux", project_extra: str = "", agent_options: str = "") -> None:
        runtime_block = (
            f"{{plugin: tmux, socketName: {self.socket}}}" if runtime == "tmux" else f"{{plugin: {runtime}}}"
        )
        agent_block = f"{{plugin: echo{', ' + agent_options if agent_options else ''}}}"
        self.config.write_text(
            f"""\
plugins:
  - path: {ECHO_AGENT}
defaults:
  runtime: {runtime_block}
  agent: {agent_block}
  workspace: worktree
projects:
  app:
    path: {self.repo}
    defaultBranch: main
    sessionPrefix: app
{project_extra}"""
        )

    def tmux_sessions(self) -> set[str]:
        result = subprocess.run(
            ["tmux", "-L", self.socket, "ls", "-F", "#{session_name}"], capture_output=True, text=True
        )
        return set(result.stdout.split()) if result.returncode == 0 else set()

    def worktrees(self) -> list[str]:
        out = git(self.repo, "worktree", "list", "--porcelain")
        return [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("worktree ")][1:]

    def branches(self) -> set[str]:
        return set(git(self.repo, "branch", "--format=%(refname:short)").split())


def make_env(tmp_path: Path) -> AoEnv:
    """A project repository with a bare origin, a config using the echo agent, and a state dir."""
    need("git")
    origin = tmp_path / "origin.git"
    repo = tmp_path / "app"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    git(repo, "config", "user.name", "Test")
    git(repo, "config", "user.email", "test@example.invalid")
    (repo / "README.md").write_text("app\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "initial commit")
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "-q", "origin", "main")
    env = AoEnv(
        root=tmp_path,
        repo=repo,
        origin=origin,
        state=tmp_path / "state",
        config=tmp_path / "agent-orchestrator.yaml",
        socket=f"ao-test-{uuid.uuid4().hex[:8]}",
    )
    env.write_config()
    return env


def make_github_env(tmp_path: Path, github: Any, repo: str) -> AoEnv:
    """An env whose project is a clone of ``repo`` on the fake GitHub ``github``, with GitHub's tracker and SCM.

    Pushes and fetches reach the fake's bare repository; `ao` gets the fake's token in
    ``AO_TEST_GITHUB_TOKEN``; sessions use the process runtime.
    """
    env = make_env(tmp_path)
    shutil.rmtree(env.repo)
    subprocess.run(["git", "clone", "-q", str(github.repo_path(repo)), str(env.repo)], check=True)
    git(env.repo, "config", "user.name", "Test")
    git(env.repo, "config", "user.email", "test@example.invalid")
    env.write_config(
        runtime="process",
        project_extra=(
            f"    repo: {repo}\n"
            f"    tracker: {{plugin: github, baseUrl: '{github.url}', tokenEnv: AO_TEST_GITHUB_TOKEN}}\n"
            f"    scm: {{plugin: github, baseUrl: '{github.url}', tokenEnv: AO_TEST_GITHUB_TOKEN}}\n"
        ),
    )
    env.extra_env["AO_TEST_GITHUB_TOKEN"] = github.default_token
    return env
