"""Reading the Codex TUI's screen (the fallback when the rollout says nothing).

What Codex 0.171.0 shows (recorded screens are in the tests' ``data/codex-<version>/screens``):

- ready: the composer, a line starting with the glyph U+203A and ``Ask Codex to do anything`` (or the typed
  text), and below it the status line (model, folder) and the footer ``← for agents · ? for shortcuts``;
- working: the same, with a status row above the composer such as ``◦ Working (3s • esc to interrupt)``;
- a question: the composer is replaced by a dialog with numbered choices (U+203A ``1. Yes, proceed (y)``) and a
  hint such as ``Press enter to confirm or esc to cancel``: command approvals ("Would you like to run the
  following command?"), edit approvals, and the first-run dialog "Trust this folder?"
  (``enter continue · esc back``).
"""

from __future__ import annotations

import re

from ao_core.models import ActivityState

__all__ = ["classify_screen"]

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_BOTTOM_LINES = 30
_GLYPH = "\u203a"  # the composer and selection glyph Codex draws

_QUESTIONS = (
    re.compile(r"Would you like to (?:run|make|apply|allow|grant)\b"),
    re.compile(r"Trust this folder\?"),
    re.compile(r"Do you trust the contents of this directory"),
    re.compile(r"Allow Codex to\b"),
    re.compile(r"Sign in with ChatGPT"),
    re.compile(r"Provide your own API key"),
)
_CHOICE = re.compile(rf"^\s*{_GLYPH}?\s*\d+\.\s+\S")
_SELECTED_CHOICE = re.compile(rf"^\s*{_GLYPH}\s*\d+\.\s+\S")
_DIALOG_HINT = re.compile(
    r"Press enter to confirm or esc to cancel|enter continue\s*·\s*esc back|Press enter to continue", re.IGNORECASE
)
_BUSY = re.compile(r"esc to interrupt", re.IGNORECASE)
_COMPOSER = re.compile(rf"^\s*{_GLYPH}(?:\s|$)")
_FOOTER = re.compile(r"\?\s*for shortcuts|for agents|ctrl\+j for newline|tab to queue", re.IGNORECASE)


def classify_screen(text: str) -> ActivityState:
    """Classify the bottom of the Codex TUI's screen.

    A dialog with numbered choices (an approval, folder trust, sign-in) is ``waiting_input``; a status row
    saying ``esc to interrupt`` is ``active``; the composer with its footer and nothing running is ``ready``.
    An empty or unrecognised screen (the TUI still starting) is ``active``, never ``ready``.
    """
    lines = [_ANSI.sub("", line).rstrip() for line in text.splitlines()]
    lines = [line for line in lines if line.strip()][-_BOTTOM_LINES:]
    if not lines:
        return ActivityState.ACTIVE
    bottom = "\n".join(lines)
    has_choice = any(_SELECTED_CHOICE.match(line) for line in lines) or (
        sum(1 for line in lines if _CHOICE.match(line)) >= 2
    )
    if has_choice and (any(pattern.search(bottom) for pattern in _QUESTIONS) or _DIALOG_HINT.search(bottom)):
        return ActivityState.WAITING_INPUT
    if any(_BUSY.search(line) for line in lines[-12:]):
        return ActivityState.ACTIVE
    tail = lines[-8:]
    has_composer = any(_COMPOSER.match(line) and not _CHOICE.match(line) for line in tail)
    if has_composer and any(_FOOTER.search(line) for line in tail):
        return ActivityState.READY
    return ActivityState.ACTIVE
