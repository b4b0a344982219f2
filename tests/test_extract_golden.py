"""Every fixture page against its golden record, field by field; and no junk in any record.

The golden files are written by ``python -m tests.golden.regen`` (the code under test), so
tests/test_golden_independent.py checks them against texts the extractor did not write: the seed
document of the KH-2 page and the peer scrapers' expected texts of the Yonhap pages.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.golden import EXCLUDED_FIELDS, fixture_pages, golden_path, record_for

PAGES = fixture_pages()
# the list of what must never reach a body
JUNK = (
    "(END)",
    "(MORE)",
    "(ATTN:",
    "@yna.co.kr",
    "@heraldcorp.com",
    "Back To Top",
    "MOST POPULAR",
    "LATEST NEWS",
    "피터빈트",
    "Related Articles",
    "Keywords",
    "ADVERTISEMENT",
    "newsletter",
    "Font size",
    "Published :",
    "Updated :",
    "All News",
    "Copyright",
)


def _golden(page: Path) -> dict[str, Any]:
    path = golden_path(page)
    if not path.exists():
        pytest.fail(f"no golden file for {page.name}: run python -m tests.golden.regen and review")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_no_stale_golden_files() -> None:
    stems = {p.stem for p in PAGES}
    stale = [g.name for g in golden_path(PAGES[0]).parent.glob("*.json") if g.stem not in stems]
    assert not stale, f"golden files without a fixture page: {stale}"


def test_every_layout_has_golden_pages() -> None:
    parsers = {_golden(p)["parser"] for p in PAGES}
    assert parsers == {"yonhap/y1", "koreaherald/kh1", "koreaherald/kh2", "koreaherald/kh3"}
    assert sum(p.parent.name == "yonhap" for p in PAGES) == 16


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_golden(page: Path) -> None:
    expected = _golden(page)
    actual = record_for(page)
    assert set(actual) == set(expected), "record fields differ from the golden file"
    wrong = [
        f"{name}:\n  expected {expected[name]!r}\n  got      {actual[name]!r}"
        for name in expected
        if actual[name] != expected[name]
    ]
    assert not wrong, f"{page.name}: " + "\n".join(wrong)
    assert not set(EXCLUDED_FIELDS) & set(expected)


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_no_junk_in_record(page: Path) -> None:
    record = record_for(page)
    body: str = record["body"]
    for junk in JUNK:
        assert junk.casefold() not in body.casefold(), junk
    assert not re.search(r"^\s*subscribe\s*$", body, re.I | re.M)
    assert not body.startswith("By ")
    for image in record["images"]:
        assert image["url"].startswith("https://")
        if image["caption"]:
            assert image["caption"] not in body, "a caption leaked into the body"
    urls = [image["url"] for image in record["images"]]
    assert len(urls) == len(set(urls)), "an image is listed twice"
    for author in record["authors"]:
        assert re.fullmatch(r"[A-Z][A-Za-z' -]+", author), author
    # "(Yonhap)" printed as part of the last paragraph is the paper's credit: it stays
    if page.parent.name == "koreaherald" and "kh3" not in page.stem:
        assert body.endswith("(Yonhap)")


def test_price_lists_keep_one_line_per_stock() -> None:
    by_name = {p.stem: p for p in PAGES}
    body = record_for(by_name["yna_article_2"])["body"]
    intro, prices = body.split("\n\n")
    # the intro sentence was wrapped with <br> mid-sentence; it reads as one line
    assert intro == (
        "SEOUL, April 19 (Yonhap) -- Wednesday's closing prices (KRW) of KOSPI 200 stocks "
        "traded on the main Korea Stock Exchange."
    )
    lines = prices.split("\n")
    assert lines[:2] == ["NAVER 191,400 DN 1,400", "Kakao 58,600 DN 400"]
    assert lines[-1] == "Handsome 25,650 UP 500"
    assert len(lines) == 40
    first = record_for(by_name["yna_article_1"])["body"].split("\n")
    assert len(first) == 40 and first[-1] == "Fila Holdings 35,750 UP 300"
