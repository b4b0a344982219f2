"""Every fixture page after simulated redesigns (``tests/redesign.py``) against its golden record.

Targets (issue 11, docs/extraction.md): a record always; flagged ``fallback/<source>`` when no
layout parser recognised the page; no junk line; the title; body F1 ≥ 0.97 on every page and
≥ 0.99 on average per kind; the published time right (to the minute) on ≥ 95 % of pages.
"""

from __future__ import annotations

from functools import cache

import pytest

from scraper import clean, sitetext
from scraper.errors import ParseError
from scraper.extract import extract
from tests.golden import fixture_pages
from tests.redesign import EXTRA_KINDS, KINDS, Outcome, run_one

PAGES = fixture_pages()
CASES = [
    (kind, keep)
    for kind in (*KINDS, *EXTRA_KINDS)
    for keep in ((False, True) if kind != "rename" else (False,))
]


@cache
def outcome(page_name: str, kind: str, keep: bool) -> Outcome:
    page = next(p for p in PAGES if p.stem == page_name)
    return run_one(page, kind, keep)


def test_every_fixture_page_is_covered() -> None:
    assert len(PAGES) == 19  # 16 Yonhap + 3 Korea Herald; a new fixture joins automatically


@pytest.mark.parametrize(
    ("kind", "keep"), CASES, ids=[k + ("+keep" if p else "") for k, p in CASES]
)
@pytest.mark.parametrize("page", [p.stem for p in PAGES])
def test_redesigned_page_gives_a_clean_record(page: str, kind: str, keep: bool) -> None:
    o = outcome(page, kind, keep)
    assert o.record, o.error
    if not keep:
        # every class and id renamed: no layout parser may claim the page
        assert o.fallback
    assert o.junk == ()
    assert o.title_ok
    assert o.f1 >= 0.97


@pytest.mark.parametrize(
    ("kind", "keep"), CASES, ids=[k + ("+keep" if p else "") for k, p in CASES]
)
def test_per_kind_targets(kind: str, keep: bool) -> None:
    group = [outcome(p.stem, kind, keep) for p in PAGES]
    assert sum(o.f1 for o in group) / len(group) >= 0.99
    assert sum(o.date_ok for o in group) >= 0.95 * len(group)


YNA_URL = "https://en.yna.co.kr/view/AEN20230419005500325"
PROSE = (
    "SEOUL, April 19 (Yonhap) -- South Korea's top general and a visiting U.S. admiral agreed "
    "Wednesday to strengthen deterrence, the former's office said."
)


def bare_page(extra_head: str = "", date_line: str = "15:29 April 19, 2023") -> str:
    """A page with a headline and paragraphs and nothing else: no meta, no ld+json, no classes."""
    paragraphs = "".join(f"<p>{PROSE} Paragraph {i}.</p>" for i in range(4))
    return (
        f"<html><head><title>Top officers meet | Yonhap News Agency</title>{extra_head}</head>"
        "<body><div><ul><li><a href='/news'>All News</a></li><li><a href='/nk'>N. Korea</a></li>"
        f"</ul></div><div><h1>Top officers meet</h1><div><span>{date_line}</span></div>"
        f"<div><p>By Kim Eun-jung</p>{paragraphs}<p>kej@yna.co.kr<br>(END)</p></div></div>"
        "<div><p>Back To Top</p></div></body></html>"
    )


def test_a_bare_article_page_gives_a_fallback_record() -> None:
    article = extract(bare_page(), YNA_URL)
    assert article.parser == "fallback/yonhap"
    assert article.title == "Top officers meet"
    assert article.published_at == "2023-04-19T15:29:00+09:00"
    assert article.authors == ("Kim Eun-jung",)
    assert article.body.startswith("SEOUL, April 19") and article.body.endswith("Paragraph 3.")
    assert "(END)" not in article.body and "Back To Top" not in article.body


def test_a_printed_date_on_another_day_than_the_id_is_not_believed() -> None:
    # a "latest news" time of another day must not become the article's date: the id's day wins
    article = extract(bare_page(date_line="09:00 May 30, 2022"), YNA_URL)
    assert article.published_at == "2023-04-19T00:00:00+09:00"


def test_a_list_page_at_an_article_url_is_refused() -> None:
    links = "".join(f"<li><a href='/view/AEN2023041900{i}'>Story {i}</a></li>" for i in range(30))
    html = f"<html><head><title>News</title></head><body><ul>{links}</ul></body></html>"
    with pytest.raises(ParseError, match="not an article page"):
        extract(html, YNA_URL)


def test_site_text_rules() -> None:
    assert sitetext.strip_site_name("Top officers meet | Yonhap News Agency") == "Top officers meet"
    assert sitetext.strip_site_name("Yoon vows - The Korea Herald") == "Yoon vows"
    assert str(sitetext.id_date("AEN20230419005500325")) == "2023-04-19"
    assert str(sitetext.id_date("20241106050843")) == "2024-11-06"
    assert sitetext.id_date("10604071") is None
    assert sitetext.dates_in_line(
        "Published : Apr 19, 2023 - 15:51 Updated : Apr 19, 2023 - 17:18"
    ) == (
        "2023-04-19T15:51:00+09:00",
        "2023-04-19T17:18:00+09:00",
    )
    assert sitetext.dates_in_line("Updated : 2023.04.19 16:07") == (
        None,
        "2023-04-19T16:07:00+09:00",
    )
    assert sitetext.byline_in_line("By Lee Haye-ah Published : 2023.04.19 14:02") == (
        "Lee Haye-ah",
    )
    assert sitetext.byline_in_line("By Yonhap") == ()


def test_printed_date_lines_and_loose_bylines_are_not_body_text() -> None:
    cleaned = clean.clean_paragraphs(
        [
            "Published : Apr 19, 2023 - 15:51 Updated : Apr 19, 2023 - 17:18",
            "All News 15:29 April 19, 2023",
            PROSE,
            "By Kang Yoon-seung",
            "(ATTN: ADDS comments in paras 3-4)",
            PROSE + " More.",
        ]
    )
    assert cleaned.body == PROSE + "\n\n" + PROSE + " More."
    assert cleaned.authors == ("Kang Yoon-seung",)
    assert cleaned.editor_note == "(ATTN: ADDS comments in paras 3-4)"
    # a sentence that mentions a date is text, not a date line
    assert not clean.is_date_line("The vote is at 15:00 April 19, 2023, officials said.")


def test_text_too_thin_to_score_goes_to_trafilatura() -> None:
    # twenty lines under 25 characters: no block scores, so no container is chosen and the
    # last resort (trafilatura minus the source's prune rules) reads the text
    lines = "".join(f"<p>Line {i} of a verse.</p>" for i in range(20))
    html = (
        "<html><head><title>Verse | Yonhap News Agency</title>"
        "<meta property='og:type' content='article'></head>"
        f"<body><h1>Verse</h1><div>{lines}</div><footer>Back To Top</footer></body></html>"
    )
    article = extract(html, YNA_URL)
    assert article.parser == "fallback/yonhap" and article.title == "Verse"
    assert article.body.split("\n\n") == [f"Line {i} of a verse." for i in range(20)]
