"""Codex's rollout files: finding a session's thread, reading the tail, classifying it, counting tokens.

Codex writes each conversation ("thread") to ``<CODEX_HOME>/sessions/YYYY/MM/DD/rollout-<time>-<thread id>.jsonl``
(the date of its start), one JSON object per line: ``{"timestamp", "ordinal", "type", "payload"}``. What
Codex 0.171.0 writes (recorded rollouts are in the tests' ``data/codex-<version>/``):

- line 1, ``session_meta``: ``payload.id`` (the thread id, also in the file name), ``payload.cwd``,
  ``payload.timestamp``, ``thread_source`` (``user`` for a conversation a person started), the CLI version
  and Codex's base instructions (tens of KiB);
- per turn, ``event_msg`` ``task_started``, ``response_item`` (``message``, ``function_call``,
  ``function_call_output``), ``event_msg`` ``item_completed``, ``token_usage_record`` and ``event_msg``
  ``token_count`` after each model response (``info.total_token_usage`` is cumulative over the thread, also
  across ``codex resume``), ``turn_context`` (with the ``model``), ``world_state``;
- ``event_msg`` ``task_complete`` ends a turn; it carries ``error`` when the turn failed (an API error);
- a resumed thread continues in the same file. A killed process leaves the turn without an end.

Approval prompts are not written to the rollout: a tool call that waits for approval looks like one that
runs. That is why a pending tool call yields no state here (the screen tells them apart).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "RolloutMeta",
    "TailState",
    "TokenTotals",
    "classify_tail",
    "find_thread",
    "first_prompt",
    "is_thread_id",
    "latest_approval_policy",
    "latest_model",
    "latest_tokens",
    "parse_timestamp",
    "read_meta",
    "read_tail",
    "rollout_for_thread",
    "thread_name",
]

_HEAD_LIMIT = 4 * 1024 * 1024
_TAIL_START = 64 * 1024
_TAIL_LIMIT = 4 * 1024 * 1024
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DISCOVERY_SLACK = timedelta(seconds=10)

StateKind = Literal["working", "tool", "ready", "blocked", "waiting"]

_END_OF_TURN = frozenset({"task_complete", "turn_aborted"})
_ERRORS = frozenset({"error", "stream_error"})
_QUESTIONS = frozenset(
    {
        "exec_approval_request",
        "apply_patch_approval_request",
        "request_user_input",
        "elicitation_request",
        "request_permissions",
    }
)
_PENDING_CALLS = frozenset({"function_call", "custom_tool_call", "local_shell_call"})
_BOOKKEEPING_RECORDS = frozenset({"token_usage_record", "world_state", "turn_context", "session_meta"})
_BOOKKEEPING_EVENTS = frozenset({"token_count", "thread_settings_applied"})


def is_thread_id(value: object) -> bool:
    """Whether ``value`` looks like a Codex thread id (a UUID)."""
    return isinstance(value, str) and bool(_UUID.fullmatch(value))


def parse_timestamp(value: Any) -> datetime | None:
    """A rollout timestamp (``2026-11-30T00:47:27.581Z``) as an aware datetime, else ``None``."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


# --------------------------------------------------------------------------- the first line


@dataclass(frozen=True)
class RolloutMeta:
    """What a rollout's ``session_meta`` line says about its thread."""

    path: Path
    thread_id: str
    cwd: str
    started_at: datetime | None
    thread_source: str | None
    cli_version: str | None


def _first_line(path: Path, limit: int = _HEAD_LIMIT) -> bytes | None:
    try:
        with path.open("rb") as handle:
            data = b""
            while len(data) < limit:
                chunk = handle.read(64 * 1024)
                if not chunk:
                    break
                data += chunk
                newline = data.find(b"\n")
                if newline >= 0:
                    return data[:newline]
    except OSError:
        return None
    return data or None


def read_meta(path: Path) -> RolloutMeta | None:
    """The ``session_meta`` of a rollout (``None`` when the file is not one, or unreadable)."""
    line = _first_line(path)
    if not line:
        return None
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    payload = entry.get("payload") if isinstance(entry, dict) and entry.get("type") == "session_meta" else None
    if not isinstance(payload, dict):
        return None
    thread_id = payload.get("id") or payload.get("session_id")
    cwd = payload.get("cwd")
    if not is_thread_id(thread_id) or not isinstance(cwd, str):
        return None
    source = payload.get("thread_source")
    version = payload.get("cli_version")
    return RolloutMeta(
        path=path,
        thread_id=str(thread_id),
        cwd=cwd,
        started_at=parse_timestamp(payload.get("timestamp")) or parse_timestamp(entry.get("timestamp")),
        thread_source=source if isinstance(source, str) else None,
        cli_version=version if isinstance(version, str) else None,
    )


# --------------------------------------------------------------------------- finding files


