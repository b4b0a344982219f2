"""Feed, sitemap and list-page parsing: safe against hostile XML, tolerant of broken items,
links resolved and canonicalized to one identity per article."""

from __future__ import annotations

import logging

import pytest

from scraper.config import SourceConfig
from scraper.crawl import _targets
from scraper.discover import parse_feed, parse_list_page
from scraper.sources import by_name
from tests.conftest import FIXTURES
from tests.server import list_page, rss, sitemap

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<rss><channel><item><title>&lol3;</title>
<link>https://en.yna.co.kr/view/AEN20230419000952325</link></item></channel></rss>"""

EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss><channel><item><title>&xxe;</title>
<link>https://en.yna.co.kr/view/AEN20230419000952325</link></item></channel></rss>"""


def test_entity_expansion_and_external_entities_are_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    for doc in (BOMB, EXTERNAL):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="scraper.discover"):
            items = parse_feed(doc, "https://en.yna.co.kr/RSS/news.xml")
        # refused as XML by the guard (its DTD is forbidden): nothing was expanded or read; the
        # links are still salvaged by pattern
        assert "not well-formed XML (DTDForbidden(" in caplog.text
        assert [i.url for i in items] == ["https://en.yna.co.kr/view/AEN20230419000952325"]


def test_malformed_feed_is_salvaged() -> None:
    broken = rss(["https://en.yna.co.kr/view/AEN20230419000952325", "/view/AEN20230419004400320"])
    broken = broken.replace(b"</item>", b"", 1)  # one unclosed item
    items = parse_feed(broken, "https://en.yna.co.kr/RSS/news.xml")
    assert [i.url for i in items] == [
        "https://en.yna.co.kr/view/AEN20230419000952325",
        "https://en.yna.co.kr/view/AEN20230419004400320",  # resolved against the feed URL
    ]


def test_rss_atom_and_sitemap_items() -> None:
    feed = parse_feed(rss(["https://x.test/a"]), "https://x.test/rss")
    assert [(i.url, i.sitemap) for i in feed] == [("https://x.test/a", False)]
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>T</title>
    <link href="/view/1"/><updated>2023-04-19T11:12:32+09:00</updated></entry></feed>"""
    (entry,) = parse_feed(atom, "https://x.test/atom")
    assert (entry.url, entry.sitemap) == ("https://x.test/view/1", False)
    index = parse_feed(sitemap(["https://x.test/s1.xml"], index=True), "https://x.test/")
    assert index[0].sitemap and not parse_feed(sitemap(["https://x.test/a"]), "")[0].sitemap


def test_atom_entry_link_is_the_alternate_one() -> None:
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom">
    <entry><title>A</title><link rel="self" href="/api/entry/1"/>
      <link rel="enclosure" href="/img/1.jpg"/><link rel="alternate" href="/view/1"/></entry>
    <entry><title>B</title><link rel="edit" href="/edit/2"/><link href="/view/2"/></entry>
    <entry><title>C</title><link rel="self" href="/api/entry/3"/></entry></feed>"""
    items = parse_feed(atom, "https://x.test/atom")
    # the page is the alternate link (a link without rel is one); an entry without one is
    # not an article page we can fetch
    assert [i.url for i in items] == ["https://x.test/view/1", "https://x.test/view/2"]


def test_korea_herald_feed_with_the_doubled_view_php_bug_canonicalizes() -> None:
    data = (FIXTURES / "koreaherald" / "rss_2021_fragment.xml").read_bytes()
    data += rss(["http://www.koreaherald.com/view.php?ud=/view.php?ud=20230419000612"])
    items = parse_feed(data.split(b"</rss>", 1)[0] + b"</rss>", "https://www.koreaherald.com/")
    items += parse_feed(
        rss(["http://www.koreaherald.com/view.php?ud=/view.php?ud=20230419000612&np=1"]), ""
    )
    source = by_name("koreaherald")
    settings = SourceConfig("koreaherald", base_url="http://127.0.0.1:9")
    targets = _targets(source, settings, items)
    assert [t.canonical_url for t in targets] == [
        "https://www.koreaherald.com/view.php?ud=20210209000915",
        "https://www.koreaherald.com/view.php?ud=20230419000612",
    ]
    assert targets[1].fetch_url == "http://127.0.0.1:9/view.php?ud=20230419000612"


def test_tracking_query_strings_collapse_to_one_identity() -> None:
    items = parse_feed(
        rss(
            [
                "https://en.yna.co.kr/view/AEN20230419000952325?section=news&input=rss",
                "https://en.yna.co.kr/view/AEN20230419000952325?section=nk/nk",
                "https://m-en.yna.co.kr/mobile/view/AEN20230419000952325",
                "https://en.yna.co.kr/news",  # not an article
            ]
        ),
        "https://en.yna.co.kr/RSS/news.xml",
    )
    targets = _targets(
        by_name("yonhap"), SourceConfig("yonhap", base_url="https://en.yna.co.kr"), items
    )
    assert [t.canonical_url for t in targets] == ["https://en.yna.co.kr/view/AEN20230419000952325"]


def test_list_pages_by_the_source_selectors() -> None:
    kh = by_name("koreaherald")
    html = list_page(
        ["/article/10604071", "javascript:void(0)", "/article/10604071"], korea_herald=True
    )
    items = parse_list_page(
        html.decode(), "https://www.koreaherald.com/National", kh.list_link_selectors
    )
    assert [i.url for i in items] == ["https://www.koreaherald.com/article/10604071"]
