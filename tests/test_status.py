"""`scraper status` on archives in known states: empty, with runs, with a layout drift."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scraper.crawl import SourceSummary
from scraper.extract import extract
from scraper.sources import by_name
from scraper.state import ServiceState, SourceState
from scraper.store import Archive
from tests.conftest import run_cli, write_config
from tests.server import yonhap_fixture


def test_status_of_an_archive_the_service_never_ran_on(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "http://127.0.0.1:9")
    Archive(tmp_path / "archive").close()  # an empty archive (status creates none)
    result = run_cli("--config", str(cfg), "status")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("service    not running\n")
    assert "yonhap\n  last run   never\n" in result.stdout
    assert "koreaherald\n  last run   never\n" in result.stdout
    assert "0 total, 0 today" in result.stdout
    assert "WARNING" not in result.stdout
    doc = json.loads(run_cli("--config", str(cfg), "status", "--json").stdout)
    assert doc["service"] == {"running": False, "pid": None, "since": None}
    assert doc["sources"]["yonhap"]["last_run"] is None


def _store(archive: Archive, n: int, *, native: str, parser: str, fetched_at: str) -> None:
    article = extract(yonhap_fixture(n), source=by_name("yonhap"), fetched_at=fetched_at)
    article = article.evolve(
        id=f"yonhap:{native}", parser=parser, fetched_at=fetched_at, title=f"{native}"
    )
    archive.save(article, None, url=f"https://en.yna.co.kr/view/{native}")


def test_status_reports_runs_counts_failures_and_a_layout_drift(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "http://127.0.0.1:9")
    now = datetime.now(UTC)
    old = (now - timedelta(days=3)).isoformat(timespec="seconds")
    fresh = (now - timedelta(minutes=5)).isoformat(timespec="seconds")
    with Archive(tmp_path / "archive") as archive:
        # 20 records from days ago by the site parser, 1 by the fallback; then today 6 of 8
        # came out of the fallback: the page layout changed
        for i in range(20):
            _store(
                archive,
                1 + i % 15,
                native=f"AEN2023041900{i:04d}",
                parser="yonhap/y1",
                fetched_at=old,
            )
        _store(
            archive, 2, native="AEN20230419009999", parser="fallback/trafilatura", fetched_at=old
        )
        for i in range(8):
            parser = "fallback/trafilatura" if i < 6 else "yonhap/y1"
            _store(archive, 3, native=f"AEN2023111800{i:04d}", parser=parser, fetched_at=fresh)
        state = ServiceState(archive.db)
        run = state.begin_run("yonhap")
        state.finish_run(
            run, "partial", SourceSummary("yonhap", discovered=9, new=8, failed=1, method="feed f")
        )
        for _ in range(2):
            run = state.begin_run("koreaherald")
            state.finish_run(
                run, "failed", SourceSummary("koreaherald", errors=["feed x: HTTP 503"])
            )
        until = (now + timedelta(minutes=20)).isoformat(timespec="seconds")
        state.save_source_state(SourceState("koreaherald", until, 2, until))

    result = run_cli("--config", str(cfg), "status")
    assert result.returncode == 1  # koreaherald's last run failed
    out = result.stdout
    yonhap, kh = out.split("\nkoreaherald\n")
    assert ": partial\n" in yonhap
    assert "discovered 9, new 8, revised 0, unchanged 0, failed 1 (via feed f)" in yonhap
    today = 8 if fresh[:10] == now.strftime("%Y-%m-%d") else 0  # just after midnight UTC
    assert f"29 total, {today} today, 8 in the last 24 h" in yonhap
    assert "fallback   24.1% of records (7 of 29); last 24 h 75.0% (6 of 8)" in yonhap
    assert "WARNING    layout drift" in yonhap
    assert ": failed\n" in kh and "error: feed x: HTTP 503" in kh
    assert f"2 in a row, 2 failed runs in the last 24 h; backing off until {until}" in kh
    assert "WARNING" not in kh

    doc = json.loads(run_cli("--config", str(cfg), "status", "--json").stdout)
    y = doc["sources"]["yonhap"]
    last_n = y["fallback"].pop("last_n")
    assert y["fallback"] == {"share": round(7 / 29, 4), "share_24h": 0.75, "drift": True}
    # the drift alarm over the last 50 new articles: 7 of 29 is under the 0.5 threshold
    assert (last_n["articles"], last_n["fallback"], last_n["alarm"]) == (29, 7, False)
    assert y["last_run"]["result"] == "partial" and y["runs_total"] == 1
    k = doc["sources"]["koreaherald"]
    assert k["consecutive_failures"] == 2 and k["backoff_until"] == until
    assert k["last_success_at"] is None and k["failed_runs_24h"] == 2
