"""A small TTL cache with in-flight de-duplication: concurrent reads of one key share one fetch."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar, cast

import anyio

__all__ = ["TTLCache"]

V = TypeVar("V")


@dataclass
class _Pending(Generic[V]):
    done: anyio.Event = field(default_factory=anyio.Event)
    value: V | None = None
    error: BaseException | None = None
    ok: bool = False


class TTLCache(Generic[V]):
    """Values kept for ``ttl`` seconds, at most ``max_size`` of them (oldest evicted first).

    :meth:`get` returns a fresh cached value, or joins the fetch already running for the key, or runs
    ``fetch`` itself. A fetch that fails is not cached; its waiters see the same error. A fetch that is
    cancelled makes its waiters fetch again.
    """

    def __init__(self, ttl: float, max_size: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_size = max_size
        self._clock = clock
        self._items: dict[Hashable, tuple[float, V]] = {}
        self._pending: dict[Hashable, _Pending[V]] = {}

    def __len__(self) -> int:
        return len(self._items)

    def invalidate(self, key: Hashable) -> None:
        """Forget ``key``."""
        self._items.pop(key, None)

    def put(self, key: Hashable, value: V) -> None:
        """Store a value (evicting the oldest when full)."""
        self._items.pop(key, None)
        self._items[key] = (self._clock() + self.ttl, value)
        while len(self._items) > self.max_size:
            del self._items[next(iter(self._items))]

    async def get(self, key: Hashable, fetch: Callable[[], Awaitable[V]]) -> V:
        """The cached value of ``key``, fetching it (once, however many callers ask) when absent or stale."""
        while True:
            hit = self._items.get(key)
            if hit is not None:
                if hit[0] > self._clock():
                    return hit[1]
                del self._items[key]
            pending = self._pending.get(key)
            if pending is None:
                break
            await pending.done.wait()
            if pending.ok:
                return cast(V, pending.value)
            if pending.error is not None:
                raise pending.error
            # the fetch was cancelled: try again (this caller may fetch itself)
        pending = _Pending[V]()
        self._pending[key] = pending
        try:
            value = await fetch()
        except anyio.get_cancelled_exc_class():
            raise
        except Exception as exc:
            pending.error = exc
            raise
        else:
            pending.value, pending.ok = value, True
            if self.ttl > 0:
                self.put(key, value)
            return value
        finally:
            del self._pending[key]
            pending.done.set()
