"""Which Slack thread belongs to which session: a small JSON file that survives restarts of ao.

The file maps ``channel`` (as configured) → ``session id`` → the parent message's ``ts`` and the channel id
Slack answered with. Writes are atomic (temporary file + ``os.replace``) and serialised across processes
with an advisory lock on a sibling ``.lock`` file; readers never see a half-written file.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["ThreadRef", "ThreadStore"]

_log = logging.getLogger(__name__)

_VERSION = 1
MAX_ENTRIES = 5000
"""Sessions remembered per file; the least recently used are forgotten first."""


@dataclass(frozen=True)
class ThreadRef:
    """A session's thread: the parent message's ``ts`` in channel ``channel`` (an id)."""

    ts: str
    channel: str


class ThreadStore:
    """Session → thread mapping persisted in one JSON file.

    All methods block (file I/O): call them from a worker thread.
    """

    def __init__(self, path: Path, *, max_entries: int = MAX_ENTRIES) -> None:
        self.path = path
        self._max_entries = max_entries
        self._lock = threading.Lock()
        self._cache: dict[str, dict[str, dict[str, str]]] | None = None

    def get(self, scope: str, session_id: str) -> ThreadRef | None:
        """The thread of ``session_id`` in ``scope`` (the configured channel), or ``None``."""
        with self._lock:
            found = self._lookup(self._cache, scope, session_id)
            if found is None:
                # Not known here: another ao process (or an earlier run) may have written it since.
                self._cache = self._read()
                found = self._lookup(self._cache, scope, session_id)
            return found

    def put(self, scope: str, session_id: str, ref: ThreadRef) -> None:
        """Remember ``ref`` as the thread of ``session_id`` in ``scope``."""
        entry = {"ts": ref.ts, "channel": ref.channel, "updatedAt": datetime.now(UTC).isoformat()}
        self._update(lambda threads: threads.setdefault(scope, {}).__setitem__(session_id, entry))

    def forget(self, scope: str, session_id: str) -> None:
        """Forget the thread of ``session_id`` in ``scope`` (when Slack no longer knows it)."""
        self._update(lambda threads: threads.get(scope, {}).pop(session_id, None))

    # ------------------------------------------------------------------ internals

    @staticmethod
    def _lookup(threads: dict[str, dict[str, dict[str, str]]] | None, scope: str, session_id: str) -> ThreadRef | None:
        entry = (threads or {}).get(scope, {}).get(session_id)
        if entry is None:
            return None
        return ThreadRef(ts=entry["ts"], channel=entry["channel"])

    def _update(self, change: Any) -> None:
        with self._lock, self._file_lock():
            threads = self._read()
            change(threads)
            self._prune(threads)
            self._write(threads)
            self._cache = threads

    def _prune(self, threads: dict[str, dict[str, dict[str, str]]]) -> None:
        entries = [(e.get("updatedAt", ""), scope, sid) for scope, by_id in threads.items() for sid, e in by_id.items()]
        if len(entries) <= self._max_entries:
            return
        entries.sort()
        for _, scope, sid in entries[: len(entries) - self._max_entries]:
            del threads[scope][sid]
        for scope in [s for s, by_id in threads.items() if not by_id]:
            del threads[scope]

    def _read(self) -> dict[str, dict[str, dict[str, str]]]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            _log.warning("ignoring unreadable Slack thread file %s (%s); threads start afresh", self.path, exc)
            return {}
        threads = raw.get("threads") if isinstance(raw, dict) else None
        if not isinstance(threads, dict):
            _log.warning("ignoring Slack thread file %s: no 'threads' object", self.path)
            return {}
        clean: dict[str, dict[str, dict[str, str]]] = {}
        for scope, by_id in threads.items():
            if not isinstance(by_id, dict):
                continue
            for sid, entry in by_id.items():
                if isinstance(entry, dict) and all(isinstance(entry.get(k), str) for k in ("ts", "channel")):
                    clean.setdefault(str(scope), {})[str(sid)] = {k: str(v) for k, v in entry.items()}
        return clean

    def _write(self, threads: dict[str, dict[str, dict[str, str]]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"version": _VERSION, "threads": threads}, indent=2, sort_keys=True) + "\n"
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            Path(tmp).replace(self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with lock_path.open("a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
