"""The end of a stop: wait for the running crawls, abandon what is stuck in a request, and
mark the abandoned runs in the index (see the ``scraper.service`` docstring for why that is
safe)."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from scraper.dates import now_iso
from scraper.errors import ScraperError
from scraper.service.runs import WRITE_GRACE, Run
from scraper.store import Archive

log = logging.getLogger("scraper.service")  # one logger name for the whole service


@dataclass(frozen=True)
class StopReport:
    finished: tuple[str, ...]  # sources whose running crawl ended on its own
    abandoned: tuple[str, ...]  # sources whose crawl was cut off inside a request


def wait_for_runs(running: list[Run], grace: float, hurry: threading.Event) -> StopReport:
    """Let each run finish its article for up to ``grace`` seconds (less once ``hurry`` is
    set), then up to ``WRITE_GRACE`` more for a run that is writing; the rest is abandoned."""
    deadline = time.monotonic() + grace
    finished, abandoned = [], []
    for run in running:
        while not run.done.is_set() and time.monotonic() < deadline:
            if hurry.is_set():
                break
            run.done.wait(0.05)
    hard = time.monotonic() + WRITE_GRACE
    for run in running:
        if run.done.is_set():
            finished.append(run.source)
            continue
        # not in a request means it is writing: an atomic step that ends in milliseconds
        while run.in_network == 0 and not run.done.is_set() and time.monotonic() < hard:
            run.done.wait(0.02)
        if run.done.is_set():
            finished.append(run.source)
        else:
            abandoned.append(run.source)
    return StopReport(tuple(finished), tuple(abandoned))


def close_abandoned(root: Path, names: list[str]) -> None:
    """Mark the abandoned runs interrupted; a failure is logged, the stop goes on."""
    try:
        with Archive(root) as archive:
            for name in names:
                archive.db.execute(
                    "UPDATE runs SET result = 'interrupted', finished_at = ?, error = ? "
                    "WHERE source = ? AND result = 'running'",
                    (now_iso(), "abandoned inside a request at shutdown", name),
                )
    except (ScraperError, OSError, sqlite3.Error) as exc:  # the stop goes on regardless
        log.error("cannot record the abandoned runs: %s", exc)
