"""Yonhap News Agency, English service (en.yna.co.kr).

Layout Y-1 (2019 through at least Dec 2023; fixtures tests/fixtures/yonhap/yna_article_*.html):
``header.title-article01 > h1.tit``, ``article:*`` meta with full timestamps, body in
``article.story-news > p`` whose first paragraph may be "(ATTN: …)" or "By …" and whose last ends
"e-mail<br>(END)". See evidence/SELECTORS.md §2.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser, LexborNode

from scraper import clean, dates
from scraper.dom import first_text, link_href, meta, node_text, normalize_line, remove
from scraper.models import Image
from scraper.sources.base import Extracted, Source, UrlForm

HOME = "https://en.yna.co.kr"


class Y1:
    """Yonhap English article page, layout Y-1."""

    name = "yonhap/y1"

    TITLE = "header.title-article01 h1.tit"
    BODY = "article.story-news"
    # inside the body container: related links, ads, share widgets, photos (taken separately)
    BODY_CHROME = (
        "div.related-group",
        "aside",
        "script",
        "style",
        "div.comp-box",
        "figure",
        "div.writer-zone01",
        "div.social-btns",
        "p.txt-copyright",
    )
    DISPLAY_DATE = "header.title-article01 div.info-con span.txt"
    TAGS = "div.keyword-zone01 div.list a"
    FIGURES = "article.story-news figure.image-zone"

    def recognises(self, tree: LexborHTMLParser) -> bool:
        return tree.css_first(self.BODY) is not None and tree.css_first(self.TITLE) is not None

    def parse(self, tree: LexborHTMLParser, url: str | None) -> Extracted:
        title = self.title(tree)
        images = self.images(tree)
        paragraphs = self.paragraphs(tree)
        lead = clean.take_lead(paragraphs)
        paragraphs = list(lead.paragraphs)
        if paragraphs:
            paragraphs[-1] = clean.strip_trailer(paragraphs[-1])
        published = dates.parse_iso(meta(tree, "article:published_time"))
        if published is None:
            published = dates.parse_human(first_text(tree, self.DISPLAY_DATE))
        return Extracted(
            title=title,
            body=clean.join_paragraphs(paragraphs),
            authors=lead.authors,
            published_at=published,
            updated_at=dates.parse_iso(meta(tree, "article:modified_time")),
            section=meta(tree, "article:section"),
            tags=self.tags(tree),
            editor_note=lead.editor_note,
            images=images,
            canonical_url=link_href(tree, "canonical") or meta(tree, "og:url"),
            update_tag=clean.update_tag(title),
        )

    def title(self, tree: LexborHTMLParser) -> str:
        title = first_text(tree, self.TITLE)
        if title:
            return title
        og = meta(tree, "og:title") or ""
        return re.sub(r"\s*\|\s*Yonhap News Agency$", "", og)

    def paragraphs(self, tree: LexborHTMLParser) -> list[str]:
        body = tree.css_first(self.BODY)
        if body is None:
            return []
        remove(body, self.BODY_CHROME)
        return [t for p in body.css("p") if (t := node_text(p))]

    def images(self, tree: LexborHTMLParser) -> tuple[Image, ...]:
        found: list[Image] = []
        for fig in tree.css(self.FIGURES):
            img = fig.css_first("img")
            src = img.attributes.get("src") if img is not None else None
            if not src:
                continue
            caption = _caption(fig) or (img.attributes.get("alt") if img is not None else None)
            found.append(
                Image(url=urljoin(HOME, src), caption=normalize_line(caption or "") or None)
            )
        return tuple(found)

    def tags(self, tree: LexborHTMLParser) -> tuple[str, ...]:
        out = []
        for a in tree.css(self.TAGS):
            tag = normalize_line(a.text()).lstrip("#").strip()
            if tag and tag not in out:
                out.append(tag)
        return tuple(out)


def _caption(fig: LexborNode) -> str | None:
    parts = [first_text(fig, "figcaption strong.tit-cap"), first_text(fig, "figcaption p.txt-desc")]
    text = " ".join(p for p in parts if p)
    return text or None


SOURCE = Source(
    name="yonhap",
    hosts=("en.yna.co.kr", "m-en.yna.co.kr"),
    default_base_url=HOME,
    url_forms=(
        UrlForm(
            re.compile(r"^/(?:mobile/)?view/(?P<id>AEN\d{8}\d{6,9})(?:[/?#]|$)"),
            HOME + "/view/{id}",
        ),
    ),
    parsers=(Y1(),),
    # all news, then the section feeds named in the evidence (RSSHub /yna/en/national; feed list
    # at /channel/index). Not /RSS/industry.xml: reported in 2026 to answer HTML, not XML.
    feeds=("/RSS/news.xml", "/RSS/nk.xml", "/RSS/national.xml"),
    sitemaps=("/news-sitemap.xml",),
    section_pages=("/news",),
    list_link_selectors=("div.smain-list-type01 li .tit a", "a[href*='/view/AEN']"),
    prune=(
        "header",
        "footer",
        "nav",
        "aside",
        "script",
        "style",
        "div.related-group",
        "div.keyword-zone01",
        "div.aside-box01",
        "div.right-area",
        "div.social-btns",
        "div.sns-share",
        "[id^=taboola]",
        "figure",
    ),
)
