"""Reading Aider's terminal screen.

What Aider 0.86 shows (recorded screens are in the tests' ``data/aider-<version>/``):

- ready: the input prompt on the last line, empty: ``>`` (``diff>``, ``ask>``, ``multi>`` ... when a chat mode
  or multi-line mode is on), below a horizontal rule and the files in the chat;
- working: the submitted message (``> please ...``) or the answer streaming in, with no empty prompt below;
  then ``Applied edit to ...`` and ``Commit ...`` lines while it applies and commits the edits;
- a question: a line ending in ``(Y)es/(N)o [Yes]:`` (with ``(A)ll``, ``(S)kip all``, ``(D)on't ask again``
  for some questions), waiting for an answer. An answered question shows the answer after the colon.

A prompt holding typed but unsubmitted text looks like a submitted message and is read as ``active``.
"""

from __future__ import annotations

import re

from ao_core.models import ActivityState

__all__ = ["classify_screen"]

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
# The empty prompt: "> ", or "<edit format>> " / "multi> " / "<edit format> multi> ".
_PROMPT = re.compile(r"^(?:[a-z][a-z-]*(?: multi)?|multi)?>\s*$")
_QUESTION = re.compile(r"\(Y\)es/\(N\)o\b.*\[(?:Yes|No)\]:\s*$")


def classify_screen(text: str) -> ActivityState:
    """Classify the bottom of Aider's screen.

    An unanswered question on the last line is ``waiting_input``; the empty prompt on the last line is
    ``ready``; anything else (starting up, a message being answered, edits being applied) is ``active``.
    """
    lines = [_ANSI.sub("", line).rstrip() for line in text.splitlines()]
    lines = [line for line in lines if line.strip()]
    if not lines:
        return ActivityState.ACTIVE
    last = lines[-1]
    if _QUESTION.search(last):
        return ActivityState.WAITING_INPUT
    if _PROMPT.match(last.strip()):
        return ActivityState.READY
    return ActivityState.ACTIVE
