"""CLI start-up figures."""

from __future__ import annotations

from benchmarks._harness import VENV_BIN, Benchmark, timed_command


def benchmarks() -> list[Benchmark]:
    ao = str(VENV_BIN / "ao")
    return [
        Benchmark(
            name="ao --help cold start",
            what="wall time of a new `ao --help` process, from exec to exit",
            unit="s",
            runs=15,
            target="≤ 0.1 s",
            measure=timed_command([ao, "--help"]),
        ),
    ]
