"""The README's offline tour: `scraper crawl` against the fixture mirror archives every page of
both sources once, and a second crawl downloads no article again."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli, write_config
from tests.mirror import build_mirror
from tests.server import FixtureServer


def test_crawl_of_the_mirror_archives_everything_once(
    server: FixtureServer, tmp_path: Path
) -> None:
    urls = build_mirror(server)
    cfg = write_config(tmp_path, server.url)
    first = run_cli("--config", str(cfg), "crawl")
    assert first.returncode == 0, first.stderr
    assert "yonhap: discovered 16, new 16" in first.stdout
    assert "koreaherald: discovered 3, new 3" in first.stdout

    exported = run_cli("--config", str(cfg), "export")
    records = [json.loads(line) for line in exported.stdout.splitlines()]
    assert sorted(r["url"] for r in records) == sorted(urls["yonhap"] + urls["koreaherald"])
    assert all(not r["parser"].startswith("fallback/") for r in records)

    article_paths = {p for p in server.paths() if "/view" in p or "/article/" in p}
    before = {p: len(server.requests_for(p)) for p in article_paths}
    seen = len(server.hits)
    second = run_cli("--config", str(cfg), "crawl")
    assert second.returncode == 0, second.stderr
    assert "new 0" in second.stdout
    assert {p: len(server.requests_for(p)) for p in article_paths} == before
    # the whole request log of the repeat crawl: each feed once, in its source's declared
    # order, asked "changed?" and answered 304; no robots.txt (kept from the first crawl), no
    # sitemap, section page or article
    yonhap_feeds = ["/RSS/news.xml", "/RSS/nk.xml", "/RSS/national.xml"]
    kh_feeds = ["/rss/newsAll"] + [
        f"/rss/kh_{s}"
        for s in ("National", "Business", "LifenCulture", "Sports", "World", "Opinion", "Kpop")
    ]
    repeat = server.hits[seen:]
    assert [h.path for h in repeat if h.path.startswith("/RSS/")] == yonhap_feeds
    assert [h.path for h in repeat if h.path.startswith("/rss/")] == kh_feeds
    assert len(repeat) == len(yonhap_feeds) + len(kh_feeds)
    assert all(h.status == 304 and "if-none-match" in h.headers for h in repeat)
