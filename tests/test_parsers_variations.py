"""Korea Herald layouts under the variation real pages show, built from the fixtures: ``<br><br>``
instead of ``<p>``, ads inside the body, captions repeated, meta tags missing, extra chrome;
bylines and subtitles the reconstructions lack; an unknown layout (→ the fallback); and inputs that
are not articles at all (→ ``ParseError``)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from scraper.errors import ParseError
from scraper.extract import extract
from scraper.models import Article
from scraper.sources import by_name

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = Path(__file__).parent / "golden"
KH1 = "kh1_view_20230419000612"
KH2 = "kh2_view_20241106050843"
KH3 = "kh3_article_10604071"
URLS = {
    KH1: "https://www.koreaherald.com/view.php?ud=20230419000612",
    KH2: "https://www.koreaherald.com/view.php?ud=20241106050843",
    KH3: "https://www.koreaherald.com/article/10604071",
}
AD_BLOCKS = (
    '<div class="khadv_bg"><a href="https://ad.heraldcorp.com/c?1">피터빈트</a></div>',
    '<div class="article-ad"><div class="ad-label">ADVERTISEMENT</div>'
    '<ins class="adsbygoogle" data-ad-slot="1"></ins></div>',
    '<div class="banner_txt"><a href="https://ad.heraldcorp.com/c?2">피터빈트</a></div>',
    "<p>Advertisement</p>",
)
CHROME_BEFORE = (
    '<div class="btn_top"><a href="#header">Back To Top</a></div>'
    '<div class="breaking"><h3>LATEST NEWS</h3><ul><li><a href="/article/1">Other story</a></li>'
    "</ul></div>"
)
CHROME_AFTER = (
    '<div class="popular_news"><h3>MOST POPULAR</h3><ol><li><a href="/article/2">Other</a></li>'
    '</ol></div><div class="subscribe_area"><h3>subscribe</h3><p>Get The Korea Herald\'s '
    "newsletter in your inbox every morning.</p></div><p>피터빈트</p>"
    '<button class="btn-top">Back To Top</button>'
)


def page(name: str) -> str:
    return next(FIXTURES.glob(f"*/{name}.html")).read_text(encoding="utf-8")


def golden(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    return data


def parse(name: str, html: str) -> Article:
    return extract(html, URLS[name])


def without_meta(html: str) -> str:
    return re.sub(r"<meta\b[^>]*>", "", html)


def test_kh2_paragraphs_as_br_br_instead_of_p() -> None:
    html = page(KH2)
    text_box = re.search(r'<div class="text_box">(.*?)</div>', html, re.S)
    assert text_box is not None
    paragraphs = re.findall(r"<p>(.*?)</p>", text_box.group(1), re.S)
    flat = '<div class="text_box">\n' + "<br><br>\n".join(paragraphs) + "\n</div>"
    article = parse(KH2, html.replace(text_box.group(0), flat))
    assert article.parser == "koreaherald/kh2"
    assert article.body == golden(KH2)["body"]


def test_kh3_paragraphs_as_br_br_instead_of_p() -> None:
    html = page(KH3)
    html = re.sub(r"</p>\s*<p>", "<br><br>\n", html)
    article = parse(KH3, html)
    assert article.body == golden(KH3)["body"]


@pytest.mark.parametrize("name", [KH2, KH3])
def test_ads_inside_the_body_are_dropped(name: str) -> None:
    html = page(name)
    count = 0

    def inject(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return match.group(0) + AD_BLOCKS[count % len(AD_BLOCKS)]

    html = re.sub(r"</p>", inject, html)
    assert count > 5
    article = parse(name, html)
    assert article.body == golden(name)["body"]


def test_kh1_ads_inside_the_text_are_dropped() -> None:
    html = page(KH1).replace("<br><br>", "<br><br>" + AD_BLOCKS[0] + AD_BLOCKS[1], 2)
    assert parse(KH1, html).body == golden(KH1)["body"]


def test_repeated_captions_count_once() -> None:
    html = page(KH2)
    caption = "North Korean leader Kim Jong-un (Yonhap)"
    html = html.replace(
        '<div class="text_box">',
        f'<div class="text_box"><p>{caption}</p><p class="img_caption">{caption}</p>'
        f'<div class="img_box"><img src="/content/image/2024/11/06/20241106050843_0.jpg" '
        f'alt="{caption}"><p class="img_caption">{caption}</p></div>',
    )
    article = parse(KH2, html)
    assert article.body == golden(KH2)["body"]
    assert [(i.url, i.caption) for i in article.images] == [
        ("https://res.heraldm.com/content/image/2024/11/06/20241106050843_0.jpg", caption),
        ("https://www.koreaherald.com/content/image/2024/11/06/20241106050843_0.jpg", caption),
    ]


def test_kh1_caption_repeated_in_the_text() -> None:
    expected = golden(KH1)
    caption = expected["images"][0]["caption"]
    html = page(KH1).replace(
        '<div class="view_con_t">', f'<div class="view_con_t">{caption}<br><br>'
    )
    assert parse(KH1, html).body == expected["body"]


@pytest.mark.parametrize("name", [KH1, KH2, KH3])
def test_missing_meta_tags_fall_back_to_the_visible_page(name: str) -> None:
    html = without_meta(page(name))
    if name == KH3:
        html = re.sub(r'<script type="application/ld\+json">.*?</script>', "", html, flags=re.S)
    article = parse(name, html)
    expected = golden(name)
    assert article.body == expected["body"]
    assert article.title == expected["title"]
    # the visible "Published : …" text is to the minute, in KST
    assert article.published_at == expected["published_at"][:16] + ":00+09:00"
    assert article.updated_at == expected["updated_at"][:16] + ":00+09:00"
    assert article.authors == tuple(expected["authors"])
    assert article.section == expected["section"]
    assert article.tags == tuple(expected["tags"])


def test_yonhap_without_meta_tags_dates_from_the_header() -> None:
    html = without_meta((FIXTURES / "yonhap" / "yna_article_15.html").read_text(encoding="utf-8"))
    article = extract(html, "https://en.yna.co.kr/view/AEN20230419000952325?section=nk/nk")
    expected = golden("yna_article_15")
    assert article.parser == "yonhap/y1"
    assert article.url == expected["url"]
    assert article.published_at == "2023-04-19T11:12:00+09:00"  # "11:12 April 19, 2023", KST
    assert article.body == expected["body"]
    assert article.tags == tuple(expected["tags"])


@pytest.mark.parametrize("name", [KH1, KH2, KH3])
def test_chrome_before_and_after_the_article(name: str) -> None:
    html = page(name).replace("<body>", "<body>" + CHROME_BEFORE, 1)
    html = html.replace("</body>", CHROME_AFTER + "</body>", 1)
    article = parse(name, html)
    assert article.body == golden(name)["body"]
    assert article.parser == golden(name)["parser"]


def test_kh1_byline_subtitle_and_email_trailer() -> None:
    html = page(KH1).replace(
        '<div class="view_tit_byline_l"></div>',
        '<div class="view_tit_byline_l"><a href="/search/list_name.php?byline=Ock+Hyun-ju">'
        "By Ock Hyun-ju</a></div>",
    )
    html = html.replace(
        "</h1>", '</h1>\n <h2 class="view_tit_sub">Two new cases<br>bring total to 18</h2>', 1
    )
    html = html.replace("(Yonhap)\n </div>", "(Yonhap)<br><br>laeticia.ock@heraldcorp.com</div>")
    article = parse(KH1, html)
    assert article.authors == ("Ock Hyun-ju",)
    assert article.subtitle == "Two new cases bring total to 18"
    assert article.body == golden(KH1)["body"]


def test_kh2_journalist_box_and_subtitle() -> None:
    html = page(KH2).replace(
        "</h1>", '</h1><h2 class="news_title">Analysts see slimmer chances for a deal</h2>', 1
    )
    html = html.replace(
        "\n </div>\n \n</div>",
        '\n </div>\n <div class="news_journalist_area"><p class="name">Kim Arin</p>'
        '<p class="email">arin@heraldcorp.com</p><a href="/list">More articles</a></div>\n</div>',
    )
    assert 'class="news_journalist_area"' in html
    article = parse(KH2, html)
    assert article.authors == ("Kim Arin",)
    assert article.subtitle == "Analysts see slimmer chances for a deal"
    assert article.body == golden(KH2)["body"]


def test_publisher_and_desk_bylines_are_not_authors() -> None:
    for byline in ("By Korea Herald", "By The Korea Herald", "By Yonhap", "By News Desk"):
        html = page(KH1).replace(
            '<div class="view_tit_byline_l"></div>',
            f'<div class="view_tit_byline_l"><a href="/x">{byline}</a></div>',
        )
        assert parse(KH1, html).authors == (), byline


def test_yonhap_writer_box_gives_romanized_names_only() -> None:
    html = (FIXTURES / "yonhap" / "yna_article_8.html").read_text(encoding="utf-8")
    box = (
        '<div class="writer-zone01"><strong class="tit-name"><a href="#">Kim Boram</a></strong>'
        '<strong class="tit-name">김보람</strong></div>'
    )
    article = extract(
        html.replace('<article class="story-news">', box + '<article class="story-news">')
    )
    assert article.authors == ("Kim Boram",)
    plain = extract(html)
    assert plain.authors == ()  # the Korean ``author`` meta (김보람) is not reported
    assert article.body == plain.body


def test_unknown_layout_goes_to_the_fallback() -> None:
    html = page(KH2)
    for old, new in (
        ("news_title_area", "headline-box"),
        ("text_box", "story-copy"),
        ("news_text_area", "story-area"),
        ("news_content", "story"),
    ):
        html = html.replace(old, new)
    article = parse(KH2, html)
    assert article.parser == f"fallback/{article.source}"
    expected = golden(KH2)
    assert article.id == expected["id"]
    assert article.title == expected["title"]
    assert article.published_at == expected["published_at"]
    paragraphs = expected["body"].split("\n\n")
    assert paragraphs[0] in article.body and paragraphs[-1] in article.body
    for junk in ("Back To Top", "MOST POPULAR", "LATEST NEWS", "피터빈트", "newsletter"):
        assert junk not in article.body


def section_page() -> str:
    items = "".join(
        f'<li><a href="/article/1060{i:04d}"><h3 class="news_title">Headline number {i} about '
        f"the economy and politics of the day</h3><p>Teaser {i} with several words.</p></a></li>"
        for i in range(20)
    )
    return (
        "<!DOCTYPE html><html><head><title>National - The Korea Herald</title>"
        '<meta property="og:type" content="website"></head><body><header>Back To Top</header>'
        f'<article class="recent_news"><ul class="news_list">{items}</ul></article></body></html>'
    )


NOT_ARTICLES = {
    "empty": b"",
    "whitespace": b"  \n\t ",
    "random-bytes": bytes(range(256)) * 40,
    "invalid-utf8": b"<html><body><p>\xff\xfe\xfa caf\xe9 \xc3\x28</p></body></html>",
    "no-markup": b"just some text without any tags at all, long enough to be a body",
    "deeply-nested": b"<html><body>" + b"<div>" * 50_000 + b"text" + b"</body></html>",
    "section-page": section_page().encode(),
    "article-url-but-list-page": section_page().encode(),
}


@pytest.mark.parametrize("name", list(NOT_ARTICLES))
def test_not_an_article_is_a_parse_error(name: str) -> None:
    # with an article URL, so that each input gets as far into the cascade as it can
    url = None if name == "section-page" else URLS[KH3]
    with pytest.raises(ParseError) as info:
        extract(NOT_ARTICLES[name], url)
    assert str(info.value)  # one clear line


def test_section_page_at_its_own_url_is_refused() -> None:
    with pytest.raises(ParseError, match="not a koreaherald article URL"):
        extract(
            section_page(), "https://www.koreaherald.com/National", source=by_name("koreaherald")
        )


def test_yonhap_layout_drift_still_gives_the_same_text_through_the_fallback() -> None:
    html = (FIXTURES / "yonhap" / "yna_article_15.html").read_text(encoding="utf-8")
    html = html.replace("story-news", "story-body").replace("title-article01", "title-box")
    article = extract(html)
    expected = golden("yna_article_15")
    assert article.parser == f"fallback/{article.source}"
    assert article.body == expected["body"]
    assert article.editor_note == expected["editor_note"]
    assert (article.title, article.published_at, article.updated_at, article.section) == (
        expected["title"],
        expected["published_at"],
        expected["updated_at"],
        expected["section"],
    )
    assert article.update_tag == "2nd LD"
