"""Small helpers of the contract suites."""

from __future__ import annotations

import uuid

__all__ = ["unique_id"]


def unique_id(prefix: str = "aoc") -> str:
    """A short id unlikely to collide with anything on the backing system (``aoc-1a2b3c4d``)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
