"""Reading Aider's chat history (``.aider.chat.history.md``): the current run's last entry, summary, usage.

Aider appends to the file as it works (recorded histories are in the tests' ``data/aider-<version>/``):

- ``# aider chat started at 2026-11-30 00:49:35`` when it starts (local time, no zone);
- ``#### <line>`` for each line of a message the user submitted, written before the model is asked;
- the model's answer as plain Markdown, once it is complete;
- ``> <line>`` for Aider's own output (``> Tokens: 595 sent, 15 received. Cost: $0.0020 message, $0.0020
  session.``, ``> Applied edit to hello.txt``, ``> Commit 3f2a1bc ...``, answered questions).

Lines end with two spaces (Markdown line breaks).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = [
    "HISTORY_FILE",
    "HistoryTail",
    "Usage",
    "UsageReader",
    "first_user_line",
    "parse_tokens",
    "read_tail",
    "read_usage",
]

HISTORY_FILE = ".aider.chat.history.md"
"""The chat history's name, in the root of the workspace."""

_TAIL_BYTES = 64 * 1024
_HEAD_BYTES = 256 * 1024
_HEADER = re.compile(r"^# aider chat started at \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
_NUMBER = r"\d+(?:\.\d+)?[kM]?"
_TOKENS = re.compile(
    rf"Tokens: (?P<sent>{_NUMBER}) sent"
    rf"(?:, (?P<write>{_NUMBER}) cache write)?"
    rf"(?:, (?P<hit>{_NUMBER}) cache hit)?"
    rf", (?P<received>{_NUMBER}) received\."
)
_COST = re.compile(r"Cost: \$(?P<message>\d+(?:\.\d+)?) message, \$(?P<session>\d+(?:\.\d+)?) session\.")


@dataclass(frozen=True)
class HistoryTail:
    """The end of the chat history.

    Attributes:
        modified_at: When the file was last written.
        last_kind: What its last entry is: ``user`` (a submitted message), ``assistant`` (the model's answer),
            ``tool`` (Aider's own output) or ``header`` (Aider just started); ``None`` for an empty file.
        last_line: The last non-blank line, without the Markdown markers.
    """

    modified_at: datetime
    last_kind: str | None
    last_line: str


def _kind(line: str) -> str:
    if _HEADER.match(line):
        return "header"
    if line.startswith("#### "):
        return "user"
    if line.startswith("> ") or line == ">":
        return "tool"
    return "assistant"


def read_tail(path: Path, max_bytes: int = _TAIL_BYTES) -> HistoryTail | None:
    """The last entry of the history at ``path``, reading at most ``max_bytes`` from its end (``None``: no file)."""
    try:
        with path.open("rb") as handle:
            stat = os.fstat(handle.fileno())
            handle.seek(max(0, stat.st_size - max_bytes))
            data = handle.read(max_bytes)
    except OSError:
        return None
    modified_at = datetime.fromtimestamp(stat.st_mtime, UTC)
    lines = [line.rstrip() for line in data.decode("utf-8", "replace").splitlines()]
    if stat.st_size > max_bytes and lines:
        lines = lines[1:]  # the first line may be cut
    last = next((line for line in reversed(lines) if line.strip()), None)
    if last is None:
        return HistoryTail(modified_at, None, "")
    kind = _kind(last)
    text = last[5:] if kind == "user" else last[2:] if kind == "tool" else last
    return HistoryTail(modified_at, kind, text.strip())


def first_user_line(path: Path, max_bytes: int = _HEAD_BYTES) -> str | None:
    """The first line of the first message the user submitted (``None`` when there is none yet)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes)
    except OSError:
        return None
    for line in data.decode("utf-8", "replace").splitlines():
        if line.startswith("#### ") and line[5:].strip():
            return line[5:].strip()
    return None


def parse_tokens(text: str) -> int:
    """A token count as Aider prints it: ``595``, ``2.3k``, ``41k``, ``1.2M``."""
    factor = {"k": 1_000, "M": 1_000_000}.get(text[-1:], 1)
    number = text[:-1] if factor != 1 else text
    return round(float(number) * factor)


@dataclass(frozen=True)
class Usage:
    """Token usage and cost summed over every model call the history reports.

    Attributes:
        reports: How many usage reports (``Tokens: ...`` lines) there were.
        sent: Tokens sent (Aider's count; it rounds counts of 1,000 and more).
        received: Tokens received.
        cache_write: Tokens written to the prompt cache.
        cache_hit: Tokens read from the prompt cache.
        cost_usd: Dollars, when Aider knew the model's prices (``None`` when no report had a cost).
    """

    reports: int = 0
    sent: int = 0
    received: int = 0
    cache_write: int = 0
    cache_hit: int = 0
    cost_usd: float | None = None


def read_usage(path: Path) -> Usage | None:
    """Sum every usage report in the history (``None`` when the file cannot be read)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    reports = sent = received = cache_write = cache_hit = 0
    cost: float | None = None
    for line in text.splitlines():
        if not line.startswith("> "):
            continue
        tokens = _TOKENS.search(line)
        if tokens:
            reports += 1
            sent += parse_tokens(tokens["sent"])
            received += parse_tokens(tokens["received"])
            cache_write += parse_tokens(tokens["write"]) if tokens["write"] else 0
            cache_hit += parse_tokens(tokens["hit"]) if tokens["hit"] else 0
        money = _COST.search(line)
        if money:
            # "$X message" is the cost of this model call alone (Aider resets it after each report).
            cost = (cost or 0.0) + float(money["message"])
    return Usage(reports, sent, received, cache_write, cache_hit, cost)


class UsageReader:
    """Reads :func:`read_usage` again only when the file changed (size or modification time)."""

    def __init__(self) -> None:
        self._cache: dict[Path, tuple[tuple[int, int], Usage | None]] = {}

    def read(self, path: Path) -> Usage | None:
        """The usage of the history at ``path`` (``None`` when there is no file)."""
        try:
            stat = path.stat()
        except OSError:
            self._cache.pop(path, None)
            return None
        key = (stat.st_size, stat.st_mtime_ns)
        cached = self._cache.get(path)
        if cached is not None and cached[0] == key:
            return cached[1]
        usage = read_usage(path)
        self._cache[path] = (key, usage)
        return usage
