"""The Korea Herald (www.koreaherald.com): three layouts, one parser each.

- KH-1 (~2015 to mid-2023, ``view.php?ud=``): ``h1.view_tit``, ``div.view_tit_byline_r`` dates,
  text in ``div.view_con_t`` separated by ``<br><br>``, captions ``div.view_con_caption``.
- KH-2 (mid-2023 to ~Dec 2024, ``view.php?ud=``): ``div.news_title_area h1.news_title``,
  ``p.news_date``, ``div.news_text_area`` with ``div.text_box > p`` and ``div.img_box``.
- KH-3 (since ~Dec 2024, ``/article/N``): NewsArticle ld+json, ``article.article-body``.

The fixture pages are reconstructions (tests/fixtures/koreaherald/PROVENANCE.md): each parser
anchors on the evidenced markers and reads metadata from ld+json / ``article:`` / OpenGraph meta
first, so a missing class name degrades a field, not the record. See evidence/SELECTORS.md §1.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser, LexborNode

from scraper import clean, dates
from scraper.dom import (
    first_text,
    jsonld_article,
    link_href,
    meta,
    node_text,
    normalize_line,
    remove,
    split_paragraphs,
)
from scraper.models import Image
from scraper.sources.base import Extracted, Source, UrlForm

HOME = "https://www.koreaherald.com"
_TITLE_SUFFIX = re.compile(r"\s*[-|]\s*(?:The )?Korea Herald\s*$", re.I)
# ads and widgets that appear inside article bodies on every layout
_BODY_CHROME = (
    "script",
    "style",
    "iframe",
    "ins",
    ".khadv_bg",
    ".article-ad",
    "[class*=adsbygoogle]",
    "[class*=banner]",
    ".news_btn_wrap",
    ".news_journalist_area",
    ".related-news",
)


def _meta_dates(tree: LexborHTMLParser) -> tuple[str | None, str | None]:
    return (
        dates.parse_iso(meta(tree, "article:published_time")),
        dates.parse_iso(meta(tree, "article:modified_time")),
    )


def _title_from_meta(tree: LexborHTMLParser) -> str:
    return _TITLE_SUFFIX.sub("", meta(tree, "og:title") or first_text(tree, "title") or "")


def _canonical(tree: LexborHTMLParser) -> str | None:
    return link_href(tree, "canonical") or meta(tree, "og:url")


def _image(node: LexborNode, base: str) -> str | None:
    src = node.attributes.get("src") or node.attributes.get("data-src")
    return urljoin(base, src.strip()) if src and src.strip() else None


def _authors_from_text(text: str | None) -> tuple[str, ...]:
    names = clean.parse_byline(text or "")
    return tuple(names or ())


def _section(tree: LexborHTMLParser, *selectors: str) -> str | None:
    for selector in selectors:
        if text := first_text(tree, selector):
            return text
    return meta(tree, "article:section")


class KH1:
    """Layout KH-1 ("view_*", ~2015 to mid-2023)."""

    name = "koreaherald/kh1"

    TITLE = "h1.view_tit"
    SUBTITLE = "h2.view_tit_sub"
    BYLINE = "div.view_tit_byline_l"
    DATES = "div.view_tit_byline_r"
    BODY = "#articleText"
    TEXT = "div.view_con_t"
    CAPTION = "div.view_con_caption"

    def recognises(self, tree: LexborHTMLParser) -> bool:
        return tree.css_first(self.TITLE) is not None and tree.css_first(self.TEXT) is not None

    def parse(self, tree: LexborHTMLParser, url: str | None) -> Extracted:
        published, updated = dates.published_updated(first_text(tree, self.DATES) or "")
        meta_pub, meta_upd = _meta_dates(tree)
        images = self.images(tree)
        paragraphs: list[str] = []
        for node in tree.css(self.TEXT):
            remove(node, _BODY_CHROME)
            paragraphs.extend(split_paragraphs(node))
        lead = clean.take_lead(paragraphs)
        captions = {img.caption for img in images if img.caption}
        body = [p for p in lead.paragraphs if p not in captions]
        return Extracted(
            title=first_text(tree, self.TITLE) or _title_from_meta(tree),
            subtitle=first_text(tree, self.SUBTITLE),
            body=clean.join_paragraphs(body),
            authors=_authors_from_text(first_text(tree, self.BYLINE)) or lead.authors,
            published_at=meta_pub or published,
            updated_at=meta_upd or updated,
            section=_section(tree, "div.view_tit_icon a"),
            images=images,
            canonical_url=_canonical(tree),
        )

    def images(self, tree: LexborHTMLParser) -> tuple[Image, ...]:
        body = tree.css_first(self.BODY)
        if body is None:
            return ()
        found = []
        captions = [node_text(c) for c in body.css(self.CAPTION)]
        for i, img in enumerate(body.css("img")):
            if src := _image(img, HOME):
                alt = normalize_line(img.attributes.get("alt") or "")
                caption = captions[i] if i < len(captions) else alt
                found.append(Image(url=src, caption=caption or None))
        return tuple(found)


class KH2:
    """Layout KH-2 ("news_content", mid-2023 to ~Dec 2024)."""

    name = "koreaherald/kh2"

    TITLE = "div.news_title_area h1.news_title"
    SUBTITLE = "div.news_title_area h2.news_title"
    DATES = "p.news_date"
    TEXT_AREA = "div.news_text_area"
    TEXT = "div.text_box"
    IMAGE_BOX = "div.img_box"
    CAPTION = ".img_caption"
    BYLINE = "div.news_journalist_area"

    def recognises(self, tree: LexborHTMLParser) -> bool:
        return tree.css_first("div.news_title_area") is not None and (
            tree.css_first(self.TEXT) is not None or tree.css_first(self.TEXT_AREA) is not None
        )

    def parse(self, tree: LexborHTMLParser, url: str | None) -> Extracted:
        published, updated = dates.published_updated(first_text(tree, self.DATES) or "")
        meta_pub, meta_upd = _meta_dates(tree)
        images = self.images(tree)
        byline = first_text(tree, self.BYLINE)
        container = tree.css_first(self.TEXT) or tree.css_first(self.TEXT_AREA)
        paragraphs: list[str] = []
        if container is not None:
            remove(container, (*_BODY_CHROME, self.IMAGE_BOX))
            blocks = container.css("p, h2, h3")
            if blocks:
                paragraphs = [t for b in blocks if (t := node_text(b))]
            else:
                paragraphs = split_paragraphs(container)
        lead = clean.take_lead(paragraphs)
        return Extracted(
            title=first_text(tree, self.TITLE) or _title_from_meta(tree),
            subtitle=first_text(tree, self.SUBTITLE),
            body=clean.join_paragraphs(list(lead.paragraphs)),
            authors=_authors_from_text(byline) or lead.authors,
            published_at=meta_pub or published,
            updated_at=meta_upd or updated,
            section=_section(tree, "div.news_category a"),
            images=images,
            canonical_url=_canonical(tree),
        )

    def images(self, tree: LexborHTMLParser) -> tuple[Image, ...]:
        found = []
        for box in tree.css(f"{self.TEXT_AREA} {self.IMAGE_BOX}"):
            img = box.css_first("img")
            src = _image(img, HOME) if img is not None else None
            if not src:
                continue
            caption = first_text(box, self.CAPTION) or normalize_line(
                img.attributes.get("alt") or "" if img is not None else ""
            )
            found.append(Image(url=src, caption=caption or None))
        return tuple(found)


class KH3:
    """Layout KH-3 (``/article/N``, since ~Dec 2024): ld+json + ``article.article-body``."""

    name = "koreaherald/kh3"

    BODY = "article.article-body"
    TITLE = "h1.article-title"
    FIGURE = "figure"
    CAPTION = "figcaption"

    def recognises(self, tree: LexborHTMLParser) -> bool:
        return tree.css_first(self.BODY) is not None

    def parse(self, tree: LexborHTMLParser, url: str | None) -> Extracted:
        ld = jsonld_article(tree) or {}
        body = tree.css_first(self.BODY)
        images = self.images(body) if body is not None else ()
        paragraphs: list[str] = []
        if body is not None:
            remove(body, (*_BODY_CHROME, self.FIGURE, "div.article-photo-wrap"))
            blocks = body.css("p, h2, h3")
            paragraphs = (
                [t for b in blocks if (t := node_text(b))] if blocks else split_paragraphs(body)
            )
        lead = clean.take_lead(paragraphs)
        meta_pub, meta_upd = _meta_dates(tree)
        title = (
            _ld_text(ld.get("headline")) or first_text(tree, self.TITLE) or _title_from_meta(tree)
        )
        return Extracted(
            title=title,
            subtitle=first_text(tree, "h2.article-subtitle"),
            body=clean.join_paragraphs(list(lead.paragraphs)),
            authors=_ld_authors(ld.get("author")) or lead.authors,
            published_at=dates.parse_iso(_ld_text(ld.get("datePublished"))) or meta_pub,
            updated_at=dates.parse_iso(_ld_text(ld.get("dateModified"))) or meta_upd,
            section=_ld_text(ld.get("articleSection")) or meta(tree, "article:section"),
            tags=_ld_keywords(ld.get("keywords")),
            images=images,
            canonical_url=_canonical(tree),
        )

    def images(self, body: LexborNode) -> tuple[Image, ...]:
        found = []
        for fig in body.css(self.FIGURE):
            img = fig.css_first("img")
            src = _image(img, HOME) if img is not None else None
            if src:
                caption = first_text(fig, self.CAPTION)
                found.append(Image(url=src, caption=caption))
        return tuple(found)


def _ld_text(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    return normalize_line(value) if isinstance(value, str) and value.strip() else None


def _ld_authors(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    names = []
    for item in items:
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, str):
            name = re.sub(r"^By\s+", "", normalize_line(name))
            if clean.is_person(name) and name not in names:
                names.append(name)
    return tuple(names)


def _ld_keywords(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        return ()
    return tuple(k for v in value if isinstance(v, str) and (k := normalize_line(v)))


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
    # KH-3 feeds (2025/2026, evidence/SELECTORS.md §1): all news (50 items), then per section.
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
)
