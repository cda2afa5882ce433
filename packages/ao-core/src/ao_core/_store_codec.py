"""Conversion between the data models and rows of the state database.

Datetimes are stored as ISO-8601 text in UTC with a fixed width (microseconds and ``+00:00`` always
present), so that text order is time order. JSON columns hold pydantic's JSON-mode dump of the model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pydantic_core
from pydantic import BaseModel

from ao_core.models import NotifyResult, OrchestratorEvent, Session

__all__ = [
    "EVENT_COLUMNS",
    "SESSION_COLUMNS",
    "dump_json",
    "dump_model",
    "event_from_row",
    "event_row",
    "results_from_text",
    "session_from_row",
    "session_row",
    "ts",
    "ts_or_none",
    "ts_parse",
    "ts_parse_or_none",
]

SESSION_COLUMNS: tuple[str, ...] = (
    "id",
    "project_id",
    "status",
    "activity",
    "branch",
    "issue_id",
    "pr",
    "workspace_path",
    "runtime_handle",
    "agent",
    "agent_info",
    "created_at",
    "updated_at",
    "last_activity_at",
    "restored_at",
    "status_evidence",
    "metadata",
)
"""The columns of ``sessions``, in the order :func:`session_row` produces them."""

_SESSION_JSON = frozenset({"pr", "runtime_handle", "agent_info", "metadata"})

EVENT_COLUMNS: tuple[str, ...] = (
    "id",
    "session_id",
    "project_id",
    "type",
    "priority",
    "message",
    "data",
    "created_at",
    "results",
)


def ts(value: datetime) -> str:
    """A datetime as fixed-width ISO-8601 UTC text; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def ts_or_none(value: datetime | None) -> str | None:
    """Like :func:`ts`, passing ``None`` through."""
    return None if value is None else ts(value)


def ts_parse(text: str) -> datetime:
    """The datetime stored as ``text`` by :func:`ts` (timezone-aware, UTC)."""
    return datetime.fromisoformat(text)


def ts_parse_or_none(text: str | None) -> datetime | None:
    """Like :func:`ts_parse`, passing ``None`` through."""
    return None if text is None else datetime.fromisoformat(text)


def dump_model(model: BaseModel | None) -> str | None:
    """A model as JSON text (pydantic JSON mode), ``None`` for ``None``."""
    return None if model is None else model.model_dump_json()


def dump_json(value: Any) -> str:
    """Any value as JSON text, serialized the way pydantic's JSON mode does (datetimes, enums, models)."""
    return pydantic_core.to_json(value).decode()


def session_row(session: Session, updated_at: str) -> tuple[Any, ...]:
    """The values of ``SESSION_COLUMNS`` for ``session``."""
    return (
        session.id,
        session.project_id,
        session.status.value,
        None if session.activity is None else session.activity.value,
        session.branch,
        session.issue_id,
        dump_model(session.pr),
        session.workspace_path,
        dump_model(session.runtime_handle),
        session.agent,
        dump_model(session.agent_info),
        ts(session.created_at),
        updated_at,
        ts_or_none(session.last_activity_at),
        ts_or_none(session.restored_at),
        session.status_evidence,
        dump_json(session.metadata),
    )


def session_from_row(row: Sequence[Any]) -> Session:
    """The session stored in ``row`` (selected with ``SESSION_COLUMNS``), validated by the model."""
    data: dict[str, Any] = dict(zip(SESSION_COLUMNS, row, strict=True))
    del data["updated_at"]
    for key in _SESSION_JSON:
        value = data[key]
        if value is not None:
            data[key] = json.loads(value)
    return Session.model_validate(data)


def event_row(event: OrchestratorEvent) -> tuple[Any, ...]:
    """The values of ``EVENT_COLUMNS`` (without ``results``) for ``event``."""
    return (
        event.id,
        event.session_id,
        event.project_id,
        event.type.value,
        event.priority.value,
        event.message,
        dump_json(event.data),
        ts(event.timestamp),
    )


def event_from_row(row: Sequence[Any]) -> OrchestratorEvent:
    """The event stored in ``row`` (selected with ``EVENT_COLUMNS``; ``results`` is ignored)."""
    event_id, session_id, project_id, type_, priority, message, data, created_at = row[:8]
    return OrchestratorEvent.model_validate(
        {
            "id": event_id,
            "type": type_,
            "priority": priority,
            "session_id": session_id,
            "project_id": project_id,
            "timestamp": created_at,
            "message": message,
            "data": json.loads(data),
        }
    )


def results_from_text(text: str | None) -> list[NotifyResult]:
    """The delivery results stored as JSON ``text`` (none recorded yet: an empty list)."""
    if text is None:
        return []
    return [NotifyResult.model_validate(item) for item in json.loads(text)]
