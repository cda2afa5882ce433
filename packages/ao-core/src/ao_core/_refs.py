"""Validation of names that end up in git refs, paths and shell commands."""

from __future__ import annotations

import re

__all__ = ["branch_name_problem", "is_safe_identifier"]

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_BAD_REF_CHARS = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


def is_safe_identifier(value: str) -> bool:
    """Whether ``value`` is a plain identifier (letters, digits, ``.``, ``_``, ``-``; no leading punctuation)."""
    return bool(_SAFE_ID.match(value)) and ".." not in value


def branch_name_problem(name: str) -> str | None:
    """Return why ``name`` is not a valid git branch name (the rules of ``git check-ref-format --branch``).

    ``None`` means the name is valid.
    """
    if not name:
        return "it is empty"
    if name.startswith("-"):
        return "it starts with '-'"
    if name == "@" or "@{" in name:
        return "it contains '@{' or is '@'"
    if ".." in name:
        return "it contains '..'"
    if _BAD_REF_CHARS.search(name):
        return "it contains a space, a control character or one of ~ ^ : ? * [ \\"
    if name.startswith("/") or name.endswith("/") or "//" in name:
        return "it has an empty path component"
    if name.endswith("."):
        return "it ends with '.'"
    for part in name.split("/"):
        if part.startswith("."):
            return f"the component {part!r} starts with '.'"
        if part.endswith(".lock"):
            return f"the component {part!r} ends with '.lock'"
    return None
