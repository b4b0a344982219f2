"""A failing source in a running service (in-process, real scheduler, real fixture server):
the other source keeps its schedule, the failing one is backed off, the pause is reported and
survives a restart, and health turns unhealthy only when every source fails."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scraper.config import load_config
from scraper.health import HealthServer
from scraper.service import Service
from scraper.state import ServiceState, SourceState
from scraper.store import Archive
from tests.conftest import run_cli
from tests.server import FixtureServer
from tests.test_service_helpers import (
    KH_FEED,
    YONHAP_FEED,
    add_site,
    http_get,
    service_config,
    wait_for,
)


def _live(service: Service, name: str) -> dict[str, object]:
    return {s.source: vars(s) for s in service.snapshot().sources}[name]


def test_failing_source_is_backed_off_while_the_other_keeps_running(
    server: FixtureServer, tmp_path: Path
) -> None:
    add_site(server)
    del server.routes[YONHAP_FEED]  # yonhap: every discovery method answers 404
    cfg = service_config(tmp_path, server.url, service='failure_threshold = 2\nbackoff_max = "1h"')
    # koreaherald every 0.25 s: several of its runs fit in yonhap's first 2 s pause
    text = cfg.read_text().split("[sources.koreaherald]")
    cfg.write_text(
        text[0] + "[sources.koreaherald]" + text[1].replace("interval = 1", "interval = 0.25")
    )
    config = load_config(cfg, env={})
    service = Service(config)
    service.start()
    health = HealthServer(0, service.snapshot).start()
    try:
        wait_for(lambda: _live(service, "yonhap")["consecutive_failures"] == 2, what="2 failures")
        yonhap = _live(service, "yonhap")
        assert yonhap["failing"] and yonhap["backing_off"]
        # paused for twice the interval after reaching the threshold, counted from the end of
        # the failing run (not from whenever this test gets to look)
        next_run, ended = yonhap["next_run_ts"], yonhap["last_run_ts"]
        assert isinstance(next_run, float) and isinstance(ended, float)
        assert next_run - ended == pytest.approx(2.0, abs=0.25)
        hits_at_pause = len(server.requests_for(YONHAP_FEED))
        kh_at_pause = len(server.requests_for(KH_FEED))
        pause_ends = time.monotonic() + (next_run - time.time())  # the server's clock
        wait_for(lambda: len(server.requests_for(KH_FEED)) >= kh_at_pause + 3, what="kh runs")
        # koreaherald ran three more times on its schedule; yonhap stayed paused (no request
        # before its pause ended, however long those three runs took on a busy machine)
        early = [h for h in server.requests_for(YONHAP_FEED)[hits_at_pause:] if h.at < pause_ends]
        assert early == []

        code, body = http_get(f"http://127.0.0.1:{health.port}/healthz")
        assert code == 200, body  # one source still works
        assert json.loads(body)["sources"]["yonhap"]["backing_off"] is True

        # the third failure doubles the pause (4 s)
        wait_for(lambda: _live(service, "yonhap")["consecutive_failures"] == 3, what="3 failures")
        yonhap = _live(service, "yonhap")
        third, ended = yonhap["next_run_ts"], yonhap["last_run_ts"]
        assert isinstance(third, float) and isinstance(ended, float)
        assert third - ended == pytest.approx(4.0, abs=0.25)

        # now koreaherald fails too: every source failing makes the service unhealthy
        for path in ("/rss/newsAll", "/article/10604071", "/view.php?ud=20241106050843"):
            server.routes.pop(path)
        wait_for(lambda: _live(service, "koreaherald")["failing"], what="koreaherald failing")
        code, body = http_get(f"http://127.0.0.1:{health.port}/healthz")
        assert code == 503 and json.loads(body)["status"] == "unhealthy"
    finally:
        report = service.shutdown()
        health.stop()
    assert report.abandoned == ()

    with Archive(config.archive.path) as archive:
        state = ServiceState(archive.db)
        saved = state.source_state("yonhap")
        assert saved.consecutive_failures == 3 and saved.backoff_until is not None
        runs = state.runs("yonhap")
        assert {r.result for r in runs} == {"failed"}
        assert "HTTP 404" in (runs[0].error or "")
        assert any(r.result == "ok" for r in state.runs("koreaherald"))
    status = run_cli("--config", str(cfg), "status")
    assert status.returncode == 1  # a source's last run failed
    assert "3 in a row" in status.stdout and "backing off until" in status.stdout
    assert "error: feed /RSS/news.xml: HTTP 404" in status.stdout

    # a restart honours the pause instead of hammering the failing site at once (pause set
    # an hour ahead, so a slow machine cannot see it expire during the test)
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat(timespec="seconds")
    with Archive(config.archive.path) as archive:
        ServiceState(archive.db).save_source_state(SourceState("yonhap", until, 3, until))
    server.add(YONHAP_FEED, "<rss><channel></channel></rss>")
    restarted = Service(config)
    before = len(server.requests_for(YONHAP_FEED))
    restarted.start()
    try:
        yonhap = _live(restarted, "yonhap")
        assert yonhap["backing_off"] and yonhap["consecutive_failures"] == 3
        assert yonhap["next_run_ts"] == datetime.fromisoformat(until).timestamp()
        wait_for(lambda: _live(restarted, "koreaherald")["runs"], what="koreaherald's first run")
        assert len(server.requests_for(YONHAP_FEED)) == before
    finally:
        restarted.shutdown()