def _day_dirs(sessions: Path, since: datetime, now: datetime) -> Iterable[Path]:
    # Codex names the folders after the local date of the thread's start; checking a day either side of
    # the UTC dates covers every time zone.
    first: date = (since - timedelta(days=1)).date()
    last: date = (now + timedelta(days=1)).date()
    day = first
    while day <= last:
        yield sessions / f"{day.year:04d}" / f"{day.month:02d}" / f"{day.day:02d}"
        day += timedelta(days=1)


def _same_dir(a: str, b: str) -> bool:
    if a.rstrip("/") == b.rstrip("/"):
        return True
    try:
        return os.path.realpath(a) == os.path.realpath(b)
    except OSError:
        return False


def find_thread(codex_home: Path, workspace: str, since: datetime, now: datetime | None = None) -> RolloutMeta | None:
    """The thread a person started in ``workspace`` at or after ``since`` (the earliest such one).

    Only rollouts in the date folders around ``since`` and modified since then are opened, and only their
    first line is read. Threads of sub-agents (``thread_source`` other than ``user``) are skipped.
    """
    now = now or datetime.now(UTC)
    sessions = codex_home / "sessions"
    floor = since - _DISCOVERY_SLACK
    best: RolloutMeta | None = None
    for folder in _day_dirs(sessions, floor, now):
        try:
            paths = sorted(folder.iterdir())
        except OSError:
            continue
        for path in paths:
            if not (path.name.startswith("rollout-") and path.name.endswith(".jsonl")):
                continue
            try:
                if path.stat().st_mtime < floor.timestamp():
                    continue
            except OSError:
                continue
            meta = read_meta(path)
            if meta is None or meta.thread_source not in (None, "user") or not _same_dir(meta.cwd, workspace):
                continue
            if meta.started_at is not None and meta.started_at < floor:
                continue
            if best is None or (meta.started_at or now) < (best.started_at or now):
                best = meta
    return best


def rollout_for_thread(codex_home: Path, thread_id: str) -> Path | None:
    """The rollout file of a thread (its name ends with the thread id), or ``None``."""
    if not is_thread_id(thread_id):
        return None
    found = sorted((codex_home / "sessions").glob(f"*/*/*/rollout-*-{thread_id}.jsonl"))
    return found[0] if found else None


# --------------------------------------------------------------------------- the tail


