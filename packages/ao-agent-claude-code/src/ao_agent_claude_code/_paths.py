"""Where Claude Code keeps its configuration and transcripts (as Claude Code 2.1 computes them)."""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Mapping
from pathlib import Path

__all__ = ["config_dir", "encode_project_path", "global_config_path", "transcript_path"]

_MAX_ENCODED = 200


def config_dir(configured: str | None = None, env: Mapping[str, str] | None = None) -> Path:
    """Claude Code's configuration directory: ``configured``, else ``$CLAUDE_CONFIG_DIR``, else ``~/.claude``."""
    env = os.environ if env is None else env
    raw = configured or env.get("CLAUDE_CONFIG_DIR") or str(Path(env.get("HOME") or Path.home()) / ".claude")
    return Path(unicodedata.normalize("NFC", str(Path(raw).expanduser())))


def global_config_path(configured: str | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The global state file holding per-folder trust: ``~/.claude.json`` (or ``$CLAUDE_CONFIG_DIR/.claude.json``).

    Claude Code prefers a legacy ``<config dir>/.config.json`` when one exists.
    """
    env = os.environ if env is None else env
    directory = config_dir(configured, env)
    legacy = directory / ".config.json"
    if legacy.exists():
        return legacy
    base = configured or env.get("CLAUDE_CONFIG_DIR") or env.get("HOME") or str(Path.home())
    return Path(base).expanduser() / ".claude.json"


def _java_hash(text: str) -> int:
    value = 0
    units = text.encode("utf-16-le")
    for index in range(0, len(units), 2):
        value = (value * 31 + int.from_bytes(units[index : index + 2], "little")) & 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


def encode_project_path(path: str) -> str:
    """The folder name Claude Code gives a working directory under ``<config dir>/projects``.

    Every character other than an ASCII letter or digit becomes ``-`` (so ``/`` and ``.`` do:
    ``/home/me/.wt/app-1`` → ``-home-me--wt-app-1``), counted in UTF-16 code units as JavaScript does.
    Names longer than 200 characters are cut to 200 and suffixed with ``-`` and a base-36 hash of the path.
    """
    units = path.encode("utf-16-le")
    chars = []
    for index in range(0, len(units), 2):
        code = int.from_bytes(units[index : index + 2], "little")
        char = chr(code) if code < 128 else ""
        chars.append(char if char.isascii() and char.isalnum() else "-")
    encoded = "".join(chars)
    if len(encoded) <= _MAX_ENCODED:
        return encoded
    return f"{encoded[:_MAX_ENCODED]}-{_base36(abs(_java_hash(path)))}"


def transcript_path(workspace_path: str, agent_session_id: str, configured: str | None = None) -> Path:
    """The transcript of conversation ``agent_session_id`` run in ``workspace_path``."""
    return config_dir(configured) / "projects" / encode_project_path(workspace_path) / f"{agent_session_id}.jsonl"
