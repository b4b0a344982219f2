"""``crawl_source`` in-process against the real test server: the discovery fallback chain,
resuming an interrupted run, settled failures, robots.txt outcomes, pacing and host backoff."""

from __future__ import annotations

import sqlite3
import threading
from itertools import pairwise
from pathlib import Path

from scraper.config import Config, load_config
from scraper.crawl import SourceSummary, crawl_source
from scraper.pipeline import Context
from scraper.polite import HOST_FAILURE_LIMIT
from scraper.prefetch import PREFETCH_DEPTH
from tests.crawl_site import YNA, fallbacks, publish, write_config
from tests.server import Fault, FixtureServer, rss


def _config(tmp_path: Path, server: FixtureServer, **kwargs: float) -> Config:
    return load_config(write_config(tmp_path, server.url, **kwargs), env={})


def _crawl(config: Config, name: str = "yonhap", **kwargs: object) -> SourceSummary:
    with Context.open(config) as ctx:
        return crawl_source(ctx, config.source(name), **kwargs)  # type: ignore[arg-type]


def _states(config: Config) -> dict[str, str]:
    db = sqlite3.connect(config.archive.path / "index.sqlite")
    try:
        return dict(db.execute("SELECT url, state FROM urls WHERE kind = 'article'").fetchall())
    finally:
        db.close()


def _article_hits(server: FixtureServer) -> list[str]:
    return [p for p in server.paths() if p.startswith(("/view/", "/article/"))]


def test_falls_back_to_sitemap_when_every_feed_fails_or_is_empty(
    server: FixtureServer, tmp_path: Path
) -> None:
    site = publish(server, yonhap=3)
    fallbacks(server, site)
    server.add("/RSS/news.xml", rss([]))  # empty
    server.fault("/RSS/nk.xml", Fault(status=500, times=10))  # failing; national.xml: 404
    summary = _crawl(_config(tmp_path, server))
    assert (summary.method, summary.new, summary.failed) == ("sitemap", 3, 0)
    assert "feed /RSS/nk.xml: HTTP 500" in summary.errors[0]
    assert server.requests_for("/news") == []  # the sitemap worked: no section page read


def test_falls_back_to_section_pages_and_follows_sitemap_index(
    server: FixtureServer, tmp_path: Path
) -> None:
    site = publish(server, yonhap=2)
    fallbacks(server, site)
    server.add("/RSS/news.xml", b"<html>not a feed</html>", content_type="text/html")
    server.add("/news-sitemap.xml", b"<?xml version='1.0'?><urlset></urlset>")
    assert _crawl(_config(tmp_path, server)).method == "section"
    assert sorted(_article_hits(server)) == sorted(site.yonhap)

    # a sitemap index: its child sitemaps (named on the real host) are read from the mirror
    server.hits.clear()
    publish(server, yonhap=3)
    server.add("/RSS/news.xml", rss([]))
    server.add(
        "/news-sitemap.xml",
        b'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<sitemap><loc>https://en.yna.co.kr/sitemap-1.xml</loc></sitemap></sitemapindex>",
    )
    server.add("/sitemap-1.xml", rss([YNA + "/view/AEN20230419900000003"]))
    summary = _crawl(_config(tmp_path, server))
    assert (summary.method, summary.new, summary.known) == ("sitemap", 1, 0)
    assert server.requests_for("/sitemap-1.xml")


def test_conditional_get_with_last_modified(server: FixtureServer, tmp_path: Path) -> None:
    site = publish(server, yonhap=1)
    stamp = "Wed, 19 Apr 2023 02:00:00 GMT"
    server.add("/RSS/news.xml", rss([YNA + site.yonhap[0]]), etag=False, last_modified=stamp)
    config = _config(tmp_path, server)
    assert _crawl(config).new == 1
    second = _crawl(config)
    (hit,) = server.requests_for("/RSS/news.xml")[1:]
    assert hit.headers["if-modified-since"] == stamp and hit.status == 304
    assert (second.not_modified, second.discovered, second.new) == (1, 0, 0)


def test_an_interrupted_run_resumes_without_refetching(
    server: FixtureServer, tmp_path: Path
) -> None:
    site = publish(server, yonhap=12)
    config = _config(tmp_path, server)
    stop = threading.Event()

    def progress(source: str, done: int, total: int) -> None:
        if done == 2:
            stop.set()  # as a service shutdown would, mid-run

    first = _crawl(config, progress=progress, stop=stop)
    # pages already fetched ahead are stored, nothing more is requested
    assert first.new >= 2 and first.deferred >= 12 - 2 - PREFETCH_DEPTH - 1
    assert first.new + first.deferred == 12 and not first.ok
    assert len(_article_hits(server)) == first.new
    # the feed is unchanged (304) now; the frontier still knows what is left
    second = _crawl(config)
    assert (second.new, second.resumed, second.not_modified) == (first.deferred,) * 2 + (1,)
    assert sorted(_article_hits(server)) == sorted(site.yonhap)  # each fetched exactly once
    assert set(_states(config).values()) == {"done"}


