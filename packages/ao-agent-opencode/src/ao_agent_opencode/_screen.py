"""Reading OpenCode's terminal screen (the fallback when the session database says nothing).

What OpenCode 1.18 shows (recorded screens are in the tests' ``data/opencode-<version>/``):

- ready: the input box, framed on the left by ``┃`` and closed by a ``╹▀▀▀…`` line, with ``ctrl+p commands``
  in the hint line (home view) or the footer (session view);
- working: the same box, but the footer starts with a progress bar and ``esc interrupt``;
- a permission dialog in place of the input box: ``△ Permission required``, then ``Allow once   Allow always
  Reject`` and ``enter confirm``.
"""

from __future__ import annotations

import re

from ao_core.models import ActivityState

__all__ = ["classify_screen"]

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_BOTTOM_LINES = 30
_PERMISSION = re.compile(r"Permission required")
_CHOICES = re.compile(r"Allow once\s+Allow always\s+Reject")
_BUSY = re.compile(r"esc (?:again )?(?:to )?interrupt", re.IGNORECASE)
_BOX_BOTTOM = re.compile(r"^\s*\u2579\u2580{10,}")
_COMMANDS = re.compile(r"ctrl\+p commands")


def classify_screen(text: str) -> ActivityState:
    """Classify the bottom of OpenCode's screen.

    A permission dialog is ``waiting_input``; ``esc interrupt`` in the footer is ``active``; the input box with
    the ``ctrl+p commands`` hint and nothing running is ``ready``. An empty screen, or anything unrecognised (the
    UI still starting), is ``active``, never ``ready``.
    """
    lines = [_ANSI.sub("", line).rstrip() for line in text.splitlines()]
    lines = [line for line in lines if line.strip()][-_BOTTOM_LINES:]
    if not lines:
        return ActivityState.ACTIVE
    bottom = "\n".join(lines)
    if _PERMISSION.search(bottom) and _CHOICES.search(bottom):
        return ActivityState.WAITING_INPUT
    if any(_BUSY.search(line) for line in lines[-3:]):
        return ActivityState.ACTIVE
    if any(_BOX_BOTTOM.match(line) for line in lines) and _COMMANDS.search(bottom):
        return ActivityState.READY
    return ActivityState.ACTIVE
