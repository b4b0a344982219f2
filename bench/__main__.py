"""Run one benchmark by name, or all of them:
``python -m bench [extract|crawl|archive|idle|web|history]``."""

from __future__ import annotations

import importlib
import sys

from bench import exit_on_sigterm

BENCHMARKS = ("extract", "crawl", "archive", "idle", "web", "history")
# wall time of each on the 2-core development machine (docs/benchmarks.md), to warn before a run
TAKES = {
    "extract": "~1 min",
    "crawl": "~2-3 min",
    "archive": "~25 min and ~2.5 GB in the temp dir (builds 100,000 articles)",
    "idle": "~70 s",
    "web": "~25 min (builds its own 100,000-article archive first)",
    "history": "~5 min (imports of 10,000-capture WARC files in two shapes, a paced backfill)",
}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    for name in names:
        if name not in BENCHMARKS:
            print(f"error: unknown benchmark {name!r} (known: {', '.join(BENCHMARKS)})")
            return 2
    exit_on_sigterm()  # Ctrl-C or SIGTERM: stop, and remove the temporary archives
    print(
        "benchmarks take long: " + "; ".join(f"{n} {TAKES[n]}" for n in names) + ". "
        "Ctrl-C or SIGTERM stops them and removes their temporary files; "
        "`python -m bench NAME` runs one.",
        flush=True,
    )
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
