"""Reading Claude Code's JSONL transcript: the activity from its tail, the summary and the token usage.

What Claude Code 2.1 writes (one JSON object per line, ``~/.claude/projects/<encoded cwd>/<session id>.jsonl``):

- conversation entries with a ``timestamp``: ``user`` (a prompt, or ``tool_result`` blocks), ``assistant`` (one
  line per content block, all sharing ``message.id`` and carrying the message's full ``usage``; API failures
  have ``isApiErrorMessage``), ``system`` (``turn_duration`` and ``stop_hook_summary`` when a turn ends),
  ``attachment``, ``progress``;
- bookkeeping without a timestamp: ``last-prompt``, ``mode``, ``permission-mode``, ``file-history-snapshot``,
  ``ai-title``, ``custom-title``, ``summary``.

Lines are not always in time order: the first prompt's lines can land after the answer's, and bookkeeping
lines after both. So the newest entry is the one with the latest ``timestamp``, not the last line.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ao_core.models import ActivityState

__all__ = [
    "Classification",
    "StatsReader",
    "TailReading",
    "TranscriptStats",
    "TranscriptUsage",
    "age_text",
    "classify",
    "parse_timestamp",
    "read_tail",
    "summary_of",
]

_CHUNK = 4096
_MIN_TIMED_ENTRIES = 8
_MAX_TAIL_BYTES = 1 << 20
_SUMMARY_CHARS = 120

_BOOKKEEPING = frozenset(
    {
        "attachment",
        "file-history-snapshot",
        "last-prompt",
        "mode",
        "permission-mode",
        "summary",
        "ai-title",
        "custom-title",
        "queue-operation",
        "tag",
    }
)
_READY_SYSTEM = frozenset({"turn_duration", "stop_hook_summary", "local_command", "compact_boundary"})
_READY_STOPS = frozenset({"end_turn", "stop_sequence", "max_tokens", "refusal", "pause_turn"})


def parse_timestamp(value: Any) -> datetime | None:
    """An ISO 8601 timestamp (``2026-11-30T00:32:29.132Z``) as an aware UTC datetime, else ``None``."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --------------------------------------------------------------------------- the tail


@dataclass(frozen=True)
class TailReading:
    """The newest conversation entry found in a transcript's tail, and the file's modification time."""

    entry: dict[str, Any] | None
    timestamp: datetime | None
    mtime: datetime


def read_tail(path: Path) -> TailReading | None:
    """Read a transcript backwards in 4 KiB chunks until enough timed entries are seen; pick the newest.

    Returns ``None`` when the file does not exist. At most 1 MiB is read.
    """
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return None
    with handle:
        stat = os.fstat(handle.fileno())
        mtime = datetime.fromtimestamp(stat.st_mtime, UTC)
        end = stat.st_size
        position = end
        buffer = b""
        while position > 0 and end - position < _MAX_TAIL_BYTES:
            step = min(_CHUNK, position)
            position -= step
            handle.seek(position)
            buffer = handle.read(step) + buffer
            complete = buffer if position == 0 else buffer.partition(b"\n")[2]
            if complete.count(b'"timestamp"') >= _MIN_TIMED_ENTRIES:
                break
        complete = buffer if position == 0 else buffer.partition(b"\n")[2]
    best: dict[str, Any] | None = None
    best_at: datetime | None = None
    for line in complete.split(b"\n"):
        entry = _parse_line(line)
        if entry is None or entry.get("type") in _BOOKKEEPING or _is_meta(entry):
            continue
        at = parse_timestamp(entry.get("timestamp"))
        if at is None:
            continue
        if best_at is None or at >= best_at:  # ties: the later line wins
            best, best_at = entry, at
    return TailReading(best, best_at, mtime)


def _parse_line(line: bytes) -> dict[str, Any] | None:
    line = line.strip()
    if not line:
        return None
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _is_meta(entry: dict[str, Any]) -> bool:
    return entry.get("type") == "user" and entry.get("isMeta") is True


@dataclass(frozen=True)
class Classification:
    """What one transcript entry says about the agent.

    Attributes:
        state: The state it implies.
        working: The agent is in the middle of a turn (a prompt or tool result is being answered, a tool
            runs): ``active`` only while the entry is recent, undecidable after that.
        what: A short description for the evidence.
    """

    state: ActivityState
    working: bool
    what: str


def classify(entry: dict[str, Any]) -> Classification | None:
    """Classify a conversation entry (``None``: it says nothing about the activity)."""
    kind = entry.get("type")
    message = entry.get("message") if isinstance(entry.get("message"), dict) else {}
    assert isinstance(message, dict)
    if kind == "user":
        content = message.get("content")
        if isinstance(content, list) and any(_block_type(block) == "tool_result" for block in content):
            return Classification(ActivityState.ACTIVE, True, "tool result")
        text = _text(content)
        if text.startswith("[Request interrupted by user"):
            return Classification(ActivityState.READY, False, "user interrupted")
        return Classification(ActivityState.ACTIVE, True, "user prompt")
    if kind == "assistant":
        if entry.get("isApiErrorMessage") or entry.get("error"):
            status = entry.get("apiErrorStatus")
            return Classification(ActivityState.BLOCKED, False, f"API error{f' {status}' if status else ''}")
        stop = message.get("stop_reason")
        content = message.get("content")
        tools = [block.get("name") for block in content or [] if _block_type(block) == "tool_use"]
        if stop == "tool_use" or tools:
            names = ", ".join(str(name) for name in tools if name)
            return Classification(ActivityState.ACTIVE, True, f"assistant tool_use{f' ({names})' if names else ''}")
        if stop in _READY_STOPS:
            return Classification(ActivityState.READY, False, f"assistant {stop}")
        return Classification(ActivityState.ACTIVE, True, "assistant answering")
    if kind == "system":
        subtype = str(entry.get("subtype") or "")
        if "error" in subtype:
            return Classification(ActivityState.BLOCKED, False, f"system {subtype}")
        if subtype in _READY_SYSTEM:
            return Classification(ActivityState.READY, False, f"system {subtype}")
        return None
    if kind == "result":
        if entry.get("is_error"):
            return Classification(ActivityState.BLOCKED, False, "result error")
        return Classification(ActivityState.READY, False, "result")
    if kind == "permission_request":
        return Classification(ActivityState.WAITING_INPUT, False, "permission request")
    if kind == "error":
        return Classification(ActivityState.BLOCKED, False, "error")
    if kind == "progress":
        return Classification(ActivityState.ACTIVE, True, "progress")
    return Classification(ActivityState.ACTIVE, True, str(kind))


