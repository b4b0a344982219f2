"""The service's state in a real archive (SQLite), the serve lock, backoff and run results, and
the metrics text."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scraper.crawl import SourceSummary
from scraper.errors import StoreError
from scraper.health import HealthSnapshot, SourceHealth, render_metrics
from scraper.migrations import MIGRATIONS
from scraper.state import (
    ArticleCounts,
    ServeLock,
    ServiceState,
    SourceState,
    backoff_delay,
    classify,
    serving,
)
from scraper.store import Archive


def test_classify_results() -> None:
    ok = SourceSummary("yonhap", discovered=3, new=3, method="feed /RSS/news.xml")
    assert classify(ok, stopped=False) == "ok"
    assert classify(ok, stopped=True) == "interrupted"
    nothing_new = SourceSummary("yonhap", method="feed /RSS/news.xml (not modified)")
    assert classify(nothing_new, stopped=False) == "ok"
    unreachable = SourceSummary("yonhap", errors=["feed: HTTP 503", "sitemap: HTTP 503"])
    assert classify(unreachable, stopped=False) == "failed"
    some = SourceSummary("yonhap", discovered=3, new=2, failed=1, method="feed x")
    assert classify(some, stopped=False) == "partial"
    every = SourceSummary("yonhap", discovered=3, failed=3, method="feed x")
    assert classify(every, stopped=False) == "failed"


def test_backoff_grows_exponentially_from_the_threshold_up_to_the_cap() -> None:
    assert backoff_delay(600, 0, 3, 21600) is None
    assert backoff_delay(600, 2, 3, 21600) is None
    assert backoff_delay(600, 3, 3, 21600) == 1200
    assert backoff_delay(600, 4, 3, 21600) == 2400
    assert backoff_delay(600, 5, 3, 21600) == 4800
    assert backoff_delay(600, 9, 3, 21600) == 21600
    assert backoff_delay(600, 10_000, 3, 21600) == 21600  # no overflow after months of failing


def test_runs_and_source_state_round_trip(tmp_path: Path) -> None:
    with Archive(tmp_path) as archive:
        version = archive.db.execute("PRAGMA user_version").fetchone()[0]
        assert version == len(MIGRATIONS)
        state = ServiceState(archive.db)
        first = state.begin_run("yonhap")
        summary = SourceSummary("yonhap", discovered=4, new=3, known=1, method="feed f")
        state.finish_run(first, "ok", summary)
        second = state.begin_run("yonhap")
        down = SourceSummary("yonhap", errors=["feed /RSS/news.xml: HTTP 503 (u)"])
        state.finish_run(second, "failed", down)
        left_open = state.begin_run("koreaherald")

        runs = state.runs("yonhap")
        assert [r.result for r in runs] == ["failed", "ok"]
        assert runs[1].new == 3 and runs[1].unchanged == 1 and runs[1].method == "feed f"
        assert runs[0].error == "feed /RSS/news.xml: HTTP 503 (u)"
        assert runs[0].duration is not None and runs[0].duration >= 0
        assert runs[0].pid == os.getpid()

        # a killed service leaves a run open; the next one closes it
        assert state.close_stale_runs() == 1
        closed = state.runs("koreaherald")[0]
        assert closed.id == left_open and closed.result == "interrupted" and closed.finished_at

        until = (datetime.now(UTC) + timedelta(hours=1)).isoformat(timespec="seconds")
        state.save_source_state(SourceState("yonhap", until, 4, until))
        state.save_source_state(SourceState("yonhap", until, 5, until))
        assert state.source_state("yonhap") == SourceState("yonhap", until, 5, until)
        assert state.source_state("koreaherald") == SourceState("koreaherald")

        status = state.status("yonhap")
        assert status.last_run is not None and status.last_run.result == "failed"
        assert status.failed_runs_recent == 1 and status.runs_total == 2
        assert status.last_success_at == runs[1].finished_at


def test_layout_drift_needs_a_jump_over_enough_records() -> None:
    steady = ArticleCounts(total=100, today=10, fallback=10, recent=10, recent_fallback=1)
    assert not steady.drift
    jump = ArticleCounts(total=100, today=10, fallback=14, recent=10, recent_fallback=5)
    assert jump.recent_fallback_share == 0.5 and jump.drift
    too_few = ArticleCounts(total=100, today=4, fallback=13, recent=4, recent_fallback=4)
    assert not too_few.drift
    assert ArticleCounts(0, 0, 0, 0, 0).fallback_share == 0.0


def test_second_lock_on_one_archive_is_refused_with_the_holder(tmp_path: Path) -> None:
    # the holder must be another process: flock locks belong to open file descriptions
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, pathlib; from scraper.state import ServeLock; "
            f"ServeLock(pathlib.Path({str(tmp_path)!r})).acquire(); print('locked', flush=True); "
            "sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        who = serving(tmp_path)
        assert who is not None and who.pid == holder.pid and who.since
        with pytest.raises(StoreError, match=f"already served by pid {holder.pid}"):
            ServeLock(tmp_path).acquire(wait=0.1)
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(10)
    # the kernel dropped the lock with the process
    assert serving(tmp_path) is None
    lock = ServeLock(tmp_path)
    lock.acquire(wait=0.1)
    lock.release()
    assert serving(tmp_path) is None


def test_metrics_text_format() -> None:
    snap = HealthSnapshot(
        alive=True,
        started_ts=1700000000.0,
        sources=(
            SourceHealth(
                source="yonhap",
                failing=False,
                backing_off=False,
                last_run_ts=1700000100.5,
                articles_total=12,
                fallback_total=1,
                runs={"ok": 3, "failed": 1},
                articles={"new": 12},
            ),
            SourceHealth(source="koreaherald", failing=True, backing_off=True),
        ),
    )
    text = render_metrics(snap)
    lines = text.splitlines()
    assert text.endswith("\n")
    assert "# TYPE scraper_crawl_runs_total counter" in lines
    # a count of what the archive holds now, not of events: gauges
    assert "# TYPE scraper_articles_total gauge" in lines
    assert "# TYPE scraper_fallback_articles_total gauge" in lines
    assert 'scraper_crawl_runs_total{source="yonhap",result="failed"} 1' in lines
    assert 'scraper_crawl_runs_total{source="yonhap",result="ok"} 3' in lines
    assert 'scraper_articles_total{source="yonhap"} 12' in lines
    assert 'scraper_last_run_timestamp_seconds{source="yonhap"} 1700000100.5' in lines
    assert 'scraper_source_backing_off{source="koreaherald"} 1' in lines
    assert "scraper_up 1" in lines
    # unknown values are left out rather than reported as 0
    assert not any(
        line.startswith('scraper_articles_total{source="koreaherald"}') for line in lines
    )
    # each family's samples follow its own HELP/TYPE lines
    names = [line.split("{")[0].split(" ")[0] for line in lines if not line.startswith("#")]
    assert names == sorted(names, key=names.index)
    assert snap.healthy
    all_failing = HealthSnapshot(True, 0.0, (SourceHealth("yonhap", True, False),))
    assert not all_failing.healthy
    assert not HealthSnapshot(False, 0.0, ()).healthy
