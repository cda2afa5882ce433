"""A HOME in which Claude Code starts without first-run dialogs, and the environment that points it here."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["DUMMY_ANTHROPIC_API_KEY", "claude_environment", "seed_claude_home"]

DUMMY_ANTHROPIC_API_KEY = "sk-ant-api03-ao-testing-dummy-key-0000000000000000"
"""The API key tests give Claude Code; the model server accepts any key."""


def seed_claude_home(
    home: Path,
    *,
    api_key: str = DUMMY_ANTHROPIC_API_KEY,
    trusted: Iterable[str | Path] = (),
    onboarded: bool = True,
    approve_api_key: bool = True,
    skip_bypass_warning: bool = True,
) -> Path:
    """Write ``~/.claude.json`` and ``~/.claude/settings.json`` under ``home`` so that Claude Code asks nothing.

    What Claude Code 2.1 asks on a fresh HOME, in order, and what answers it here (verified with 2.1.197):
    the onboarding (``hasCompletedOnboarding``; without it the CLI also checks connectivity to
    api.anthropic.com and fails offline), "Do you trust the files in this folder?" (per folder,
    ``projects[<abs path>].hasTrustDialogAccepted``), "Detected a custom API key ... use this API key?"
    (``customApiKeyResponses.approved`` holds the key's last 20 characters) and the bypass-permissions
    warning (``skipDangerousModePermissionPrompt`` in ``settings.json``).

    Args:
        home: The directory to use as ``HOME`` (created if needed).
        api_key: The key whose use is pre-approved.
        trusted: Folders to mark as trusted (leave empty to let the code under test trust its worktrees).
        onboarded: Mark the onboarding as done.
        approve_api_key: Pre-approve ``api_key``.
        skip_bypass_warning: Skip the warning shown with ``--dangerously-skip-permissions``.

    Returns:
        ``home``.
    """
    home.mkdir(parents=True, exist_ok=True)
    state: dict[str, object] = {}
    if onboarded:
        state["hasCompletedOnboarding"] = True
    if approve_api_key:
        state["customApiKeyResponses"] = {"approved": [api_key[-20:]], "rejected": []}
    projects = {str(Path(path).resolve()): {"hasTrustDialogAccepted": True} for path in trusted}
    if projects:
        state["projects"] = projects
    (home / ".claude.json").write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    settings_dir = home / ".claude"
    settings_dir.mkdir(exist_ok=True)
    settings = {"skipDangerousModePermissionPrompt": True} if skip_bypass_warning else {}
    (settings_dir / "settings.json").write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    return home


def claude_environment(home: Path, base_url: str, *, api_key: str = DUMMY_ANTHROPIC_API_KEY) -> dict[str, str]:
    """The environment that runs Claude Code against a local model server with ``home`` as ``HOME``.

    ``IS_SANDBOX=1`` is added when running as root: without it ``--dangerously-skip-permissions`` refuses to
    start as root. Auto-update, telemetry and other non-essential traffic are switched off.
    """
    env = {
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": api_key,
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
    }
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        env["IS_SANDBOX"] = "1"
    return env
