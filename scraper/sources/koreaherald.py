"""The Korea Herald (www.koreaherald.com): three layouts, one parser each.

- KH-1 (~2015 to mid-2023, ``view.php?ud=``): ``h1.view_tit``, ``div.view_tit_byline_r`` dates,
  text in ``div.view_con_t`` separated by ``<br><br>``, captions ``div.view_con_caption``.
- KH-2 (mid-2023 to ~Dec 2024, ``view.php?ud=``): ``div.news_title_area h1.news_title``,
  ``p.news_date``, ``div.news_text_area`` with ``div.text_box > p`` and ``div.img_box``.
- KH-3 (since ~Dec 2024, ``/article/N``): NewsArticle ld+json, ``article.article-body``.

The fixture pages are reconstructions (tests/fixtures/koreaherald/PROVENANCE.md): each parser
anchors on the evidenced markers and reads metadata from ld+json / ``article:`` / OpenGraph meta
first, so a missing class name degrades a field, not the record. See docs/sources-evidence.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urljoin

from selectolax.lexbor import LexborNode

from scraper import clean, dates, sitetext
from scraper.dom import (
    Page,
    block_paragraphs,
    first_text,
    hashtags,
    ld_names,
    ld_text,
    normalize_line,
    remove,
)
from scraper.models import Image
from scraper.sources.base import Extracted, HistoryListing, Source, UrlForm

HOME = "https://www.koreaherald.com"
# ads and widgets that appear inside article bodies on every layout (docs/sources-evidence.md:
# the seed document's stray "피터빈트" ad link, AdSense slots)
_BODY_CHROME = (
    "script",
    "style",
    "iframe",
    "ins",
    "noscript",
    ".khadv_bg",
    ".article-ad",
    ".ad-label",
    ".banner_txt",
    "[class*=adsbygoogle]",
    "[class*=banner]",
    ".news_btn_wrap",
    ".news_journalist_area",
    ".article-util",
    ".article-tag",
    ".related-news",
    ".btn_top",
    ".btn-top",
    ".subscribe_area",
)
# elements that hold one photo and its caption, on any layout
_IMAGE_BOX_TAGS = frozenset({"table", "figure"})
_IMAGE_BOX_CLASSES = ("img_box", "article-photo-wrap", "view_img")


def _meta_dates(page: Page) -> tuple[str | None, str | None]:
    return (
        dates.parse_iso(page.meta.get("article:published_time")),
        dates.parse_iso(page.meta.get("article:modified_time")),
    )


def _title_from_meta(page: Page) -> str:
    title = page.meta.get("og:title") or first_text(page.tree, "title") or ""
    return sitetext.strip_site_name(title)


def _image_box(img: LexborNode, stop: LexborNode) -> LexborNode | None:
    """The nearest element around ``img`` (inside ``stop``) that holds one photo and caption."""
    node = img.parent
    while node is not None and node.mem_id != stop.mem_id:
        classes = node.attributes.get("class") or ""
        if node.tag in _IMAGE_BOX_TAGS or any(c in classes for c in _IMAGE_BOX_CLASSES):
            return node
        node = node.parent
    return None


def _images(container: LexborNode, caption_selector: str) -> tuple[Image, ...]:
    """Photos under ``container``: absolute URL, the caption printed next to it (else the alt
    text). A photo shown twice, or a caption printed twice (``.img_caption_m``), counts once."""
    found: list[Image] = []
    seen: set[str] = set()
    for img in container.css("img"):
        src = (img.attributes.get("src") or img.attributes.get("data-src") or "").strip()
        if not src or src.startswith("data:"):
            continue
        url = urljoin(HOME, src)
        if url in seen:
            continue
        seen.add(url)
        box = _image_box(img, container)
        caption = first_text(box, caption_selector) if box is not None else None
        caption = caption or normalize_line(img.attributes.get("alt") or "") or None
        found.append(Image(url=url, caption=caption))
    return tuple(found)


def _captions(images: Iterable[Image]) -> list[str]:
    return [img.caption for img in images if img.caption]


def _byline_people(page: Page, selector: str) -> tuple[str, ...]:
    """Names in a byline element: each line of its text ("By Ock Hyun-ju", a name, an e-mail)."""
    lines: list[str] = []
    for node in page.tree.css(selector):
        lines.extend(line for block in block_paragraphs(node) for line in block.split("\n"))
    return clean.people(lines)


def _section(page: Page, *selectors: str) -> str | None:
    for selector in selectors:
        if text := first_text(page.tree, selector):
            return text
    return page.meta.get("article:section")


def _visible_dates(page: Page, selector: str) -> tuple[str | None, str | None]:
    """Dates from the printed "Published : Apr 19, 2023 - 15:13 Updated : …" line (KST)."""
    texts = [normalize_line(n.text(deep=True, separator=" ")) for n in page.tree.css(selector)]
    return dates.published_updated(" ".join(texts))


class KH1:
    """Layout KH-1 ("view_*", ~2015 to mid-2023)."""

    name = "koreaherald/kh1"

    TITLE = "h1.view_tit"
    SUBTITLE = "h2.view_tit_sub"
    # ``<a href="/search/list_name.php?byline=Ock+Hyun-ju">By Ock Hyun-ju</a>``
    BYLINE = "div.view_tit_byline_l"
    DATES = "div.view_tit_byline_r"
    SECTION = "div.view_tit_icon a"
    BODY = "#articleText"
    TEXT = "div.view_con_t"
    CAPTION = "div.view_con_caption"

    def recognises(self, page: Page) -> bool:
        tree = page.tree
        return tree.css_first(self.TITLE) is not None and tree.css_first(self.TEXT) is not None

    def parse(self, page: Page) -> Extracted:
        tree = page.tree
        published, updated = _visible_dates(page, self.DATES)
        meta_pub, meta_upd = _meta_dates(page)
        body = tree.css_first(self.BODY)
        images: tuple[Image, ...] = ()
        if body is not None:
            remove(body, _BODY_CHROME)
            images = _images(body, self.CAPTION)
        paragraphs: list[str] = []
        for node in tree.css(self.TEXT):
            remove(node, (*_BODY_CHROME, self.CAPTION, "table.view_img"))
            paragraphs.extend(block_paragraphs(node))
        cleaned = clean.clean_paragraphs(paragraphs, _captions(images))
        return Extracted(
            title=first_text(tree, self.TITLE) or _title_from_meta(page),
            subtitle=first_text(tree, self.SUBTITLE),
            body=cleaned.body,
            authors=_byline_people(page, self.BYLINE) or cleaned.authors,
            published_at=meta_pub or published,
            updated_at=meta_upd or updated,
            section=_section(page, self.SECTION),
            images=images,
            canonical_url=page.canonical,
        )


class KH2:
    """Layout KH-2 ("news_content", mid-2023 to ~Dec 2024)."""

    name = "koreaherald/kh2"

    TITLE = "div.news_title_area h1.news_title"
    SUBTITLE = "div.news_title_area h2.news_title"
    DATES = "p.news_date"
    SECTION = "div.news_category a"
    TEXT_AREA = "div.news_text_area"
    TEXT = "div.text_box"
    IMAGE_BOX = "div.img_box"
    CAPTION = ".img_caption"
    BYLINE = "div.news_journalist_area"

    def recognises(self, page: Page) -> bool:
        tree = page.tree
        return tree.css_first("div.news_title_area") is not None and (
            tree.css_first(self.TEXT) is not None or tree.css_first(self.TEXT_AREA) is not None
        )

    def parse(self, page: Page) -> Extracted:
        tree = page.tree
        published, updated = _visible_dates(page, self.DATES)
        meta_pub, meta_upd = _meta_dates(page)
        byline = _byline_people(page, self.BYLINE)
        area = tree.css_first(self.TEXT_AREA)
        images: tuple[Image, ...] = ()
        if area is not None:
            remove(area, _BODY_CHROME)
            images = _images(area, self.CAPTION)
        containers = tree.css(self.TEXT) or ([area] if area is not None else [])
        paragraphs: list[str] = []
        for container in containers:
            remove(container, (*_BODY_CHROME, self.IMAGE_BOX, ".img_caption", ".img_caption_m"))
            paragraphs.extend(block_paragraphs(container))
        cleaned = clean.clean_paragraphs(paragraphs, _captions(images))
        return Extracted(
            title=first_text(tree, self.TITLE) or _title_from_meta(page),
            subtitle=first_text(tree, self.SUBTITLE),
            body=cleaned.body,
            authors=byline or cleaned.authors,
            published_at=meta_pub or published,
            updated_at=meta_upd or updated,
            section=_section(page, self.SECTION),
            images=images,
            canonical_url=page.canonical,
        )


class KH3:
    """Layout KH-3 (``/article/N``, since ~Dec 2024): ld+json + ``article.article-body``.

    Only the ld+json and ``article.article-body`` are evidenced; the class names used for the
    fall-backs below (``article-title``, ``article-info``, ``article-tag``) are guesses."""

    name = "koreaherald/kh3"

    BODY = "article.article-body"
    TITLE = "h1.article-title"
    SUBTITLE = "h2.article-subtitle"
    INFO = "div.article-info"
    WRITER = "div.article-info .writer"
    DATES = "div.article-info .date"
    TAGS = "div.article-tag a"
    SECTION = "div.nav_area a:last-child"
    CAPTION = "figcaption"

    def recognises(self, page: Page) -> bool:
        return page.tree.css_first(self.BODY) is not None

    def parse(self, page: Page) -> Extracted:
        tree = page.tree
        ld = page.ld_article
        body = tree.css_first(self.BODY)
        images: tuple[Image, ...] = ()
        paragraphs: list[str] = []
        if body is not None:
            remove(body, _BODY_CHROME)
            images = _images(body, self.CAPTION)
            remove(body, ("figure", "div.article-photo-wrap", "figcaption"))
            paragraphs = block_paragraphs(body)
        cleaned = clean.clean_paragraphs(paragraphs, _captions(images))
        meta_pub, meta_upd = _meta_dates(page)
        shown_pub, shown_upd = _visible_dates(page, self.DATES)
        title = (
            ld_text(ld.get("headline")) or first_text(tree, self.TITLE) or _title_from_meta(page)
        )
        return Extracted(
            title=title,
            subtitle=first_text(tree, self.SUBTITLE) or ld_text(ld.get("alternativeHeadline")),
            body=cleaned.body,
            authors=clean.people(ld_names(ld.get("author")))
            or _byline_people(page, self.WRITER)
            or cleaned.authors,
            published_at=dates.parse_iso(ld_text(ld.get("datePublished"))) or meta_pub or shown_pub,
            updated_at=dates.parse_iso(ld_text(ld.get("dateModified"))) or meta_upd or shown_upd,
            section=ld_text(ld.get("articleSection")) or _section(page, self.SECTION),
            tags=_ld_keywords(ld.get("keywords")) or hashtags(page.tree, self.TAGS),
            images=images,
            canonical_url=page.canonical,
        )


def _ld_keywords(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        return ()
    out: list[str] = []
    for v in value:
        if isinstance(v, str) and (k := normalize_line(v)) and k not in out:
            out.append(k)
    return tuple(out)


SOURCE = Source(
    name="koreaherald",
    hosts=("www.koreaherald.com", "koreaherald.com", "m.koreaherald.com", "www01.koreaherald.com"),
    default_base_url=HOME,
    url_forms=(
        UrlForm(re.compile(r"^/article/(?P<id>\d{6,10})(?:[/?#]|$)"), HOME + "/article/{id}"),
        # old form; a 2023 RSS bug doubled it ("view.php?ud=/view.php?ud=2023…")
        UrlForm(
            re.compile(r"^/(?:amp/)?view\.php\?(?:.*&)?ud=(?:/view\.php\?ud=)?(?P<id>\d{14})"),
            HOME + "/view.php?ud={id}",
        ),
    ),
    parsers=(KH3(), KH2(), KH1()),
    # KH-3 feeds (2025/2026, docs/sources-evidence.md): all news (50 items), then per section.
    # No sitemap: the ones scrapers name are unverified.
    feeds=(
        "/rss/newsAll",
        "/rss/kh_National",
        "/rss/kh_Business",
        "/rss/kh_LifenCulture",
        "/rss/kh_Sports",
        "/rss/kh_World",
        "/rss/kh_Opinion",
        "/rss/kh_Kpop",
    ),
    section_pages=("/National", "/Business", "/LifenCulture", "/Sports", "/World", "/Opinion"),
    # both URL forms on the main host (a CDX prefix query is per host; m./www01. captures are
    # few and reachable through `scraper import` of a CDX-listed WARC)
    archive_prefixes=("www.koreaherald.com/article/", "www.koreaherald.com/view.php?ud="),
    list_link_selectors=(
        "article.recent_news ul.news_list li a",
        "a.news_link",
        "a[href*='/article/']",
        "a[href*='view.php?ud=']",
    ),
    prune=(
        "header",
        "footer",
        "nav",
        "aside",
        "script",
        "style",
        ".btn_top",
        ".btn-top",
        ".side_area",
        ".main_r",
        ".popular_news",
        ".latest_news",
        ".subscribe_area",
        ".news_btn_wrap",
        ".article-util",
        ".related-news",
        ".article-tag",
        ".khadv_bg",
        ".article-ad",
        ".banner_txt",
        "figcaption",
        ".img_caption",
        ".img_caption_m",
        ".view_con_caption",
    ),
    # "… - The Korea Herald", "… - Korea Herald" (og:title, <title>); reporters write from
    # …@heraldcorp.com or …@koreaherald.com; "Herald" in a byline is the paper, not a person
    site_names=("The Korea Herald", "Korea Herald"),
    email_domains=("heraldcorp.com", "koreaherald.com"),
    byline_words=("herald",),
    # KH-1 era list pages (docs/backfill.md, "Which listings are evidenced"): scrapers of about
    # 2018-2021 read `list.php?ct=020000000000&np=N` and took the `view.php?ud=` links under
    # `div.main_sec`; the section codes are the 2018 home page's menu. The `.paging` pager is
    # evidenced on the search page of that site, not on list.php: used only when present.
    history_listings=(
        HistoryListing(
            url="/list.php?ct={code}&np={page}",
            codes=(
                "020000000000",  # the code the scrapers walked (all news, it seems)
                "020100000000",  # National
                "020200000000",  # Business
                "020300000000",  # Life & Style
                "020400000000",  # Entertainment
                "020500000000",  # Sports
                "021200000000",  # World
                "020600000000",  # Opinion
                "021000000000",  # English Cafe
            ),
            link_selector="div.main_sec a",
            day=re.compile(r"ud=(?P<day>\d{8})"),
            seen="about 2018 to 2021 (KH-1 site)",
            pager=".paging li a",
        ),
    ),
)
