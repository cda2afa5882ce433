"""``ao init``: write a commented ``agent-orchestrator.yaml`` for the git repository you are in."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

_CONFIG_NAME = "agent-orchestrator.yaml"
_OTHER_NAMES = ("agent-orchestrator.yml",)
_GIT_TIMEOUT_S = 10.0
_ID_RE = re.compile(r"^[A-Za-z0-9_-]+$")
_REPO_PATH_RE = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")
_PLAIN_SCALAR_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./-]*$")


def register(subparsers: Any) -> None:
    """Add ``ao init`` to the ``ao`` parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "init",
        help="write agent-orchestrator.yaml for the git repository you are in",
        description="Write a commented agent-orchestrator.yaml at the root of the git repository that "
        "contains the current directory (or --path). The repository (owner/name) comes from the 'origin' "
        "remote and the default branch from origin/HEAD, else the current branch.",
    )
    parser.add_argument("--path", metavar="DIR", help="a directory inside the repository (default: the current one)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing config file")
    parser.add_argument(
        "--project-id",
        metavar="ID",
        help="the project's id, used as in 'ao spawn <ID> 42' (default: the repository directory's name)",
    )
    parser.set_defaults(handler=_init)


def _git(cwd: Path, *args: str) -> str | None:
    """Run git in ``cwd``; its stripped output, or ``None`` when git fails."""
    import subprocess

    from ao_core.errors import ConfigError

    try:
        result = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError as exc:
        raise ConfigError("git is not installed (or not on PATH); ao needs git to work on repositories") from exc
    except subprocess.TimeoutExpired as exc:
        raise ConfigError(f"'git {' '.join(args)}' did not answer within {_GIT_TIMEOUT_S:g} s in {cwd}") from exc
    if result.returncode != 0:
        return None
    return result.stdout.strip()


def parse_remote_url(url: str) -> tuple[str, str] | None:
    """``(host, "owner/name")`` from a git remote URL, or ``None`` when it names no hosted repository.

    Understands ``https://host/owner/name(.git)``, ``ssh://git@host[:port]/owner/name(.git)`` and the scp-like
    ``git@host:owner/name(.git)``; GitLab subgroups (``group/sub/name``) are kept whole.
    """
    from urllib.parse import urlsplit

    url = url.strip()
    if "://" in url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https", "ssh", "git", "git+ssh", "ssh+git") or not parts.hostname:
            return None
        host, path = parts.hostname, parts.path
    else:
        match = re.match(r"^(?:[^@/:]+@)?(?P<host>[^/:]+):(?P<path>.+)$", url)
        if match is None:
            return None
        host, path = match.group("host"), match.group("path")
    path = path.strip("/").removesuffix(".git").rstrip("/")
    if not _REPO_PATH_RE.match(path):
        return None
    return host, path


