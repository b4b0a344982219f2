"""Outages and transient faults, through the real CLI against real servers on 127.0.0.1:
a transient failure is retried in later runs (growing waits) and stays visible until it is
archived or abandoned; an unreachable host is reported as such, never as robots.txt; a crawl in
which a source failed as a whole exits 1 and says why."""

from __future__ import annotations

import json
import socket
import sqlite3
from pathlib import Path

from scraper.config import load_config
from scraper.service import Service
from tests.conftest import run_cli, write_config
from tests.crawl_site import YNA, publish, yna_id
from tests.server import Fault, FixtureServer
from tests.test_service_helpers import service_config, wait_for


def _cfg(tmp_path: Path, base_url: str) -> Path:
    cfg = write_config(tmp_path, base_url)
    # koreaherald off: its feeds would only add noise to these yonhap scenarios
    cfg.write_text(
        cfg.read_text().replace("[sources.koreaherald]", "[sources.koreaherald]\nenabled = false")
    )
    return cfg


def _states(tmp_path: Path) -> dict[str, tuple[str, int]]:
    db = sqlite3.connect(tmp_path / "archive" / "index.sqlite")
    try:
        rows = db.execute("SELECT url, state, attempts FROM urls WHERE kind = 'article'")
        return {url: (state, attempts) for url, state, attempts in rows}
    finally:
        db.close()


def _age_failures(tmp_path: Path) -> None:
    """As if the longest retry wait had passed (a day), without waiting a day."""
    db = sqlite3.connect(tmp_path / "archive" / "index.sqlite")
    with db:
        db.execute("UPDATE urls SET last_checked = '2000-01-01T00:00:00+00:00'")
    db.close()


def test_transient_failures_are_retried_visible_and_finally_abandoned(
    server: FixtureServer, tmp_path: Path
) -> None:
    site = publish(server, yonhap=4, koreaherald=0)
    empty, loop, chain, _ = site.yonhap
    server.fault(empty, Fault(status=200, body=b"", times=100))  # an empty 200
    server.fault(loop, Fault(status=302, headers={"Location": loop}, times=1000))
    server.fault(chain, Fault(status=302, headers={"Location": "/hop/1"}, times=1000))
    for i in range(1, 31):  # a chain of 30 redirects (the cap is 5)
        server.fault(
            f"/hop/{i}", Fault(status=302, headers={"Location": f"/hop/{i + 1}"}, times=1000)
        )
    cfg = _cfg(tmp_path, server.url)

    first = run_cli("--config", str(cfg), "crawl")
    assert first.returncode == 1, first.stderr
    assert "new 1," in first.stdout and "failed 3," in first.stdout
    states = _states(tmp_path)
    assert {states[YNA + p] for p in (empty, loop, chain)} == {("failed", 1)}

    # visible: stats, status and failures name them, with the reason and the next retry
    stats = run_cli("--config", str(cfg), "stats")
    assert "article URLs: failed 3, rejected 0, abandoned 0, gone 0" in stats.stdout, stats.stdout
    status = run_cli("--config", str(cfg), "status")
    assert "urls       failed 3, rejected 0, abandoned 0, gone 0" in status.stdout, status.stdout
    listed = run_cli("--config", str(cfg), "failures")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert len(lines) == 3 and all("\tfailed\t1 tries\tnext: next run\t" in x for x in lines)
    assert any("empty input" in x for x in lines)
    assert sum("too many redirects" in x for x in lines) == 2

    # the next run tries all three again (not "unchanged"; the feed is a 304 now): the empty
    # page has recovered
    server.faults.pop(empty)
    second = run_cli("--config", str(cfg), "crawl")
    assert second.returncode == 1
    assert "new 1, revised 0, unchanged 0, failed 2," in second.stdout, second.stdout
    assert _states(tmp_path)[YNA + empty] == ("done", 1)

    # after a second failure the wait grows: the next run does not ask again
    hits = len(server.requests_for(loop))
    third = run_cli("--config", str(cfg), "crawl")
    assert third.returncode == 0, third.stdout
    assert "retry later 2" in third.stdout and "failed 0" in third.stdout
    assert len(server.requests_for(loop)) == hits
    waiting = json.loads(run_cli("--config", str(cfg), "failures", "--json").stdout)
    assert {w["state"] for w in waiting} == {"failed"}
    assert all(w["next"] > w["last_checked"] for w in waiting)

    # once every wait has passed, each run tries again, until it gives up for good
    for _ in range(4):
        _age_failures(tmp_path)
        run_cli("--config", str(cfg), "crawl")
    states = _states(tmp_path)
    assert states[YNA + loop] == ("abandoned", 6) and states[YNA + chain] == ("abandoned", 6)
    server.routes["/RSS/news.xml"].body += b" "  # the feed lists them again
    gave_up = run_cli("--config", str(cfg), "crawl")
    assert gave_up.returncode == 0 and "given up 2" in gave_up.stdout, gave_up.stdout
    abandoned = run_cli("--config", str(cfg), "failures", "--state", "abandoned")
    assert abandoned.stdout.count("\tabandoned\t6 tries\tnext: never (scraper retry)\t") == 2
    status = run_cli("--config", str(cfg), "status")
    assert "failed 0, rejected 0, abandoned 2, gone 0" in status.stdout

    # `retry` puts them back, by URL (any form the site uses) or by the id `failures` shows
    server.faults.pop(loop)  # the loop is fixed, the chain is not
    chain_id = next(x.split("\t")[0] for x in abandoned.stdout.splitlines() if chain in x)
    retried = run_cli(
        "--config", str(cfg), "retry", f"{YNA}{loop}?section=news&input=rss", chain_id, "999999"
    )
    assert retried.returncode == 1 and "no article URL known as 999999" in retried.stderr
    assert retried.stdout.count("(was abandoned: too many redirects") == 2, retried.stdout
    back = run_cli("--config", str(cfg), "crawl")
    assert "new 1," in back.stdout and "failed 1," in back.stdout, back.stdout
    states = _states(tmp_path)
    assert states[YNA + loop] == ("done", 0) and states[YNA + chain] == ("failed", 1)


