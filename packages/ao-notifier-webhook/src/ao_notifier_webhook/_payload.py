"""The wire format: the ``ao.notification/v1`` JSON payloads and the signature header.

This is the contract with receivers (documented in the package README). Within ``v1`` fields are only ever
added; a change that removes or redefines a field gets a new schema name.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Any, Literal

from ao_core.models import NotifyAction, NotifyContext, OrchestratorEvent

__all__ = [
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "SCHEMA",
    "SIGNATURE_HEADER",
    "PayloadType",
    "encode",
    "event_json",
    "message_payload",
    "notification_payload",
    "sign",
]

SCHEMA = "ao.notification/v1"
"""The ``schema`` field of every payload."""
SIGNATURE_HEADER = "X-AO-Signature-256"
"""``sha256=<hex HMAC-SHA256 of the exact body bytes>``, sent when ``secret`` is configured."""
DELIVERY_HEADER = "X-AO-Delivery"
"""A UUID per delivery, the same on every retry of it: receivers deduplicate on it."""
EVENT_HEADER = "X-AO-Event"
"""The payload's ``type``: ``notification``, ``notification_with_actions`` or ``message``."""

PayloadType = Literal["notification", "notification_with_actions", "message"]


def event_json(event: OrchestratorEvent) -> dict[str, Any]:
    """The ``event`` object: ``id, type, priority, sessionId, projectId, timestamp, message, data``."""
    dumped = event.model_dump(mode="json")
    return {
        "id": event.id,
        "type": event.type.value,
        "priority": event.priority.value,
        "sessionId": event.session_id,
        "projectId": event.project_id,
        "timestamp": dumped["timestamp"],
        "message": event.message,
        "data": dumped["data"],
    }


def notification_payload(event: OrchestratorEvent, actions: Sequence[NotifyAction] | None = None) -> dict[str, Any]:
    """A ``notification`` payload, or ``notification_with_actions`` when ``actions`` is given."""
    if actions is None:
        return {"schema": SCHEMA, "type": "notification", "event": event_json(event)}
    return {
        "schema": SCHEMA,
        "type": "notification_with_actions",
        "event": event_json(event),
        "actions": [
            {"label": action.label, "url": action.url, "callbackEndpoint": action.callback_endpoint}
            for action in actions
        ],
    }


def message_payload(message: str, context: NotifyContext | None) -> dict[str, Any]:
    """A ``message`` payload: free text and where it belongs (``context`` is ``null`` when not given)."""
    return {
        "schema": SCHEMA,
        "type": "message",
        "message": message,
        "context": None
        if context is None
        else {
            "sessionId": context.session_id,
            "projectId": context.project_id,
            "prUrl": context.pr_url,
            "channel": context.channel,
        },
    }


def encode(payload: dict[str, Any]) -> bytes:
    """The body bytes: compact UTF-8 JSON (the signature is computed over exactly these bytes)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sign(secret: str, body: bytes) -> str:
    """The ``X-AO-Signature-256`` value: ``sha256=`` and the hex HMAC-SHA256 of ``body`` under ``secret``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
