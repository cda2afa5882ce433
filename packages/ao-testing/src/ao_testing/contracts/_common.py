"""Small helpers of the contract suites."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["MethodCall", "exercise_methods", "protocol_methods", "unique_id"]


def protocol_methods(plugin: object, base: type[Any]) -> set[str]:
    """The methods ``plugin`` owes: those of its slot's protocol ``base`` and of every optional capability.

    The capabilities are the runtime-checkable ``Supports*`` protocols of ``ao_core.interfaces`` that
    ``plugin`` satisfies. Properties (``name``) are not methods. A test that maps each name to a call and
    compares the keys with this set fails when a method is added without being exercised.
    """
    from ao_core import interfaces

    def methods(protocol: type[Any]) -> set[str]:
        return {
            name for name, value in vars(protocol).items() if not name.startswith("_") and inspect.isfunction(value)
        }

    owed = methods(base)
    for name, protocol in vars(interfaces).items():
        if name.startswith("Supports") and inspect.isclass(protocol) and isinstance(plugin, protocol):
            owed |= methods(protocol)
    return owed


def unique_id(prefix: str = "aoc") -> str:
    """A short id unlikely to collide with anything on the backing system (``aoc-1a2b3c4d``)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class MethodCall:
    """One call of a plugin method for :func:`exercise_methods`.

    Attributes:
        call: Calls the method on the plugin it is given (returns the result or an awaitable of it).
        expect: Whether the result is right.
        remote: Whether the call must reach the service (at least one request the fake records).
    """

    call: Callable[[Any], Any]
    expect: Callable[[Any], bool]
    remote: bool = True


async def exercise_methods(
    owed: set[str],
    calls: Mapping[str, MethodCall],
    make_plugin: Callable[[], object],
    request_count: Callable[[], int],
) -> None:
    """Run every call, each on a fresh plugin (no cache answers), and check its result and its requests.

    ``owed`` (from :func:`protocol_methods`) must be exactly the calls' names: a method nobody calls fails.
    """
    assert set(calls) == owed, f"not exercised: {sorted(owed - set(calls))}; unknown: {sorted(set(calls) - owed)}"
    for name, spec in calls.items():
        plugin = make_plugin()
        before = request_count()
        result = spec.call(plugin)
        if inspect.isawaitable(result):
            result = await result
        assert spec.expect(result), f"{name} returned {result!r}"
        sent = request_count() - before
        assert (sent > 0) is spec.remote, f"{name} sent {sent} request(s) to the service"