def test_a_pdf_is_rejected_for_good_and_a_404_is_gone(
    server: FixtureServer, tmp_path: Path
) -> None:
    site = publish(server, yonhap=3, koreaherald=0)
    server.add(site.yonhap[0], b"%PDF-1.4 a report", content_type="application/pdf")
    del server.routes[site.yonhap[1]]
    cfg = _cfg(tmp_path, server.url)
    assert run_cli("--config", str(cfg), "crawl").returncode == 1
    states = _states(tmp_path)
    assert states[YNA + site.yonhap[0]][0] == "rejected"
    assert states[YNA + site.yonhap[1]][0] == "gone"
    server.routes["/RSS/news.xml"].body += b" "  # the feed lists them again
    again = run_cli("--config", str(cfg), "crawl")
    assert again.returncode == 0 and "given up 2" in again.stdout, again.stdout
    assert len(server.requests_for(site.yonhap[0])) == 1  # never asked again
    listed = run_cli("--config", str(cfg), "failures", "--state", "rejected", "--state", "gone")
    assert "Content-Type application/pdf" in listed.stdout and "HTTP 404" in listed.stdout


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again on exit: connections are refused


def test_an_unreachable_host_is_reported_as_unreachable_not_as_robots(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, f"http://127.0.0.1:{_closed_port()}")
    cfg.write_text(cfg.read_text().replace("max_retries = 2", "max_retries = 0"))
    crawl = run_cli("--config", str(cfg), "crawl")
    out = crawl.stdout + crawl.stderr
    assert crawl.returncode == 1
    assert "robots" not in out.replace("skipped by robots 0", ""), out
    assert "skipped by robots 0" in crawl.stdout
    assert "host unreachable: connection failed: [Errno 111] Connection refused" in crawl.stdout
    errors = [x for x in crawl.stderr.splitlines() if x.startswith("error: ")]
    assert errors == [
        "error: yonhap: host unreachable: connection failed: [Errno 111] Connection refused"
    ], crawl.stderr
    assert crawl.stderr.count("Connection refused") == 2  # the one warning, the one error

    fetch = run_cli("--config", str(cfg), "fetch", f"{YNA}/view/{yna_id(1)}")
    assert fetch.returncode == 1
    assert "error: host unreachable: connection failed: [Errno 111] Connection refused" in (
        fetch.stderr
    ), fetch.stderr
    assert "robots" not in fetch.stderr
    stats = run_cli("--config", str(cfg), "stats")
    assert "robots" not in stats.stdout, stats.stdout
    failures = [x for x in stats.stdout.splitlines() if x.startswith("  failure ")]
    # one line for the five URLs: the reason, a count and one example URL (grouped by reason)
    assert len(failures) == 1, stats.stdout
    assert failures[0].startswith(
        "  failure x5: host unreachable: connection failed: [Errno 111] Connection refused (e.g. "
    ), stats.stdout


def test_crawl_exits_1_when_every_discovery_endpoint_failed(
    server: FixtureServer, tmp_path: Path
) -> None:
    publish(server, yonhap=2, koreaherald=0)
    for path in ("/RSS/news.xml", "/RSS/nk.xml", "/RSS/national.xml", "/news-sitemap.xml", "/news"):
        server.fault(path, Fault(status=503, times=100))
    cfg = _cfg(tmp_path, server.url)
    cfg.write_text(cfg.read_text().replace("max_retries = 2", "max_retries = 0"))
    crawl = run_cli("--config", str(cfg), "crawl")
    assert crawl.returncode == 1, crawl.stdout
    errors = [x for x in crawl.stderr.splitlines() if x.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith(
        "error: yonhap: every discovery endpoint failed (5; last: section /news: HTTP 503"
    ), crawl.stderr
    assert "disallowed" not in crawl.stderr


def test_serve_records_an_unreachable_host_and_status_shows_it(tmp_path: Path) -> None:
    cfg = service_config(tmp_path, f"http://127.0.0.1:{_closed_port()}", interval="600")
    cfg.write_text(cfg.read_text().replace("max_retries = 2", "max_retries = 0"))
    service = Service(load_config(cfg, env={}))
    service.start()
    try:
        wait_for(lambda: all(s.runs for s in service.snapshot().sources), what="one run per source")
    finally:
        service.shutdown()
    status = run_cli("--config", str(cfg), "status")
    assert status.returncode == 1  # a failed last run
    refused = "error: host unreachable: connection failed: [Errno 111] Connection refused"
    assert status.stdout.count(refused) == 2, status.stdout  # once per source
    assert "robots" not in status.stdout
