"""The issue cache and the sharing of in-flight fetches, counted at the fake."""

from __future__ import annotations

import anyio
import pytest
from ao_core.config import ProjectConfig
from ao_core.errors import IssueNotFoundError
from ao_core.models import Issue
from ao_testing.fakes.linear import FakeLinear
from ao_tracker_linear import LinearTracker, LinearTrackerConfig, _tracker

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_two_concurrent_get_issue_calls_make_one_request(
    tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear
) -> None:
    linear.latency = 0.3
    results: list[Issue] = []

    async def fetch() -> None:
        results.append(await tracker.get_issue("INT-100", project))

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(fetch)
            tg.start_soon(fetch)
    assert len(linear.requests_for("issue")) == 1
    assert [r.id for r in results] == ["INT-100", "INT-100"]
    assert results[0] is not results[1]  # each caller gets its own copy
    results[0].labels.append("changed by a caller")
    assert "changed by a caller" not in (await tracker.get_issue("INT-100", project)).labels


async def test_concurrent_calls_share_a_not_found(
    tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear
) -> None:
    linear.latency = 0.3
    errors: list[BaseException] = []

    async def fetch() -> None:
        try:
            await tracker.get_issue("INT-9999", project)
        except IssueNotFoundError as exc:
            errors.append(exc)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(fetch)
    assert len(errors) == 3
    assert len(linear.requests_for("issue")) == 1
    await tracker.get_issue("INT-100", project)  # a failure is not cached; the next call asks again
    with pytest.raises(IssueNotFoundError):
        await tracker.get_issue("INT-9999", project)
    assert len(linear.requests_for("issue")) == 3


async def test_a_waiter_fetches_itself_when_the_first_caller_is_cancelled(
    tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear
) -> None:
    linear.latency = 0.4
    got: list[Issue] = []

    async def impatient() -> None:
        with anyio.move_on_after(0.1):
            await tracker.get_issue("INT-100", project)

    async def patient() -> None:
        await anyio.sleep(0.05)  # starts while the impatient caller's request is in flight
        got.append(await tracker.get_issue("INT-100", project))

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(impatient)
            tg.start_soon(patient)
    assert [i.id for i in got] == ["INT-100"]
    assert len(linear.requests_for("issue")) == 2


async def test_the_cache_serves_until_the_ttl_then_asks_again(
    config: LinearTrackerConfig, project: ProjectConfig, linear: FakeLinear
) -> None:
    clock = Clock()
    tracker = LinearTracker(config.model_copy(update={"cache_ttl_s": 60}), clock=clock)
    assert await tracker.is_completed("INT-100", project) is False
    await tracker.generate_prompt("INT-100", project)
    await tracker.get_issue("int-100", project)
    assert len(linear.requests_for("issue")) == 1
    linear.move_issue("INT-100", "Done")
    clock.now += 59
    assert await tracker.is_completed("INT-100", project) is False  # still the cached answer
    clock.now += 1
    assert await tracker.is_completed("INT-100", project) is True
    assert len(linear.requests_for("issue")) == 2
    tracker.clear_cache()
    await tracker.get_issue("INT-100", project)
    assert len(linear.requests_for("issue")) == 3


async def test_a_zero_ttl_turns_the_cache_off(
    config: LinearTrackerConfig, project: ProjectConfig, linear: FakeLinear
) -> None:
    tracker = LinearTracker(config.model_copy(update={"cache_ttl_s": 0}))
    for _ in range(3):
        await tracker.get_issue("INT-100", project)
    assert len(linear.requests_for("issue")) == 3
    assert tracker.branch_name("INT-100", project) == "alice/int-100-fix-login-timeout"


async def test_the_cache_is_bounded_and_drops_the_oldest(
    config: LinearTrackerConfig, project: ProjectConfig, linear: FakeLinear, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _tracker._CACHE_MAX == 500
    monkeypatch.setattr(_tracker, "_CACHE_MAX", 3)  # the same code path as 500, in 5 requests instead of 502
    tracker = LinearTracker(config)
    for n in range(1, 5):
        linear.create_issue("INT", f"Issue {n}", number=1000 + n)
    for n in range(1, 5):
        await tracker.get_issue(f"INT-{1000 + n}", project)
    linear.clear_requests()
    await tracker.get_issue("INT-1004", project)
    await tracker.get_issue("INT-1002", project)
    assert linear.requests == []
    await tracker.get_issue("INT-1001", project)  # the oldest entry was dropped
    assert len(linear.requests) == 1
