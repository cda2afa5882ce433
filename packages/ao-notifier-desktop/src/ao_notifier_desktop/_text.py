"""What a desktop notification says: title, body, urgency; and the escaping each medium needs."""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape as _html_escape

from ao_core.models import EventPriority, EventType, NotifyAction, OrchestratorEvent

__all__ = [
    "EVENT_PHRASES",
    "URGENCY_CRITICAL",
    "URGENCY_NORMAL",
    "applescript_string",
    "event_title",
    "pr_url_of",
    "render_body",
    "urgency_of",
]

URGENCY_NORMAL = 1
URGENCY_CRITICAL = 2

EVENT_PHRASES: dict[EventType, str] = {
    EventType.SESSION_SPAWNED: "started",
    EventType.SESSION_WORKING: "working",
    EventType.SESSION_EXITED: "agent exited",
    EventType.SESSION_KILLED: "killed",
    EventType.SESSION_IDLE: "idle",
    EventType.SESSION_STUCK: "stuck",
    EventType.SESSION_NEEDS_INPUT: "needs input",
    EventType.SESSION_ERRORED: "errored",
    EventType.PR_CREATED: "PR opened",
    EventType.PR_UPDATED: "PR updated",
    EventType.PR_MERGED: "PR merged",
    EventType.PR_CLOSED: "PR closed",
    EventType.CI_PASSING: "CI passing",
    EventType.CI_FAILING: "CI failing",
    EventType.CI_FIX_SENT: "CI fix sent to the agent",
    EventType.CI_FIX_FAILED: "CI fix failed",
    EventType.REVIEW_PENDING: "review pending",
    EventType.REVIEW_APPROVED: "approved",
    EventType.REVIEW_CHANGES_REQUESTED: "changes requested",
    EventType.REVIEW_COMMENTS_SENT: "review comments sent to the agent",
    EventType.REVIEW_COMMENTS_UNRESOLVED: "unresolved review comments",
    EventType.AUTOMATED_REVIEW_FOUND: "automated review comments",
    EventType.AUTOMATED_REVIEW_FIX_SENT: "automated review fix sent",
    EventType.MERGE_READY: "ready to merge",
    EventType.MERGE_CONFLICTS: "merge conflicts",
    EventType.MERGE_COMPLETED: "merged",
    EventType.REACTION_TRIGGERED: "reaction triggered",
    EventType.REACTION_ESCALATED: "needs you (escalated)",
    EventType.SUMMARY_ALL_COMPLETE: "all sessions complete",
}
"""The few words a title uses for each event type."""

# C0 controls except tab and newline, DEL, and C1 controls: nothing a notification should carry.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def urgency_of(priority: EventPriority) -> int:
    """The D-Bus urgency byte: 2 (critical) for urgent events, 1 (normal) for every other priority.

    Low urgency (0) is never used: many notification servers hide low-urgency notifications or show them
    only in their history, and an event ao decided to tell a human about should be seen.
    """
    return URGENCY_CRITICAL if priority is EventPriority.URGENT else URGENCY_NORMAL


def event_title(event: OrchestratorEvent, app_name: str) -> str:
    """``URGENT · app-3: needs input`` for urgent events, ``ao · app-3: CI failing`` otherwise."""
    phrase = EVENT_PHRASES.get(event.type, str(event.type))
    prefix = "URGENT" if event.priority is EventPriority.URGENT else app_name
    return _clean(f"{prefix} · {event.session_id}: {phrase}")


def pr_url_of(event: OrchestratorEvent) -> str | None:
    """The pull request URL in ``event.data["prUrl"]``, when it is a non-empty string."""
    value = event.data.get("prUrl")
    return value if isinstance(value, str) and value.strip() else None


def render_body(
    message: str,
    pr_url: str | None,
    actions: Sequence[NotifyAction] = (),
    *,
    markup: bool = False,
    links: bool = False,
) -> str:
    """The body text: the message, ``PR: <url>``, and one line per action.

    Args:
        message: The main text.
        pr_url: A pull request URL to add on its own line.
        actions: Offered as lines ``• label: url`` (``• label`` for an action without a URL).
        markup: The server renders the body as markup (capability ``body-markup``): ``&``, ``<`` and ``>``
            are escaped so that text shows as written.
        links: The server also renders hyperlinks (capability ``body-hyperlinks``): URLs become
            ``<a href>`` links, which the server itself opens on a click. Only used together with ``markup``.
    """
    links = links and markup
    lines = [_text(message, markup)]
    if pr_url:
        lines.append("PR: " + (_link(pr_url, pr_url) if links else _text(pr_url, markup)))
    if actions:
        lines.append("Actions:")
        for action in actions:
            if action.url and links:
                lines.append(f"• {_link(action.label, action.url)}")
            elif action.url:
                lines.append(f"• {_text(action.label, markup)}: {_text(action.url, markup)}")
            else:
                lines.append(f"• {_text(action.label, markup)}")
    return "\n".join(lines)


def applescript_string(text: str) -> str:
    r"""``text`` as an AppleScript string literal, quotes included, that evaluates to ``text``.

    Backslash and double quote are escaped; tab becomes ``\t``; line breaks (LF, CRLF, CR) become ``\n``;
    other control characters (which no notification should carry, and NUL cannot be passed in an
    argument at all) are removed. The result is safe to splice into an ``osascript -e`` script: nothing in
    ``text`` can end the literal.
    """
    cleaned = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    escaped = cleaned.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t").replace("\n", "\\n")
    return f'"{escaped}"'


def _clean(text: str) -> str:
    return _CONTROL.sub("", text)


def _text(text: str, markup: bool) -> str:
    text = _clean(text)
    return _html_escape(text, quote=False) if markup else text


def _link(label: str, url: str) -> str:
    return f'<a href="{_html_escape(_clean(url), quote=True)}">{_text(label, True)}</a>'
