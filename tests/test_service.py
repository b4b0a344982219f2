"""`scraper serve` as a real process against the fixture server: scheduled crawls of both
sources, conditional requests, status, health endpoint, JSON logs, clean SIGTERM stops, one
service per archive, and `crawl`/`fetch` alongside it."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
from pathlib import Path

from tests.archive_helpers import assert_consistent
from tests.conftest import run_cli
from tests.server import Fault, FixtureServer
from tests.test_service_helpers import (
    KH_FEED,
    YONHAP,
    YONHAP_FEED,
    ServeProcess,
    add_site,
    free_port,
    http_get,
    json_lines,
    service_config,
    wait_for,
)


def test_serve_crawls_both_sources_repeatedly_and_stops_cleanly(
    server: FixtureServer, tmp_path: Path
) -> None:
    add_site(server)
    cfg = service_config(tmp_path, server.url)
    port = free_port()
    serve = ServeProcess.start(
        tmp_path, "--config", str(cfg), "--log-format", "json", "serve", "--health-port", str(port)
    )
    try:
        # three scheduled runs of each source, 1 s apart
        wait_for(
            lambda: (
                len(server.requests_for(YONHAP_FEED)) >= 3
                and len(server.requests_for(KH_FEED)) >= 3
            ),
            what="three crawls of each source",
        )
        for feed in (YONHAP_FEED, KH_FEED):
            hits = server.requests_for(feed)
            assert "if-none-match" not in hits[0].headers
            # every later run asks "changed?" and gets 304: nothing downloaded twice
            assert all("if-none-match" in h.headers and h.status == 304 for h in hits[1:3])
        for native in YONHAP.values():
            assert len(server.requests_for(f"/view/{native}")) == 1
        assert len(server.requests_for("/article/10604071")) == 1

        # status once the third run of each source is recorded, read while no run is going:
        # runs start every second and a `status` process can take longer than that on a loaded
        # machine, so a status is accepted when the last run it reports for each source is a
        # finished one (a status that caught a run going reads "running" and is asked again)
        def recorded_runs() -> list[tuple[str, int]]:
            db = sqlite3.connect(tmp_path / "archive" / "index.sqlite")
            try:
                return db.execute(
                    "SELECT source, COUNT(*) FROM runs WHERE finished_at IS NOT NULL "
                    "GROUP BY source ORDER BY source"
                ).fetchall()
            finally:
                db.close()

        def quiet_status() -> subprocess.CompletedProcess[str] | None:
            done = recorded_runs()
            if len(done) != 2 or any(n < 3 for _, n in done):
                return None
            status = run_cli("--config", str(cfg), "status", "--json")
            if status.returncode != 0:
                return status  # reported by the assertion below
            sources = json.loads(status.stdout)["sources"].values()
            return status if all(s["last_run"]["result"] != "running" for s in sources) else None

        statuses: list[subprocess.CompletedProcess[str]] = []

        def settled() -> bool:
            got = quiet_status()
            if got is not None:
                statuses.append(got)
            return got is not None

        wait_for(settled, what="a status read between runs, after three recorded runs each")
        status = statuses[0]
        assert status.returncode == 0, status.stderr
        doc = json.loads(status.stdout)
        assert doc["service"]["running"] is True and doc["service"]["pid"] == serve.proc.pid
        yonhap, kh = doc["sources"]["yonhap"], doc["sources"]["koreaherald"]
        assert yonhap["articles"] == {"total": 3, "today": 3, "last_24h": 3}
        assert kh["articles"]["total"] == 2
        for s in (yonhap, kh):
            assert s["last_run"]["result"] == "ok"
            assert s["last_run"]["finished_at"] >= s["last_run"]["started_at"]
            assert s["next_run_at"] is not None and s["next_run_at"] >= s["last_run"]["started_at"]
            assert s["consecutive_failures"] == 0 and s["fallback"]["share"] == 0.0
        text = run_cli("--config", str(cfg), "status")
        assert text.stdout.startswith(f"service    running (pid {serve.proc.pid}")
        assert "yonhap\n  last run" in text.stdout and "3 total, 3 today" in text.stdout

        code, body = http_get(f"http://127.0.0.1:{port}/healthz")
        assert code == 200 and json.loads(body)["status"] == "ok"
        code, metrics = http_get(f"http://127.0.0.1:{port}/metrics")
        assert code == 200
        samples = dict(line.rsplit(" ", 1) for line in metrics.splitlines() if line[:1] != "#")
        assert samples["scraper_up"] == "1"
        assert samples['scraper_articles_total{source="yonhap"}'] == "3"
        assert samples['scraper_articles_total{source="koreaherald"}'] == "2"
        assert int(samples['scraper_crawl_runs_total{source="yonhap",result="ok"}']) >= 3
        assert samples['scraper_crawl_articles_total{source="yonhap",outcome="new"}'] == "3"
        assert float(samples['scraper_last_run_timestamp_seconds{source="koreaherald"}']) > 0

        rc, took = serve.terminate()
    finally:
        serve.kill()
    assert rc == 0, serve.log()
    assert took < 10
    archive = tmp_path / "archive"
    assert_consistent(archive)
    assert not (archive / "serve.lock").read_text(), "the lock file still names a holder"

    # one JSON log line per crawl per source, with its counts
    crawls = [r for r in json_lines(serve.log()) if r.get("event") == "crawl"]
    first = {r["source"]: r for r in reversed(crawls)}
    assert first["yonhap"]["new"] == 3 and first["koreaherald"]["new"] == 2
    assert first["yonhap"]["resumed"] == 0 and first["yonhap"]["feeds_not_modified"] == 0
    # every later finished run found its feed unchanged (the 304s asserted above)
    later = [r for r in crawls if r["result"] == "ok" and r is not first[r["source"]]]
    assert later and all(r["feeds_not_modified"] >= 1 for r in later)
    # a run still going when SIGTERM came ends "interrupted"; every other run is "ok"
    last = {r["source"]: i for i, r in enumerate(crawls)}
    for i, r in enumerate(crawls):
        assert r["result"] == "ok" or (i == last[r["source"]] and r["result"] == "interrupted"), r
    assert sum(r["source"] == "yonhap" for r in crawls) >= 3
    assert any(r["msg"] == "stopped" for r in json_lines(serve.log()))

    after = run_cli("--config", str(cfg), "status")
    assert after.stdout.startswith("service    not running")
    assert "next run   - (the service is not running)" in after.stdout


def test_sigterm_abandons_a_request_stuck_past_the_grace_period(
    server: FixtureServer, tmp_path: Path
) -> None:
    add_site(server)
    stuck = f"/view/{YONHAP[2]}"
    server.fault(stuck, Fault(status=200, stall=60))  # answers after a minute
    cfg = service_config(tmp_path, server.url, http_timeout=60, service="stop_grace = 2")
    # one request in flight per host: the Korea Herald must be another origin (same server)
    # to crawl while Yonhap's request hangs
    head, kh = cfg.read_text().split("[sources.koreaherald]")
    cfg.write_text(head + "[sources.koreaherald]" + kh.replace("127.0.0.1", "localhost", 1))
    serve = ServeProcess.start(tmp_path, "--config", str(cfg), "serve")
    try:
        wait_for(lambda: server.requests_for(stuck), what="the stuck request")
        wait_for(lambda: server.requests_for("/article/10604071"), what="koreaherald's crawl")
        rc, took = serve.terminate()
    finally:
        serve.kill()
    assert rc == 0, serve.log()
    assert took < 10, took
    assert "abandoned the crawl of yonhap inside a request" in serve.log()
    archive = tmp_path / "archive"
    assert_consistent(archive)
    db = sqlite3.connect(archive / "index.sqlite")
    results = dict(db.execute("SELECT source, result FROM runs ORDER BY id"))
    db.close()
    assert results["yonhap"] == "interrupted"
    # the article before the stuck one was stored; the stuck one was not half-stored
    assert (archive / "articles/yonhap/2023/04/19" / f"{YONHAP[1]}.json").exists()
    assert not (archive / "articles/yonhap/2023/04/19" / f"{YONHAP[2]}.json").exists()


def test_second_serve_refuses_and_crawl_and_fetch_run_alongside(
    server: FixtureServer, tmp_path: Path
) -> None:
    add_site(server)
    cfg = service_config(tmp_path, server.url)
    serve = ServeProcess.start(tmp_path, "--config", str(cfg), "serve")
    try:
        # a crawl started together with the service's first runs: both write the same articles
        crawl = run_cli("--config", str(cfg), "crawl")
        assert crawl.returncode == 0, crawl.stderr
        wait_for(lambda: (tmp_path / "archive" / "serve.lock").exists(), what="the lock")
        second = run_cli("--config", str(cfg), "serve", timeout=30)
        assert second.returncode == 1
        assert second.stderr.startswith("error: the archive is already served by pid ")
        assert len(second.stderr.strip().splitlines()) == 1
        urls = [f"https://en.yna.co.kr/view/{i}" for i in YONHAP.values()]
        for _ in range(2):  # fetch writes captures and index rows while the service runs
            fetched = run_cli("--config", str(cfg), "fetch", *urls)
            assert fetched.returncode == 0, fetched.stderr
        wait_for(lambda: len(server.requests_for(KH_FEED)) >= 3, what="three service runs")
        rc, took = serve.terminate(sig=signal.SIGINT)  # Ctrl-C stops it as cleanly as SIGTERM
    finally:
        serve.kill()
    assert rc == 0 and took < 10, serve.log()
    assert "SIGINT received; stopping" in serve.log()
    archive = tmp_path / "archive"
    assert_consistent(archive)
    db = sqlite3.connect(archive / "index.sqlite")
    assert db.execute("SELECT COUNT(*) FROM articles").fetchone()[0] == 5
    # the content never changed, so every article has exactly one revision
    assert db.execute("SELECT MAX(revision) FROM articles").fetchone()[0] == 1
    assert db.execute("SELECT COUNT(*) FROM captures").fetchone()[0] >= 5 + 6
    db.close()
    assert len(list((archive / "articles").rglob("*.json"))) == 5


def test_config_errors_are_reported_one_per_line_before_anything_runs(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(
        f'[archive]\npath = "{tmp_path / "archive"}"\n'
        '[service]\nhealth_port = 70000\n[sources.yonhap]\ninterval = "soon"\n'
        "[sources.naver]\nenabled = true\n"
    )
    result = run_cli("--config", str(cfg), "serve", timeout=30)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3, result.stderr
    assert all(line.startswith("error: ") and line.endswith(f"({cfg})") for line in lines)
    assert any("service.health_port" in line for line in lines)
    assert any("sources.yonhap.interval" in line for line in lines)
    assert any("unknown source 'naver'" in line for line in lines)
    assert not (tmp_path / "archive").exists(), "something ran before the config was checked"

    unreadable = run_cli("--config", str(tmp_path), "serve", timeout=30)  # a directory
    assert unreadable.returncode == 2
    assert unreadable.stderr.startswith("error: cannot read config")

    none_enabled = tmp_path / "none.toml"
    none_enabled.write_text(
        f'[archive]\npath = "{tmp_path / "archive"}"\n'
        "[sources.yonhap]\nenabled = false\n[sources.koreaherald]\nenabled = false\n"
    )
    result = run_cli("--config", str(none_enabled), "serve", timeout=30)
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"error: no source is enabled (sources.<name>.enabled) ({none_enabled})"
    )
    assert not (tmp_path / "archive").exists()
