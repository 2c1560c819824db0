"""Runs every benchmark, or those named: ``python -m bench [correlation ...]``."""

from __future__ import annotations

import importlib
import platform
import sys

BENCHMARKS = ["correlation", "delivery", "e2e", "render"]


def main(argv: list[str]) -> None:
    names = argv or BENCHMARKS
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    print(f"python {platform.python_version()} on {platform.machine()}, one core per benchmark")
    for name in names:
        importlib.import_module(f"bench.{name}").main()


if __name__ == "__main__":
    main(sys.argv[1:])
