"""Block Kit rendering of ao events: header, message, facts, action buttons."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ao_core.models import EventPriority, NotifyAction, NotifyContext, OrchestratorEvent

__all__ = ["EMOJI", "escape", "event_blocks", "event_text", "post_blocks"]

EMOJI: dict[EventPriority, str] = {
    EventPriority.URGENT: ":rotating_light:",
    EventPriority.ACTION: ":point_right:",
    EventPriority.WARNING: ":warning:",
    EventPriority.INFO: ":information_source:",
}

# Block Kit limits (https://api.slack.com/reference/block-kit/blocks).
_HEADER_MAX = 150
_SECTION_MAX = 3000
_FIELD_MAX = 2000
_BUTTON_TEXT_MAX = 75
_URL_MAX = 3000
_BUTTONS_MAX = 25
_TEXT_MAX = 4000  # the top-level `text` fallback; Slack truncates longer ones


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _http_url(value: Any) -> str | None:
    """``value`` when it is an http(s) URL short enough for a link; data from outside is checked first."""
    if not isinstance(value, str) or not value.startswith(("https://", "http://")) or len(value) > _URL_MAX:
        return None
    return None if any(c in value for c in "<>| \n") else value


def event_text(event: OrchestratorEvent) -> str:
    """The plain fallback text of an event (notifications, screen readers, clients without blocks)."""
    # Slack formats `text` as mrkdwn too: escape it like the blocks, so "<!channel>" in a message pings nobody.
    return _cut(
        f"{EMOJI[event.priority]} {event.type} — {escape(event.session_id)}: {escape(event.message)}", _TEXT_MAX
    )


def event_blocks(event: OrchestratorEvent, actions: Sequence[NotifyAction] = ()) -> list[dict[str, Any]]:
    """The blocks of an event: header, message, facts (priority, session, project, time, PR, CI), buttons."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": _cut(f"{EMOJI[event.priority]} {event.type} — {event.session_id}", _HEADER_MAX),
                "emoji": True,
            },
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut(escape(event.message) or " ", _SECTION_MAX)}},
    ]
    epoch = int(event.timestamp.timestamp())
    facts = [
        ("Priority", str(event.priority)),
        ("Session", f"`{escape(event.session_id)}`"),
        ("Project", escape(event.project_id)),
        # Slack shows the time in each reader's own time zone; the text after | is the fallback.
        ("Time", f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{event.timestamp.isoformat()}>"),
    ]
    pr_url = _http_url(event.data.get("prUrl"))
    if pr_url is not None:
        facts.append(("Pull request", f"<{pr_url}|{escape(_pr_label(pr_url))}>"))
    ci_status = event.data.get("ciStatus")
    if isinstance(ci_status, str) and ci_status:
        facts.append(("CI", escape(ci_status)))
    blocks.append(
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": _cut(f"*{name}*\n{value}", _FIELD_MAX)} for name, value in facts],
        }
    )
    blocks.extend(_action_blocks(actions))
    return blocks


def post_blocks(message: str, context: NotifyContext | None) -> list[dict[str, Any]]:
    """The blocks of a free-form message: the text, and a context line with session, project and PR."""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut(escape(message) or " ", _SECTION_MAX)}}
    ]
    if context is not None:
        parts = []
        if context.session_id:
            parts.append(f"Session `{escape(context.session_id)}`")
        if context.project_id:
            parts.append(f"Project {escape(context.project_id)}")
        pr_url = _http_url(context.pr_url)
        if pr_url is not None:
            parts.append(f"<{pr_url}|{escape(_pr_label(pr_url))}>")
        if parts:
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " | ".join(parts)}]})
    return blocks


def _pr_label(url: str) -> str:
    # ".../acme/app/pull/12" reads better as "acme/app#12"
    parts = url.rstrip("/").split("/")
    if len(parts) >= 4 and parts[-2] in {"pull", "pulls", "merge_requests"} and parts[-1].isdigit():
        return f"{parts[-4]}/{parts[-3]}#{parts[-1]}"
    return url


def _action_blocks(actions: Sequence[NotifyAction]) -> list[dict[str, Any]]:
    buttons: list[dict[str, Any]] = []
    others: list[str] = []
    for index, action in enumerate(actions):
        url = _http_url(action.url)
        if url is not None and len(buttons) < _BUTTONS_MAX:
            buttons.append(
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": _cut(action.label, _BUTTON_TEXT_MAX) or "Open"},
                    "url": url,
                    "action_id": f"ao_link_{index}",
                }
            )
        else:
            # ao has no Slack interactivity endpoint, so a button could not call back: name the action instead.
            others.append(escape(action.label))
    blocks: list[dict[str, Any]] = []
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    if others:
        text = _cut("Also possible from ao or its dashboard: " + ", ".join(others), _SECTION_MAX)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]})
    return blocks
