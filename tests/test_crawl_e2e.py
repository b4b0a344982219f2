"""``scraper crawl`` end to end: a real process against a real server on 127.0.0.1 serving
feeds, robots.txt, ETags and injected faults; the archive is read back from disk."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from tests.conftest import run_cli
from tests.crawl_site import YNA, publish, write_config, yna_id
from tests.server import Fault, FixtureServer, rss, yonhap_copy

DISALLOWED = f"/view/{yna_id(99)}"
ROBOTS = f"User-agent: *\nCrawl-delay: 0.01\nDisallow: {DISALLOWED}\n"


def test_crawl_survives_faults_and_never_fetches_twice(
    server: FixtureServer, tmp_path: Path
) -> None:
    site = publish(server, yonhap=6, koreaherald=2, robots=ROBOTS)
    y = site.yonhap
    # an article robots.txt disallows, listed in a section feed (linked on the mirror host)
    server.add(DISALLOWED, yonhap_copy(2, yna_id(99)))
    server.add(
        "/RSS/nk.xml",
        rss([f"{YNA}{y[0]}?section=nk/nk&input=rss", f"{server.url}{DISALLOWED}"]),
        content_type="application/rss+xml",
    )
    server.add("/RSS/national.xml", rss([YNA + y[5]]))
    server.fault("/RSS/national.xml", Fault(status=500, times=3))  # all 3 tries: feed fails
    server.fault(y[0], Fault(status=503, times=2))  # 503 twice, then the page
    server.fault(y[1], Fault(status=429, headers={"Retry-After": "1"}))
    server.fault(y[2], Fault(status=200, body=b"<html><body>cut", truncate=True))
    server.fault(y[3], Fault(status=200, stall=1.5))  # longer than the 0.5 s timeout
    server.add(y[4], b"%PDF-1.4 not a web page", content_type="application/pdf")
    cfg = write_config(tmp_path, server.url, timeout=0.5)

    first = run_cli("--config", str(cfg), "crawl")

    assert first.returncode == 1, first.stderr  # the PDF is not an article
    lines = first.stdout.splitlines()
    assert lines[0].startswith("yonhap: discovered 7, new 5, revised 0, unchanged 0, failed 1, ")
    assert "skipped by robots 1 (via feed)" in lines[0]
    assert lines[1] == (
        "koreaherald: discovered 2, new 2, revised 0, unchanged 0, failed 0, "
        "skipped by robots 0 (via feed)"
    )
    assert "Traceback" not in first.stderr
    # every allowed article is archived exactly once, the disallowed one never requested
    db = sqlite3.connect(tmp_path / "archive" / "index.sqlite")
    ids = [r[0] for r in db.execute("SELECT id FROM articles ORDER BY id")]
    expected = [f"yonhap:{yna_id(i)}" for i in (1, 2, 3, 4, 6)]
    assert ids == ["koreaherald:20000001", "koreaherald:20000002", *expected]
    assert server.requests_for(DISALLOWED) == []
    assert len(server.requests_for("/robots.txt")) == 1
    states = dict(db.execute("SELECT url, state FROM urls WHERE kind = 'article'").fetchall())
    assert states[YNA + y[4]] == "rejected"
    assert states[YNA + DISALLOWED] == "robots"
    captures = db.execute("SELECT COUNT(*) FROM captures WHERE article_id IS NOT NULL")
    evidence = {r[0] for r in db.execute("SELECT url FROM captures WHERE article_id IS NULL")}
    captures = captures.fetchone()[0]
    db.close()
    # robots.txt and the feeds that listed the articles are archived too
    assert {f"{server.url}/robots.txt", f"{server.url}/RSS/news.xml"} <= evidence
    assert captures == 7  # one per archived article, plus the raw PDF kept for the record
    # the retries: 503 twice then 200; 429 then a wait of Retry-After; truncation; stall
    assert [h.status for h in server.requests_for(y[0])] == [503, 503, 200]
    hits = server.requests_for(y[1])
    assert [h.status for h in hits] == [429, 200]
    assert hits[1].at - hits[0].at >= 0.95
    assert [h.status for h in server.requests_for(y[2])] == [200, 200]
    assert [h.status for h in server.requests_for(y[3])] == [200, 200]
    assert len(server.requests_for("/RSS/national.xml")) == 3
    # the WARC holds exactly one response per fetched article page, readable by warcio
    responses = []
    for warc in (tmp_path / "archive" / "warc").glob("*/*.warc.gz"):
        with warc.open("rb") as fh:
            responses += [
                r.rec_headers.get_header("WARC-Target-URI")
                for r in ArchiveIterator(fh)
                if r.rec_type == "response"
            ]
    pages = [uri for uri in responses if uri not in evidence]  # not robots.txt, not the feeds
    assert sorted(pages) == sorted(server.url + p for p in site.articles)

    # a second crawl downloads no article: only conditional requests answered 304
    mark = len(server.hits)
    second = run_cli("--config", str(cfg), "crawl")
    assert second.returncode == 0, second.stderr
    # 304s list nothing; national.xml (failed before) lists one article, archived already
    assert second.stdout.splitlines() == [
        "yonhap: discovered 1, new 0, revised 0, unchanged 1, failed 0, skipped by robots 1 "
        "(via feed)",
        "koreaherald: discovered 0, new 0, revised 0, unchanged 0, failed 0, skipped by robots 0 "
        "(via feed)",
    ]
    later = server.hits[mark:]
    assert [h.path for h in later if h.path.startswith(("/view/", "/article/"))] == []
    assert not any(h.path == "/robots.txt" for h in later)  # read again only after a day
    for path in ("/RSS/news.xml", "/RSS/nk.xml", "/rss/newsAll"):
        (hit,) = [h for h in later if h.path == path]
        assert hit.status == 304 and hit.headers.get("if-none-match")


def test_a_killed_crawl_resumes_where_it_stopped(server: FixtureServer, tmp_path: Path) -> None:
    site = publish(server, yonhap=6, koreaherald=0)
    stalled = site.yonhap[3]
    server.fault(stalled, Fault(status=200, stall=30))  # the process is killed while it waits
    cfg = write_config(tmp_path, server.url, timeout=60)
    db_path = tmp_path / "archive" / "index.sqlite"
    exe = Path(sys.executable).parent / "scraper"
    proc = subprocess.Popen(
        [str(exe), "--config", str(cfg), "-q", "crawl", "--source", "yonhap"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until the first three are stored
            if server.requests_for(stalled) and db_path.exists() and _done(db_path) == 3:
                break
            time.sleep(0.02)
        else:
            raise AssertionError("the crawl never reached the stalled article")
    finally:
        proc.kill()
        proc.wait(10)
    assert _done(db_path) == 3
    mark = len(server.hits)
    again = run_cli("--config", str(cfg), "crawl", "--source", "yonhap")
    assert again.returncode == 0, again.stderr
    assert "new 3" in again.stdout  # the other three, no more
    refetched = [h.path for h in server.hits[mark:] if h.path.startswith("/view/")]
    assert sorted(refetched) == sorted(site.yonhap[3:])
    assert _done(db_path) == 6
    for record in (tmp_path / "archive" / "articles").rglob("*.json"):
        json.loads(record.read_text())  # every file whole
    for warc in (tmp_path / "archive" / "warc").glob("*/*.warc.gz"):
        with warc.open("rb") as fh:
            assert sum(1 for r in ArchiveIterator(fh) if r.rec_type == "response") >= 1


def _done(db_path: Path) -> int:
    db = sqlite3.connect(db_path, timeout=5)
    try:
        return int(db.execute("SELECT COUNT(*) FROM articles").fetchone()[0])
    except sqlite3.OperationalError:  # not created yet
        return 0
    finally:
        db.close()
