"""Agents that edit files through text instead of tool calls (Aider): recognising them, rendering turns for them.

Aider offers no tools. It tells the model, in its system prompt, to answer with edit blocks in one of its
edit formats, and applies the blocks it finds in the answer:

- ``diff``: ``path`` then a fenced *SEARCH/REPLACE block* (an empty SEARCH part creates the file);
- ``whole``: ``path`` then the file's entire content in a fence (a *file listing*).

A turn's ``write_file`` calls are rendered as such blocks after its text, and ``run_shell`` calls as fenced
``bash`` blocks (Aider offers to run those; ``--yes-always`` declines them). Any other tool call cannot be
expressed and is an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ao_testing.fakes.model_server._script import Turn

__all__ = ["render_text_turn", "text_edit_format"]


def text_edit_format(api: str, body: Mapping[str, Any]) -> str | None:
    """The text edit format a Chat Completions request asks for (``diff``, ``whole``), ``None`` for other requests."""
    if api != "chat" or body.get("tools"):
        return None
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return None
    first = messages[0]
    if not isinstance(first, Mapping) or first.get("role") != "system" or not isinstance(first.get("content"), str):
        return None
    system: str = first["content"]
    if "SEARCH/REPLACE block" in system:
        return "diff"
    if "file listing" in system:
        return "whole"
    return None


def render_text_turn(turn: Turn, edit_format: str) -> str:
    """The answer text of ``turn`` with its tool calls written as ``edit_format`` edit blocks."""
    parts = [turn.text] if turn.text else []
    for call in turn.tool_calls:
        arguments = dict(call.arguments)
        if call.name == "write_file":
            path = str(arguments.get("path", ""))
            content = str(arguments.get("content", ""))
            if content and not content.endswith("\n"):
                content += "\n"
            if edit_format == "diff":
                parts.append(f"{path}\n```\n<<<<<<< SEARCH\n=======\n{content}>>>>>>> REPLACE\n```")
            else:
                parts.append(f"{path}\n```\n{content}```")
        elif call.name == "run_shell":
            parts.append(f"```bash\n{arguments.get('command', '')}\n```")
        else:
            raise ValueError(f"tool call {call.name!r} cannot be written as a {edit_format!r} edit block")
    return "\n\n".join(parts) + "\n"
