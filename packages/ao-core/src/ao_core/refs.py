"""Validation of names that end up in git refs, paths and shell commands.

One implementation of git's branch-name rules for the kernel, the plugins and the contract suites.
"""

from __future__ import annotations

import re

__all__ = ["branch_name_problem", "is_safe_identifier", "is_valid_branch_name"]

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def is_safe_identifier(value: str) -> bool:
    """Whether ``value`` is a plain identifier (letters, digits, ``.``, ``_``, ``-``; no leading punctuation)."""
    return bool(_SAFE_ID.match(value)) and ".." not in value


_FORBIDDEN_CHARS = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


def branch_name_problem(name: str) -> str | None:
    r"""Why ``git check-ref-format --branch <name>`` would refuse ``name``, or ``None`` when it is valid.

    Implements git's rules for ``refs/heads/<name>``: no empty, ``.``-leading or ``.lock``-ending component;
    no ``..``, ``@{``, ``//``, control characters, space, ``~ ^ : ? * [ \``; not ending in ``/`` or ``.``;
    and, for branches, not starting with ``-`` and not ``HEAD``. (A lone ``@`` is valid: git agrees.)
    """
    if not name:
        return "is empty"
    if name.startswith("-"):
        return "starts with '-'"
    if name == "HEAD":
        return "is 'HEAD'"
    if ".." in name:
        return "contains '..'"
    if "@{" in name:
        return "contains '@{'"
    match = _FORBIDDEN_CHARS.search(name)
    if match is not None:
        return f"contains the forbidden character {match.group()!r}"
    if name.startswith("/") or name.endswith("/"):
        return "starts or ends with '/'"
    if "//" in name:
        return "contains '//'"
    if name.endswith("."):
        return "ends with '.'"
    for component in name.split("/"):
        if component.startswith("."):
            return f"has a component starting with '.': {component!r}"
        if component.endswith(".lock"):
            return f"has a component ending with '.lock': {component!r}"
    return None


def is_valid_branch_name(name: str) -> bool:
    """Whether ``git check-ref-format --branch`` accepts ``name``."""
    return branch_name_problem(name) is None