def read_tail(path: Path, want: Sequence[str] = (), *, start: int = _TAIL_START) -> list[dict[str, Any]]:
    """The complete entries at the end of a rollout, oldest first.

    Reads the last 64 KiB, and more (doubling, up to 4 MiB) until an entry of every ``record/type`` named
    in ``want`` is among them (``event_msg/token_count``, ``turn_context``) or the file is read whole. A
    partial first line is dropped.
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            window = start
            while True:
                offset = max(0, size - window)
                handle.seek(offset)
                data = handle.read(size - offset)
                lines = data.split(b"\n")
                if offset > 0:
                    lines = lines[1:]
                entries = _parse_lines(lines)
                if offset == 0 or window >= _TAIL_LIMIT or all(_has(entries, kind) for kind in want):
                    return entries
                window *= 2
    except OSError:
        return []


def _parse_lines(lines: Iterable[bytes]) -> list[dict[str, Any]]:
    entries = []
    for raw in lines:
        if not raw.strip():
            continue
        try:
            entry = json.loads(raw)
        except ValueError:
            continue  # the line Codex is still writing
        if isinstance(entry, dict):
            entries.append(entry)
    return entries


def _kind(entry: dict[str, Any]) -> tuple[str, str]:
    record = str(entry.get("type") or "")
    payload = entry.get("payload")
    inner = payload.get("type") if isinstance(payload, dict) else None
    return record, str(inner or "")


def _has(entries: Sequence[dict[str, Any]], want: str) -> bool:
    record, _, inner = want.partition("/")
    return any(_kind(entry) == (record, inner) or (not inner and _kind(entry)[0] == record) for entry in entries)


@dataclass(frozen=True)
class TailState:
    """What the end of a rollout says the agent is doing.

    Attributes:
        kind: ``working`` (in a turn, waiting for the model), ``tool`` (a tool call is running or waiting for
            approval: the rollout cannot tell which), ``ready`` (the turn ended), ``blocked`` (it ended with an
            error), ``waiting`` (a question is pending, where Codex records one).
        at: When that was recorded (the newest entry of this launch).
        what: A short description for the evidence string.
    """

    kind: StateKind
    at: datetime
    what: str


def classify_tail(entries: Sequence[dict[str, Any]], since: datetime | None = None) -> TailState | None:
    """Classify the newest entries at or after ``since`` (``None`` when there are none)."""
    recent = [
        (entry, at)
        for entry in entries
        if (at := parse_timestamp(entry.get("timestamp"))) is not None and (since is None or at >= since)
    ]
    if not recent:
        return None
    newest_at = max(at for _, at in recent)
    for entry, at in reversed(recent):
        record, inner = _kind(entry)
        payload = entry.get("payload") if isinstance(entry.get("payload"), dict) else {}
        if record == "event_msg" and inner in _END_OF_TURN:
            error = payload.get("error")
            if isinstance(error, dict) or (isinstance(error, str) and error):
                return TailState("blocked", at, f"turn ended with an error: {_error_text(error)}")
            return TailState("ready", at, "turn aborted" if inner == "turn_aborted" else "turn complete")
        if record == "event_msg" and inner in _ERRORS:
            return TailState("blocked", at, f"{inner}: {_error_text(payload.get('message'))}")
        if record == "event_msg" and inner in _QUESTIONS:
            return TailState("waiting", at, inner.replace("_", " "))
        if record in _BOOKKEEPING_RECORDS or (record == "event_msg" and inner in _BOOKKEEPING_EVENTS):
            continue
        if record == "response_item" and inner in _PENDING_CALLS:
            name = payload.get("name") or inner
            return TailState("tool", newest_at, f"tool call {name} running or awaiting approval")
        what = f"{record} {inner}".strip() if inner else record
        return TailState("working", newest_at, f"in a turn ({what})")
    return None


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        error = error.get("message") or json.dumps(error)
    text = " ".join(str(error or "unknown").split())
    return text if len(text) <= 160 else text[:159] + "…"


# --------------------------------------------------------------------------- usage, model, summary


@dataclass(frozen=True)
class TokenTotals:
    """Cumulative token usage of a thread, as Codex's latest ``token_count`` states it.

    ``input_tokens`` includes ``cached_input_tokens``; ``output_tokens`` includes ``reasoning_output_tokens``
    (the OpenAI usage convention, which Codex keeps).
    """

    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    reasoning_output_tokens: int
    total_tokens: int


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def latest_tokens(entries: Sequence[dict[str, Any]]) -> TokenTotals | None:
    """The newest ``token_count`` total among ``entries`` (``last_token_usage`` when no total is given)."""
    for entry in reversed(entries):
        if _kind(entry) != ("event_msg", "token_count"):
            continue
        info = entry["payload"].get("info")
        if not isinstance(info, dict):
            continue
        usage = info.get("total_token_usage") or info.get("last_token_usage")
        if not isinstance(usage, dict):
            continue
        return TokenTotals(
            input_tokens=_int(usage.get("input_tokens")),
            cached_input_tokens=_int(usage.get("cached_input_tokens")),
            output_tokens=_int(usage.get("output_tokens")),
            reasoning_output_tokens=_int(usage.get("reasoning_output_tokens")),
            total_tokens=_int(usage.get("total_tokens")),
        )
    return None


def _turn_context(entries: Sequence[dict[str, Any]], key: str) -> str | None:
    for entry in reversed(entries):
        if entry.get("type") == "turn_context" and isinstance(entry.get("payload"), dict):
            value = entry["payload"].get(key)
            if isinstance(value, str) and value:
                return value
    return None


def latest_model(entries: Sequence[dict[str, Any]]) -> str | None:
    """The model of the newest ``turn_context`` among ``entries``."""
    return _turn_context(entries, "model")


def latest_approval_policy(entries: Sequence[dict[str, Any]]) -> str | None:
    """The approval policy (``never``, ``on-request``) of the newest ``turn_context`` among ``entries``."""
    return _turn_context(entries, "approval_policy")


def first_prompt(path: Path, limit: int = 1024 * 1024) -> str | None:
    """The first message a person sent in the thread (from the first ``limit`` bytes of the rollout)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(limit)
    except OSError:
        return None
    for entry in _parse_lines(data.split(b"\n")):
        if _kind(entry) != ("event_msg", "item_completed"):
            continue
        item = entry["payload"].get("item")
        if not isinstance(item, dict) or item.get("type") != "UserMessage":
            continue
        texts = [part.get("text") for part in item.get("content") or [] if isinstance(part, dict)]
        text = " ".join(" ".join(t for t in texts if isinstance(t, str)).split())
        if text:
            return text
    return None


def thread_name(codex_home: Path, thread_id: str, limit: int = 256 * 1024) -> str | None:
    """The title Codex gave the thread (``session_index.jsonl``; the newest entry wins)."""
    path = codex_home / "session_index.jsonl"
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            handle.seek(max(0, size - limit))
            data = handle.read()
    except OSError:
        return None
    name = None
    for entry in _parse_lines(data.split(b"\n")):
        if entry.get("id") == thread_id and isinstance(entry.get("thread_name"), str) and entry["thread_name"]:
            name = entry["thread_name"]
    return name
