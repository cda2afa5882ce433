"""``python -m benchmarks [--only SUBSTRING] [--runs N]``: run every benchmark and print one line per figure."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from benchmarks import _harness


def main() -> int:
    parser = argparse.ArgumentParser(prog="benchmarks", description=__doc__)
    parser.add_argument("--only", help="run only benchmarks whose name contains this text")
    parser.add_argument("--runs", type=int, help="override the number of runs of every benchmark")
    args = parser.parse_args()
    print(f"machine: {_harness.machine()}", flush=True)
    import benchmarks

    for info in sorted(pkgutil.iter_modules(benchmarks.__path__), key=lambda m: m.name):
        if not info.name.startswith("bench_"):
            continue
        module = importlib.import_module(f"benchmarks.{info.name}")
        for bench in module.benchmarks():
            if args.only and args.only not in bench.name:
                continue
            print(_harness.run(bench, args.runs).line(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
