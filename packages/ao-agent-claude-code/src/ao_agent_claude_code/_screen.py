"""Reading Claude Code's terminal screen (the fallback when the transcript says nothing).

What Claude Code 2.1 shows (recorded screens are in the tests' ``data/claude-code-<version>/``):

- ready: the input box, a prompt line (U+276F) between two horizontal rules, with the footer below it
  (``? for shortcuts``, ``⏵⏵ bypass permissions on (shift+tab to cycle)``, ...);
- working: the same box, but the footer says ``esc to interrupt`` and a spinner line such as
  ``✻ Tempering…`` or ``· Tempering… (0s · ↓ 47 tokens)`` stands above it; a running tool shows
  ``⎿  Running…``;
- a question: the box is replaced by a dialog with numbered choices (U+276F ``1. Yes``) and ``Esc to cancel``:
  permission prompts ("Do you want to create hello.txt?", "Do you want to proceed?") and the first-run
  dialogs (folder trust, custom API key, bypass-permissions warning).
"""

from __future__ import annotations

import re

from ao_core.models import ActivityState

__all__ = ["classify_screen"]

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_BOTTOM_LINES = 30

_DIALOGS = (
    re.compile(r"Is this a project you created or one you trust"),
    re.compile(r"Do you trust the files in this folder"),
    re.compile(r"Yes, I trust this folder"),
    re.compile(r"Detected a custom API key"),
    re.compile(r"Do you want to use this API key\?"),
    re.compile(r"Bypass Permissions mode"),
    re.compile(r"Yes, I accept"),
    re.compile(r"Do you want to (?:proceed|create|make|allow|overwrite|delete|run|edit|fetch|use)\b.*\?"),
    re.compile(r"requires approval"),
)
_PROMPT_CHAR = "\u276f"  # the prompt and selection glyph Claude Code draws
_CHOICE = re.compile(rf"^\s*{_PROMPT_CHAR}\s*\d+\.\s+\S")
_DIALOG_FOOTER = re.compile(r"Enter to confirm|Esc to cancel|Tab to amend", re.IGNORECASE)
_BUSY = (
    re.compile(r"esc to interrupt", re.IGNORECASE),
    # The spinner: a glyph, a verb with an ellipsis, then maybe "(3s · ↓ 47 tokens)".
    re.compile(r"^\s*[·✢✳✶✻✽*\u2217⋆]\s+\S[^\n]*…(?:\s*\(.*\))?\s*$"),
    re.compile(r"⎿\s+(?:Running|Waiting)…"),
)
_RULE = re.compile(r"^\s*─{10,}\s*$")
_PROMPT = re.compile(rf"^\s*{_PROMPT_CHAR}(?:\s.*)?$")
_READY_FOOTER = re.compile(
    r"for shortcuts|bypass permissions on|accept edits on|plan mode on|auto mode on|shift\+tab to cycle",
    re.IGNORECASE,
)


def classify_screen(text: str) -> ActivityState:
    """Classify the bottom of Claude Code's screen.

    A question on screen (a permission prompt or a first-run dialog) is ``waiting_input``; a working
    agent is ``active``; the input box with its footer and nothing running is ``ready``. An empty screen,
    or anything unrecognised (the CLI still starting), is ``active``, never ``ready``.
    """
    lines = [_ANSI.sub("", line).rstrip() for line in text.splitlines()]
    lines = [line for line in lines if line.strip()][-_BOTTOM_LINES:]
    if not lines:
        return ActivityState.ACTIVE
    bottom = "\n".join(lines)
    has_choice = any(_CHOICE.match(line) for line in lines)
    if has_choice and (any(p.search(bottom) for p in _DIALOGS) or _DIALOG_FOOTER.search(bottom)):
        return ActivityState.WAITING_INPUT
    if any(pattern.search(line) for pattern in _BUSY for line in lines[-12:]):
        return ActivityState.ACTIVE
    if _has_input_box(lines) and any(_READY_FOOTER.search(line) for line in lines[-4:]):
        return ActivityState.READY
    return ActivityState.ACTIVE


def _has_input_box(lines: list[str]) -> bool:
    return any(
        _PROMPT.match(line) and index > 0 and _RULE.match(lines[index - 1])
        for index, line in enumerate(lines[-8:], start=max(0, len(lines) - 8))
    )
