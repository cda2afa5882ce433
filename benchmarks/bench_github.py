"""GitHub snapshot figures: 200 open pull requests in 3 repositories, the fake GitHub answering in 50 ms.

The measurement is ``measure_snapshot_polls`` of ``packages/ao-scm-github/tests/test_snapshots.py`` (loaded
from its path, not copied): the fake runs in its own process, so its request log (with each request's
rate-limit cost) is GitHub's view of a poll. Building 200 pull requests takes a few seconds, so one
measurement serves every count of a harness invocation (counts are deterministic: one run); wall times
take the first runs of the same measurement.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from benchmarks._harness import ROOT, Benchmark

SNAPSHOT_TESTS = ROOT / "packages" / "ao-scm-github" / "tests" / "test_snapshots.py"
_MODULE_NAME = "ao_bench_scm_github_test_snapshots"
WALL_RUNS = 3
"""Runs for wall times when the whole measurement stays under ``_WALL_BUDGET_S`` (else 1)."""
_WALL_BUDGET_S = 60.0
_TITLE = "200 PRs in 3 repositories, 50 ms per request"


def snapshot_tests() -> ModuleType:
    """The snapshot test module of ao-scm-github (``measure_snapshot_polls``, ``build_prs``), loaded once by path."""
    module = sys.modules.get(_MODULE_NAME)
    if module is not None:
        return module
    spec = importlib.util.spec_from_file_location(_MODULE_NAME, SNAPSHOT_TESTS)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {SNAPSHOT_TESTS}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[_MODULE_NAME] = module  # before exec: its dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[_MODULE_NAME]
        raise
    return module


class _Measurements:
    """Runs of ``measure_snapshot_polls`` per snapshot mode, made on demand and kept for the invocation."""

    def __init__(self) -> None:
        self.runs: dict[str, list[tuple[dict[str, Any], float]]] = {}

    def run(self, mode: str, index: int = 0) -> dict[str, Any]:
        """The polls of run ``index`` of ``mode`` (measured now when not yet measured)."""
        import anyio

        done = self.runs.setdefault(mode, [])
        while len(done) <= index:
            measure = snapshot_tests().measure_snapshot_polls
            started = time.perf_counter()
            with tempfile.TemporaryDirectory(prefix="ao-bench-github-") as tmp:
                polls = anyio.run(functools.partial(measure, Path(tmp), mode=mode))
            done.append((polls, time.perf_counter() - started))
        return done[index][0]

    def seconds(self, mode: str) -> float:
        """Wall time of the first measurement of ``mode`` (setup included)."""
        self.run(mode)
        return self.runs[mode][0][1]


def _count(
    data: _Measurements, poll: str, figure: str, what: str, *, target: str | None = None, mode: str = "adaptive"
) -> Benchmark:
    """One figure of one poll of the first run (deterministic: one run).

    ``what`` may quote the poll's figures (``{graphql}``, ``{rest_cost}``..., ``{rest}``: REST requests); the
    run fills them in.
    """
    names = {"requests": "HTTP requests", "not_modified": "requests answered 304", "cost": "rate-limit cost"}
    bench = Benchmark(
        name=f"github {mode}, {poll} poll: {names[figure]}",
        what=what,
        unit="points" if figure == "cost" else "requests",
        runs=1,
        target=target,
        measure=lambda: 0.0,
    )

    def measure() -> float:
        p = data.run(mode)[poll]
        bench.what = what.format(**vars(p), rest=p.requests - p.graphql)
        return float(p.rest_cost + p.graphql_cost if figure == "cost" else getattr(p, figure))

    bench.measure = measure
    return bench


def _wall(data: _Measurements, mode: str, poll: str, what: str) -> Benchmark:
    """A benchmark returning the wall time of one poll, one run of the measurement per call."""
    calls = [0]

    def measure() -> float:
        seconds = float(data.run(mode, calls[0])[poll].seconds)
        calls[0] += 1
        return seconds

    bench = Benchmark(
        name=f"github {mode}, {poll} poll: wall time", what=what, unit="s", runs=WALL_RUNS, measure=measure
    )

    def setup() -> None:
        # the first run decides how many fit in the budget; later runs are measured when asked for
        if data.seconds(mode) * WALL_RUNS > _WALL_BUDGET_S:
            bench.runs = 1
            bench.what += f" (1 run: one measurement takes {data.seconds(mode):.0f} s)"

    bench.setup = setup
    return bench


def benchmarks() -> list[Benchmark]:
    data = _Measurements()
    cold, unchanged = f"{_TITLE}: first poll, nothing cached", f"{_TITLE}: second poll, nothing changed"
    return [
        _count(
            data,
            "cold",
            "requests",
            f"{cold}: {{graphql}} GraphQL (batches of ≤ 50 PRs) + {{rest}} REST",
            target="≤ 10",
        ),
        _count(data, "cold", "cost", f"{cold}: {{rest_cost}} REST core + {{graphql_cost}} GraphQL points"),
        _count(
            data,
            "unchanged",
            "requests",
            f"{unchanged}: {{graphql}} GraphQL + {{rest}} REST (conditional)",
            target="≤ 10",
        ),
        _count(data, "unchanged", "not_modified", f"{unchanged}: of {{requests}} requests"),
        _count(
            data,
            "unchanged",
            "cost",
            f"{unchanged}: {{rest_cost}} REST core + {{graphql_cost}} GraphQL points",
            target="0",
        ),
        _wall(data, "adaptive", "cold", f"{cold}: get_pr_snapshots of 200 PRs, in-process"),
        _wall(data, "adaptive", "unchanged", f"{unchanged}: get_pr_snapshots of 200 PRs, in-process"),
        _count(
            data,
            "unchanged",
            "requests",
            f"{unchanged}, for comparison: every PR is re-read every poll ({{graphql_cost}} GraphQL points)",
            mode="graphql",
        ),
    ]
