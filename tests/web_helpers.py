"""Shared by the reading-room tests: a small archive with a story, a revision, a hostile page
and a Korea Herald article, built the way the pipeline stores pages (WARC, extract, save)."""

from __future__ import annotations

from pathlib import Path

from scraper.store import Archive
from scraper.warc import WarcStore
from tests.archive_helpers import KH3, store, yonhap
from tests.conftest import ROOT

# outside tests/fixtures/: not a publisher page, so no golden record (tests/golden)
HOSTILE = ROOT / "tests" / "fixtures_web" / "hostile.html"
HOSTILE_ID = "yonhap:AEN20230420009900315"
HOSTILE_URL = "https://en.yna.co.kr/view/AEN20230420009900315"
STORY_ROOT = "yonhap:AEN20230419003800320"  # yna_article_11, the first version
STORY_LEAD = "yonhap:AEN20230419003851320"  # yna_article_9, its (LEAD)
REVISED_ID = "yonhap:AEN20230419004200315"  # yna_article_12, stored twice with a correction
REVISED_URL = "https://en.yna.co.kr/view/AEN20230419004200315"
KH3_ID = "koreaherald:10604071"
# the correction in revision 2 of yna_article_12 (a word replaced, a sentence added)
OLD_WORDS = b"President Yoon Suk Yeol vowed Wednesday"
NEW_WORDS = b"President Yoon Suk Yeol pledged Wednesday, in a corrected passage,"


def revised_page() -> bytes:
    raw = yonhap(12).read_bytes()
    # the body paragraph only (the meta description repeats the words, cut to 60 characters)
    marker = b"<p> SEOUL, April 19 (Yonhap) -- " + OLD_WORDS
    assert marker in raw
    return raw.replace(marker, b"<p> SEOUL, April 19 (Yonhap) -- " + NEW_WORDS)


def build_archive(root: Path) -> Path:
    """The archive every route test reads; returns ``root``."""
    warcs = WarcStore(root)
    try:
        with Archive(root) as archive:
            for n in (11, 9):
                raw = yonhap(n).read_bytes()
                store(archive, warcs, raw, _canonical(raw))
            store(archive, warcs, yonhap(12).read_bytes(), REVISED_URL)
            store(
                archive, warcs, revised_page(), REVISED_URL, fetched_at="2026-01-02T00:00:00+00:00"
            )
            store(archive, warcs, HOSTILE.read_bytes(), HOSTILE_URL)
            store(archive, warcs, KH3.read_bytes(), "https://www.koreaherald.com/article/10604071")
    finally:
        warcs.close()
    return root


def _canonical(raw: bytes) -> str:
    marker = b'og:url" content="'
    start = raw.index(marker) + len(marker)
    return raw[start : raw.index(b'"', start)].decode()