def _block_type(block: Any) -> Any:
    return block.get("type") if isinstance(block, dict) else None


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            block["text"]
            for block in content
            if isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str)
        )
    return ""


def age_text(delta: timedelta) -> str:
    """``3s ago``, ``4m ago``, ``2h ago``."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 7200:
        return f"{seconds // 60}m ago"
    return f"{seconds // 3600}h ago"


# --------------------------------------------------------------------------- the whole file: summary and usage


@dataclass
class TranscriptUsage:
    """Token usage of one assistant message (counted once, however many lines it spans)."""

    model: str | None
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    cost_usd: float | None = None


@dataclass
class TranscriptStats:
    """What a whole transcript says: titles, the first prompt, and usage per assistant message."""

    summary: str | None = None
    title: str | None = None
    first_prompt: str | None = None
    usage: dict[str, TranscriptUsage] = field(default_factory=dict)


@dataclass
class _Cached:
    identity: tuple[int, int]
    head: bytes
    offset: int
    stats: TranscriptStats


class StatsReader:
    """Parses transcripts for their summary and usage, incrementally.

    Transcripts only grow, so a later read parses only the bytes appended since (from the start again if the
    file was replaced or rewritten).

    Safe to share between threads. Remembers at most ``capacity`` transcripts.
    """

    def __init__(self, capacity: int = 512) -> None:
        self._capacity = capacity
        self._cache: OrderedDict[Path, _Cached] = OrderedDict()
        self._lock = threading.Lock()

    def read(self, path: Path) -> TranscriptStats | None:
        """The transcript's statistics; ``None`` when it does not exist."""
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            return None
        with handle:
            stat = os.fstat(handle.fileno())
            identity = (stat.st_dev, stat.st_ino)
            head = handle.read(256)
            with self._lock:
                cached = self._cache.pop(path, None)
            if (
                cached is None
                or cached.identity != identity
                or cached.head != head[: len(cached.head)]
                or stat.st_size < cached.offset
            ):
                cached = _Cached(identity, head, 0, TranscriptStats())
            handle.seek(cached.offset)
            data = handle.read()
        complete, newline, _ = data.rpartition(b"\n")
        if newline:
            for line in complete.split(b"\n"):
                entry = _parse_line(line)
                if entry is not None:
                    _account(cached.stats, entry)
            cached.offset += len(complete) + 1
        cached.head = head
        with self._lock:
            self._cache[path] = cached
            while len(self._cache) > self._capacity:
                self._cache.popitem(last=False)
        stats = cached.stats
        return TranscriptStats(stats.summary, stats.title, stats.first_prompt, dict(stats.usage))


def _account(stats: TranscriptStats, entry: dict[str, Any]) -> None:
    kind = entry.get("type")
    if kind == "summary" and isinstance(entry.get("summary"), str):
        stats.summary = entry["summary"]
    elif kind == "custom-title" and isinstance(entry.get("customTitle"), str):
        stats.title = entry["customTitle"]
    elif kind == "ai-title" and isinstance(entry.get("aiTitle"), str) and stats.title is None:
        stats.title = entry["aiTitle"]
    elif kind == "user" and stats.first_prompt is None and not _is_meta(entry):
        message = entry.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if not (isinstance(content, list) and any(_block_type(block) == "tool_result" for block in content)):
            text = " ".join(_text(content).split())
            if text and not text.startswith("<"):
                stats.first_prompt = text
    elif kind == "assistant":
        message = entry.get("message")
        if not isinstance(message, dict):
            return
        usage = message.get("usage")
        cost = entry.get("costUSD")
        if not isinstance(usage, dict) and not isinstance(cost, int | float):
            return
        key = str(message.get("id") or entry.get("uuid") or len(stats.usage))
        usage = usage if isinstance(usage, dict) else {}
        stats.usage[key] = TranscriptUsage(
            model=message.get("model") if isinstance(message.get("model"), str) else None,
            input_tokens=_int(usage.get("input_tokens")),
            output_tokens=_int(usage.get("output_tokens")),
            cache_read_tokens=_int(usage.get("cache_read_input_tokens")),
            cache_creation_tokens=_int(usage.get("cache_creation_input_tokens")),
            cost_usd=float(cost) if isinstance(cost, int | float) else None,
        )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def summary_of(stats: TranscriptStats) -> tuple[str | None, bool]:
    """The session's summary and whether it is only a fallback (the first prompt, shortened)."""
    if stats.summary:
        return stats.summary, False
    if stats.title:
        return stats.title, False
    if stats.first_prompt:
        text = stats.first_prompt
        return (text if len(text) <= _SUMMARY_CHARS else text[: _SUMMARY_CHARS - 1] + "…"), True
    return None, False