def _default_branch(top: Path) -> str:
    remote_head = _git(top, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD")
    if remote_head and remote_head.startswith("origin/") and len(remote_head) > len("origin/"):
        return remote_head.removeprefix("origin/")
    current = _git(top, "symbolic-ref", "--quiet", "--short", "HEAD")
    return current or "main"


def _project_id(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "project"


def _scalar(value: str) -> str:
    """``value`` as a YAML scalar: plain when YAML reads it back as the same string, else double-quoted."""
    import json

    import yaml

    if _PLAIN_SCALAR_RE.match(value) and yaml.safe_load(value) == value:
        return value
    return json.dumps(value)  # a JSON string is a valid double-quoted YAML scalar


def _commented(setting: str, comment: str) -> str:
    """A line of the ``projects`` section with its comment aligned."""
    return f"{setting:<29} # {comment}"  # at least one space: "x#y" would be part of the value


def render_config(project_id: str, repo: str | None, default_branch: str, prefix: str) -> str:
    """The text of a new, commented ``agent-orchestrator.yaml`` with one project at ``path: .``."""
    if repo is not None:
        repo_line = _commented(f"    repo: {_scalar(repo)}", "owner/name of the GitHub repository")
    else:
        repo_line = _commented("    # repo: owner/name", "no 'origin' remote was found: set this to work on issues/PRs")
    project_lines = [
        repo_line,
        _commented("    path: .", "the repository; a relative path is relative to this file"),
        _commented(f"    defaultBranch: {_scalar(default_branch)}", "sessions branch from it; their PRs target it"),
        _commented(f"    # sessionPrefix: {prefix}", f"session ids are {prefix}-1, {prefix}-2, ... (default: derived)"),
    ]
    return _TEMPLATE.replace("@PROJECT@", project_id).replace("@PROJECT_LINES@", "\n".join(project_lines))


def _init(args: argparse.Namespace) -> int:
    from ao_core.config import session_prefix_for
    from ao_core.errors import ConfigError

    start = Path(args.path).expanduser() if args.path else Path.cwd()
    if not start.is_dir():
        raise ConfigError(f"--path {start} is not a directory")
    top_text = _git(start, "rev-parse", "--show-toplevel")
    if not top_text:
        raise ConfigError(
            f"{start.absolute()} is not inside a git repository; cd into your repository (or run 'git init') "
            "and run 'ao init' again"
        )
    top = Path(top_text)
    target = top / _CONFIG_NAME
    existing = [p for p in (target, *(top / name for name in _OTHER_NAMES)) if p.exists()]
    if existing and not args.force:
        raise ConfigError(f"{existing[0]} already exists; edit it, or run 'ao init --force' to overwrite it")

    project_id = args.project_id or _project_id(top.name)
    if not _ID_RE.match(project_id):
        raise ConfigError(f"--project-id {project_id!r} may only contain letters, digits, '-' and '_'")
    origin = _git(top, "remote", "get-url", "origin")
    parsed = parse_remote_url(origin) if origin else None
    repo = parsed[1] if parsed else None
    branch = _default_branch(top)
    prefix = session_prefix_for(top.name)

    target.write_text(render_config(project_id, repo, branch, prefix), encoding="utf-8")

    print(f"Wrote {target}")
    for other in existing:
        if other != target:
            print(f"  note: {other.name} is still there, and ao now reads {target.name} instead; delete it")
    print(f"  project         {project_id} (session ids {prefix}-1, {prefix}-2, ...)")
    if repo is not None and parsed is not None:
        print(f"  repo            {repo} (from the origin remote on {parsed[0]})")
    elif origin:
        print(f"  repo            not set: the origin remote {origin!r} does not name a hosted repository")
    else:
        print("  repo            not set: this repository has no 'origin' remote; add 'repo: owner/name' by hand")
    print(f"  default branch  {branch}")
    print()
    print("Next steps:")
    print(f"  1. Read {_CONFIG_NAME}: every section is explained in its comments.")
    print("  2. ao config validate          check the file")
    print("  3. ao start                    start the lifecycle manager and the dashboard")
    print(f"  4. ao spawn {project_id} <issue>   start an agent on an issue")
    return 0


_TEMPLATE = """\
# agent-orchestrator.yaml: the configuration of ao, written by 'ao init'.
# Check it with 'ao config validate'; 'ao config show' prints it with every default filled in.
# Every key is described in ao's docs/config.md.
#
# Environment variables: ${NAME} in a value is replaced by the variable when ao loads this file (ao stops
# with an error when it is not set); ${NAME:-fallback} uses the fallback when it is unset or empty; $${ is
# a literal "${". Keep secrets (tokens, API keys, webhook URLs) in the environment, never in this file:
# 'ao config show' prints values that came from the environment as ***.

# The dashboard and the webhook endpoint listen on 127.0.0.1 at this port.
port: 3000

# defaults: the plugins of every project that does not choose its own. A slot takes a plugin name
# (runtime: tmux) or a mapping with 'plugin' and the plugin's options (runtime: {plugin: tmux, ...}).
defaults:
  runtime: tmux          # where agents run: tmux, process, docker, k8s
  agent: claude-code     # the coding agent: claude-code, codex, aider, opencode
  workspace: worktree    # how each session gets its own checkout: worktree, clone
  notifiers: [desktop]   # who hears of events that notificationRouting does not route

# projects: the repositories ao works on, keyed by project id (letters, digits, '-' and '_').
# 'ao spawn @PROJECT@ 42' starts an agent on issue 42 of this project. Any slot of 'defaults' can be
# overridden per project (agent: codex, runtime: {plugin: docker, image: ...}).
projects:
  @PROJECT@:
@PROJECT_LINES@
    # agentConfig:
    #   permissions: permissionless   # permissionless | default | auto-edit | suggest
    #   model: claude-sonnet-4-5
    # symlinks: [.env]        # files linked from the repository into every workspace
    # postCreate:             # commands run in each new workspace
    #   - npm ci
    # agentRules: |           # instructions added to every agent's prompt
    #   Run the tests before you open a pull request.

# notifiers: how ao reaches you. The key is the name used in notificationRouting; 'plugin' picks the plugin,
# the other keys are its options.
notifiers:
  desktop:
    plugin: desktop
  # slack:
  #   plugin: slack
  #   token: ${SLACK_BOT_TOKEN}      # read from the environment when ao loads this file
  #   channel: "#agent-updates"
  # webhook:
  #   plugin: webhook
  #   url: ${AO_WEBHOOK_URL}

# notificationRouting: which notifiers hear of events of each priority. urgent: an agent is stuck, has
# exited or needs input; action: you need to decide something (a pull request is ready to merge);
# warning: a problem ao is handling itself; info: progress.
notificationRouting:
  urgent: [desktop]
  action: [desktop]
  warning: []
  info: []

# reactions: what ao does by itself when something happens to a session. Built-in reactions apply
# ('ao config show' lists them); an entry here changes only the fields it sets. action: send-to-agent,
# notify or auto-merge; escalateAfter: attempts (2) or time ("30m") before you are told.
# reactions:
#   ci-failed:
#     retries: 3
#   approved-and-green:
#     auto: true
#     action: auto-merge
"""
