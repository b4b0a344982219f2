"""Unit tests for the pieces of extraction: body walking, cleaning rules, dates, decoding."""

from __future__ import annotations

import pytest

from scraper import clean, dates
from scraper.dom import Page, block_paragraphs, parse_html
from scraper.extract import decode_html


def paragraphs_of(html: str) -> list[str]:
    tree = parse_html(f"<html><body><div id='c'>{html}</div></body></html>")
    node = tree.css_first("#c")
    assert node is not None
    return block_paragraphs(node)


def test_block_paragraphs_keeps_order_links_and_shown_line_breaks() -> None:
    html = (
        "<p>First\n  sentence wrapped\nin the source.</p>"
        "Loose text with a <a href='/x'>link</a> inside.<br><br>Second loose paragraph."
        "<div><center><p>Nested <b>deep</b>.</p></center></div>"
        "<p>Line one<br>Line two</p><h2>A subhead</h2><!-- a comment --><script>var x;</script>"
    )
    assert paragraphs_of(html) == [
        "First sentence wrapped in the source.",
        "Loose text with a link inside.",
        "Second loose paragraph.",
        "Nested deep.",
        "Line one\nLine two",
        "A subhead",
    ]


def test_block_paragraphs_survives_deep_nesting() -> None:
    html = "<div>" * 2000 + "<p>deep text</p>" + "</div>" * 2000
    assert paragraphs_of(html) == ["deep text"]


def test_page_reads_meta_once_in_document_order() -> None:
    page = Page(
        parse_html(
            '<meta property="article:author" content="https://www.facebook.com/yonhapenglish">'
            '<meta property="article:author" content="이민지">'
            '<meta name="Description" content=" a ">'
            '<meta property="og:url" content="https://en.yna.co.kr/view/AEN20230419000952325">'
        )
    )
    assert page.meta.all("article:author") == ("https://www.facebook.com/yonhapenglish", "이민지")
    assert page.meta.get("missing", "description") == "a"
    assert page.canonical == "https://en.yna.co.kr/view/AEN20230419000952325"
    assert page.ld_article == {}


@pytest.mark.parametrize(
    ("line", "names"),
    [
        ("By Kang Yoon-seung", ["Kang Yoon-seung"]),
        ("By Kim Eun-jung and Lee Minji", ["Kim Eun-jung", "Lee Minji"]),
        ("By Park Han-na, Lee Jung-joo", ["Park Han-na", "Lee Jung-joo"]),
        ("By Ock Hyun-ju (laeticia.ock@heraldcorp.com)", ["Ock Hyun-ju"]),
        ("By Yonhap", None),
        ("By Korea Herald", None),
        ("By The Korea Herald", None),
        ("By News Desk", None),
        ("By the end of the year, exports rose.", None),
        ("By Monday", None),
    ],
)
def test_parse_byline(line: str, names: list[str] | None) -> None:
    assert clean.parse_byline(line) == names


def test_people_never_reports_korean_script_desks_or_publishers() -> None:
    texts = ["이민지", "영문경제", "Kim Boram", "kim@yna.co.kr", "Korea Herald", "Kim Boram"]
    assert clean.people(texts) == ("Kim Boram",)


def test_lead_and_tail_are_peeled() -> None:
    cleaned = clean.clean_paragraphs(
        [
            "(ATTN: UPDATES with quotes in last 2 paras)\nBy Kang Yoon-seung",
            "SEOUL, April 19 (Yonhap) -- The text.",
            "Back To Top",
            "The end, credited. (Yonhap)",
            "colin@yna.co.kr\n(END)",
        ]
    )
    assert cleaned.editor_note == "(ATTN: UPDATES with quotes in last 2 paras)"
    assert cleaned.authors == ("Kang Yoon-seung",)
    assert cleaned.body == "SEOUL, April 19 (Yonhap) -- The text.\n\nThe end, credited. (Yonhap)"


def test_closing_byline_and_trailers_on_the_same_line() -> None:
    cleaned = clean.clean_paragraphs(
        ["Body text here.", "The last paragraph. (END)", "By Ock Hyun-ju (laeticia@heraldcorp.com)"]
    )
    assert cleaned.body == "Body text here.\n\nThe last paragraph."
    assert cleaned.authors == ("Ock Hyun-ju",)


def test_soft_breaks_join_prose_but_not_lists() -> None:
    prose = "SEOUL, April 19 (Yonhap) -- Wednesday's closing prices (KRW) of\nKOSPI 200 stocks."
    assert clean.join_soft_breaks(prose) == prose.replace("\n", " ")
    prices = "NAVER 191,400 DN 1,400\nKakao 58,600 DN 400\nLOTTE 28,950 0"
    assert clean.join_soft_breaks(prices) == prices
    short = "Seoul,\nBusan"  # too short to be a wrapped sentence
    assert clean.join_soft_breaks(short) == short


@pytest.mark.parametrize(
    "text",
    [
        "Back To Top",
        "MOST POPULAR",
        "subscribe",
        "피터빈트",
        "Get The Korea Herald's newsletter in your inbox every morning.",
        "Copyright Herald Corporation. All Rights Reserved.",
        "(C) Yonhap News Agency. All Rights Reserved",
    ],
)
def test_chrome(text: str) -> None:
    assert clean.is_chrome(text)


def test_article_text_about_newsletters_is_not_chrome() -> None:
    long = "The ministry said it will " + "publish a weekly newsletter and ask citizens to " * 5
    assert not clean.is_chrome(long + "subscribe.")
    assert not clean.is_chrome("Subscribers rose 5 percent.")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Published : Apr 19, 2023 - 15:13", "2023-04-19T15:13:00+09:00"),
        ("Published : Nov. 6, 2024 - 15:03", "2024-11-06T15:03:00+09:00"),
        ("Published : 2023.04.19 14:02", "2023-04-19T14:02:00+09:00"),
        ("All News 11:12 April 19, 2023", "2023-04-19T11:12:00+09:00"),
        ("no date here", None),
    ],
)
def test_visible_dates_are_kst(text: str, expected: str | None) -> None:
    assert dates.parse_human(text) == expected


def test_published_and_updated_split() -> None:
    text = "Published : Aug 26, 2020 - 15:44\xa0\xa0 Updated : Aug 26, 2020 - 20:36"
    assert dates.published_updated(text) == (
        "2020-08-26T15:44:00+09:00",
        "2020-08-26T20:36:00+09:00",
    )


def test_iso_dates_keep_their_offset() -> None:
    assert dates.parse_iso("2023-04-19T02:12:32Z") == "2023-04-19T02:12:32+00:00"
    assert dates.parse_iso("2023-04-19T11:12:32") == "2023-04-19T11:12:32+09:00"


def test_decode_euc_kr_page() -> None:
    data = '<meta charset="euc-kr"><p>연합뉴스 기사</p>'.encode("cp949")
    text, encoding = decode_html(data)
    assert "연합뉴스 기사" in text and encoding == "cp949"
