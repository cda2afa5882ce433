"""Checks the contract suites share: git branch-name rules and a scan for live shell syntax."""

from __future__ import annotations

from ao_core.refs import branch_name_problem, is_valid_branch_name

__all__ = ["active_shell_syntax", "branch_name_problem", "is_valid_branch_name"]

_PLAIN_ACTIVE = frozenset(";&|<>()\n`*?[{")


def active_shell_syntax(command: str) -> list[str]:
    """The shell syntax a POSIX shell would act on in ``command``, in order.

    Reports, outside quotes: operators and separators (``; & | < > ( ) newline``), globs and braces
    (``* ? [ {``), comments, command substitution (`` ` ``) and ``$`` expansions (as ``$`` plus the next
    character); inside double quotes only `` ` `` and ``$`` expansions. Backslash escapes and single quotes
    are honoured; an unterminated quote is reported as ``<unterminated quote>``.

    Two launch commands that differ only in a quoted value have the same active syntax; a value that
    leaks out of its quotes adds some.
    """
    found: list[str] = []
    state = "plain"
    i = 0
    n = len(command)
    while i < n:
        char = command[i]
        if state == "single":
            if char == "'":
                state = "plain"
            i += 1
            continue
        if state == "double":
            if char == "\\" and i + 1 < n and command[i + 1] in '$`"\\\n':
                i += 2
                continue
            if char == '"':
                state = "plain"
            elif char == "$":
                found.append(command[i : i + 2])
            elif char == "`":
                found.append("`")
            i += 1
            continue
        if char == "\\":
            i += 2
            continue
        if char == "'":
            state = "single"
        elif char == '"':
            state = "double"
        elif char == "$":
            found.append(command[i : i + 2])
        elif char in _PLAIN_ACTIVE:
            found.append(char)
        elif char == "#" and (i == 0 or command[i - 1] in " \t\n;&|("):
            found.append("#")
        i += 1
    if state != "plain":
        found.append("<unterminated quote>")
    return found