def test_permanent_failures_are_settled_and_transient_ones_retried(
    server: FixtureServer, tmp_path: Path
) -> None:
    site = publish(server, yonhap=3)
    missing = "/view/AEN20230419900000077"
    server.add("/RSS/news.xml", rss([YNA + p for p in [*site.yonhap, missing]]))
    # an article page that came back broken: may be fine next time, so it is retried
    server.add(site.yonhap[1], b"<html><body><p>tiny</p></body></html>")
    server.fault(site.yonhap[2], Fault(status=502, times=3))  # fails this run (3 tries)
    config = _config(tmp_path, server)
    first = _crawl(config)
    assert (first.new, first.failed) == (1, 3)
    states = _states(config)
    assert states[YNA + missing] == "gone"
    assert states[YNA + site.yonhap[1]] == "failed"
    assert states[YNA + site.yonhap[2]] == "failed"
    server.hits.clear()
    server.add("/RSS/news.xml", rss([YNA + p for p in [*site.yonhap, missing]]) + b" ")
    second = _crawl(config)
    # both failures are tried again, the 404 is not
    assert sorted(_article_hits(server)) == sorted([site.yonhap[1], site.yonhap[2]])
    assert (second.new, second.failed, second.known, second.given_up) == (1, 1, 1, 1)


def test_robots_outcomes(server: FixtureServer, tmp_path: Path) -> None:
    publish(server, yonhap=2, robots="")  # no robots.txt at all (404): allow everything
    assert _crawl(_config(tmp_path / "a", server)).new == 2

    server.hits.clear()
    server.fault("/robots.txt", Fault(status=503, times=10))  # unreachable: disallow all
    summary = _crawl(_config(tmp_path / "b", server))
    assert (summary.new, summary.discovered, summary.method) == (0, 0, None)
    # an outage, reported as one: once, with the reason, never as a robots rule
    assert summary.errors == ["host unreachable: robots.txt answered HTTP 503"]
    assert summary.skipped_robots == 0 and not summary.ok
    assert set(server.paths()) == {"/robots.txt"}  # not even the feed was requested


def test_crawl_delay_paces_requests_to_the_host(server: FixtureServer, tmp_path: Path) -> None:
    publish(server, yonhap=3, robots="User-agent: *\nCrawl-delay: 0.1\n")
    summary = _crawl(_config(tmp_path, server, min_delay=0.05))
    assert summary.new == 3
    hits = [h for h in server.hits if h.path != "/robots.txt"]
    gaps = [b.at - a.at for a, b in pairwise(hits)]
    assert len(gaps) >= 5 and min(gaps) >= 0.095


def test_a_failing_host_is_backed_off_for_the_rest_of_the_run(
    server: FixtureServer, tmp_path: Path
) -> None:
    site = publish(server, yonhap=6)
    for path in site.yonhap:
        server.fault(path, Fault(status=503, times=100))
    summary = _crawl(_config(tmp_path, server))
    failures = [h for h in server.hits if h.status == 503]
    assert len(failures) == HOST_FAILURE_LIMIT  # then no more requests to that host
    assert summary.failed + summary.deferred == 6 and summary.deferred >= 3
    assert set(_states(_config(tmp_path, server)).values()) <= {"new", "failed"}


def test_one_request_in_flight_per_host_across_threads(
    server: FixtureServer, tmp_path: Path
) -> None:
    site = publish(server, yonhap=3, koreaherald=3)
    for path in site.articles:
        server.fault(path, Fault(status=200, stall=0.05, body=b""))
    config = _config(tmp_path, server)
    summaries: list[SourceSummary] = []
    threads = [
        threading.Thread(target=lambda n=name: summaries.append(_crawl(config, n)))
        for name in ("yonhap", "koreaherald")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(summaries) == 2  # both crawls ran to the end
    # the stalled answers never overlapped: each request arrived after the previous stall
    hits = [h for h in server.hits if h.path in site.articles]
    assert len(hits) >= 6
    starts = sorted(h.at for h in hits)
    assert all(b - a >= 0.045 for a, b in pairwise(starts))
