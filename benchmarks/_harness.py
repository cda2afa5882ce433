"""Run benchmarks several times and report median, min and max with the machine they ran on.

A benchmark module is ``benchmarks/bench_<topic>.py`` exposing ``benchmarks() -> list[Benchmark]``. Each
``Benchmark.measure`` call performs one run and returns the measured value in the benchmark's unit, so a
benchmark can measure wall time, requests or memory alike. Figures are reported, never asserted.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


@dataclass
class Benchmark:
    """One figure: what is measured, in which unit, how many runs, and the function doing one run."""

    name: str
    what: str
    unit: str
    measure: Callable[[], float]
    runs: int = 10
    target: str | None = None
    setup: Callable[[], None] | None = None
    teardown: Callable[[], None] | None = None


@dataclass
class Result:
    """The values of all runs of one benchmark."""

    benchmark: Benchmark
    values: list[float] = field(default_factory=list)

    def line(self) -> str:
        b = self.benchmark
        med, lo, hi = statistics.median(self.values), min(self.values), max(self.values)
        target = f"; target {b.target}" if b.target else ""
        return (
            f"{b.name}: median {_fmt(med)} {b.unit} (min {_fmt(lo)}, max {_fmt(hi)}, n={len(self.values)})"
            f" — {b.what}{target}"
        )


def _fmt(value: float) -> str:
    if value == int(value) and abs(value) >= 1:
        return str(int(value))
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"


def machine() -> str:
    """A one-line description of the machine: CPU model, cores, memory, OS, Python, commit."""
    cpu = platform.processor() or "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    return (
        f"{cpu}, {os.cpu_count()} cores{mem}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, commit {commit or '?'}"
    )


def run(benchmark: Benchmark, runs: int | None = None) -> Result:
    """Run one benchmark ``runs`` times (its own default when None)."""
    result = Result(benchmark)
    if benchmark.setup is not None:
        benchmark.setup()
    try:
        for _ in range(runs or benchmark.runs):
            result.values.append(benchmark.measure())
    finally:
        if benchmark.teardown is not None:
            benchmark.teardown()
    return result


@contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    """Measure a block's wall time in seconds: ``with stopwatch() as elapsed: ...; elapsed()``."""
    start = time.perf_counter()
    end: list[float] = []
    yield lambda: (end[0] if end else time.perf_counter()) - start
    end.append(time.perf_counter())


def timed_command(argv: list[str], **kwargs: object) -> Callable[[], float]:
    """A measure function: wall time of running a command to completion (it must succeed)."""

    def measure() -> float:
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]  # kwargs pass through
        return time.perf_counter() - start

    return measure
