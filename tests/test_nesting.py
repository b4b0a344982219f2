"""Pathological nesting: lexbor's tree building is O(tags x depth) (200,000 nested ``<div>``
took minutes), so such a page must give a clear one-line error quickly, through the real CLI
too; ordinary pages are unaffected (bench/extract.py measures their speed)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from scraper.discover import parse_list_page
from scraper.dom import MAX_DEPTH, too_deep
from scraper.errors import ParseError
from scraper.extract import extract
from tests.conftest import FIXTURES, run_cli

URL = "https://en.yna.co.kr/view/AEN20230419000952325"


def nested(n: int, *, tail: str = "") -> str:
    head = "<html><head><title>Deep</title></head><body>"
    return (
        head + "<div>" * n + "<p>" + "word " * 50 + "</p>" + "</div>" * n + tail + "</body></html>"
    )


@pytest.mark.parametrize("n", [20_000, 200_000])
def test_deeply_nested_page_gives_a_clear_error_in_under_two_seconds(n: int) -> None:
    started = time.monotonic()
    with pytest.raises(ParseError, match=f"nested over {MAX_DEPTH} deep"):
        extract(nested(n).encode(), URL)
    assert time.monotonic() - started < 2.0


def test_depth_hidden_after_many_flat_tags_is_still_found() -> None:
    flat = "<span>x</span>" * 100_000
    html = "<html><body>" + flat + "<div>" * 5_000 + "</div>" * 5_000 + "</body></html>"
    started = time.monotonic()
    assert too_deep(html) == MAX_DEPTH + 1
    assert time.monotonic() - started < 2.0


def test_stray_closing_tags_cannot_hide_depth() -> None:
    html = "</div>" * 10_000 + "<div>" * 3_000 + "</div>" * 3_000
    assert too_deep(html) is not None


def test_ordinary_pages_are_not_refused() -> None:
    for page in sorted(FIXTURES.glob("*/*.html")):
        assert too_deep(page.read_text("utf-8", "replace")) is None, page.name
    many_paragraphs = "<html><body>" + "<p>para" * 20_000 + "<br>" * 5_000 + "</body></html>"
    assert too_deep(many_paragraphs) is None


def test_deep_list_page_yields_no_links_quickly() -> None:
    started = time.monotonic()
    assert parse_list_page(nested(200_000), "https://en.yna.co.kr/news", ("a",)) == []
    assert time.monotonic() - started < 2.0


def test_cli_parse_refuses_a_deep_page_in_one_line(tmp_path: Path) -> None:
    page = tmp_path / "deep.html"
    page.write_text(nested(200_000))
    started = time.monotonic()
    proc = run_cli("parse", str(page), "--url", URL, timeout=300)
    elapsed = time.monotonic() - started
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"nested over {MAX_DEPTH} deep" in lines[0], proc.stderr
    assert elapsed < 5.0, elapsed  # under 2 s of work plus the interpreter's start-up
