"""Several processes opening one fresh archive at the same moment (``serve`` starting both
sources, or ``crawl`` started beside it) must all get a WAL index at the latest version."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

from scraper.migrations import MIGRATIONS
from scraper.store import Archive


def _open(root: Path, start: threading.Barrier, results: multiprocessing.Queue[str]) -> None:
    start.wait(30)  # line the processes up: all released at once, when the last one arrives
    try:
        with Archive(root) as archive:
            version = archive.db.execute("PRAGMA user_version").fetchone()[0]
            mode = archive.db.execute("PRAGMA journal_mode").fetchone()[0]
        results.put(f"{mode} {version}")
    except Exception as exc:  # reported to the test process, which fails on it
        results.put(repr(exc))


def test_simultaneous_first_open_of_a_fresh_archive(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    outcomes = []
    for attempt in range(10):
        results: multiprocessing.Queue[str] = ctx.Queue()
        start = ctx.Barrier(4)
        procs = [
            ctx.Process(target=_open, args=(tmp_path / f"a{attempt}", start, results))
            for _ in range(4)
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=60)
        outcomes += [results.get(timeout=5) for _ in procs]
    assert set(outcomes) == {f"wal {len(MIGRATIONS)}"}, outcomes
