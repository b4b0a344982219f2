"""Run one benchmark by name, or all: ``python -m bench [extract|crawl|archive|idle|history]``."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ("extract", "crawl", "archive", "idle", "history")


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    for name in names:
        if name not in BENCHMARKS:
            print(f"error: unknown benchmark {name!r} (known: {', '.join(BENCHMARKS)})")
            return 2
    for name in names:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError:
            print(f"skipping {name}: not written yet")
            continue
        module.main([])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
