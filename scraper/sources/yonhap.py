"""Yonhap News Agency, English service (en.yna.co.kr).

Layout Y-1 (2019 through at least Dec 2023; fixtures tests/fixtures/yonhap/yna_article_*.html):
``header.title-article01 > h1.tit``, ``article:*`` meta with full timestamps, body in
``article.story-news > p`` whose first paragraph may be "(ATTN: …)" or "By …" and whose last ends
"e-mail<br>(END)". See docs/sources-evidence.md.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from selectolax.lexbor import LexborNode

from scraper import clean, dates, sitetext
from scraper.dom import Page, block_paragraphs, first_text, hashtags, normalize_line, remove
from scraper.models import Image
from scraper.sources.base import Extracted, Source, StoryRule, UrlForm

HOME = "https://en.yna.co.kr"
# the CMS fills an empty caption's alt with "<title> - 1": that is not a caption (yna_article_7, 11)
_PLACEHOLDER_ALT = re.compile(r"^(?P<title>.*?)\s+-\s+\d+$")


class Y1:
    """Yonhap English article page, layout Y-1."""

    name = "yonhap/y1"

    TITLE = "header.title-article01 h1.tit"
    # not on the 2019-2023 fixtures; the later shared markup has a subtitle block here
    SUBTITLE = "header.title-article01 .tit-sub"
    BODY = "article.story-news"
    # inside the body container: related links, ads, share widgets, photo and video boxes
    # (photos are read into ``images`` first), the reporter box of the later markup
    BODY_CHROME = (
        "div.related-group",
        "aside",
        "script",
        "style",
        "iframe",
        "ins",
        "div.comp-box",
        "figure",
        "div.writer-zone01",
        "div.keyword-zone01",
        "div.social-btns",
        "p.txt-copyright",
    )
    DISPLAY_DATE = "header.title-article01 div.info-con span.txt"
    TAGS = "div.keyword-zone01 div.list a"
    FIGURES = "figure.image-zone"
    # 2024+ reporter box (docs/sources-evidence.md, "Later markup"): romanized names only count
    WRITERS = "div.writer-zone01 strong.tit-name"

    def recognises(self, page: Page) -> bool:
        tree = page.tree
        return tree.css_first(self.BODY) is not None and tree.css_first(self.TITLE) is not None

    def parse(self, page: Page) -> Extracted:
        tree, meta = page.tree, page.meta
        title = self.title(page)
        body = tree.css_first(self.BODY)
        images: tuple[Image, ...] = ()
        paragraphs: list[str] = []
        writers = clean.people(n.text(deep=True) for n in tree.css(self.WRITERS))
        if body is not None:
            images = self.images(body, title)
            remove(body, self.BODY_CHROME)
            paragraphs = block_paragraphs(body)
        cleaned = clean.clean_paragraphs(paragraphs, (i.caption for i in images if i.caption))
        published = dates.parse_iso(meta.get("article:published_time"))
        if published is None:
            published = dates.parse_human(first_text(tree, self.DISPLAY_DATE))
        # the ``author`` meta is the reporter's Korean name (or a desk, "영문경제"): not reported
        return Extracted(
            title=title,
            subtitle=first_text(tree, self.SUBTITLE),
            body=cleaned.body,
            authors=cleaned.authors or writers,
            published_at=published,
            updated_at=dates.parse_iso(meta.get("article:modified_time")),
            section=meta.get("article:section"),
            tags=hashtags(page.tree, self.TAGS),
            editor_note=cleaned.editor_note,
            images=images,
            canonical_url=page.canonical,
            update_tag=clean.update_tag(title),
        )

    def title(self, page: Page) -> str:
        title = first_text(page.tree, self.TITLE)
        if title:
            return title
        return sitetext.strip_site_name(page.meta.get("og:title") or "")

    def images(self, body: LexborNode, title: str) -> tuple[Image, ...]:
        """Photos in the body with their captions. Video boxes (``figure.video-zone``, a YouTube
        iframe) are not images and are left out: the record has no field for them."""
        found: list[Image] = []
        seen: set[str] = set()
        for fig in body.css(self.FIGURES):
            img = fig.css_first("img")
            if img is None:
                continue
            src = (img.attributes.get("src") or img.attributes.get("data-src") or "").strip()
            if not src:
                continue
            url = urljoin(HOME, src)
            if url in seen:
                continue
            seen.add(url)
            caption = _caption(fig) or _alt_caption(img.attributes.get("alt"), title)
            found.append(Image(url=url, caption=caption))
        return tuple(found)


def _caption(fig: LexborNode) -> str | None:
    parts = [first_text(fig, "figcaption strong.tit-cap"), first_text(fig, "figcaption p.txt-desc")]
    text = " ".join(p for p in parts if p)
    return text or None


def _alt_caption(alt: str | None, title: str) -> str | None:
    text = normalize_line(alt or "")
    m = _PLACEHOLDER_ALT.match(text)
    if not text or (m and m.group("title") == title):
        return None
    return text


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
    # the menu links /nk/index; its pages say article:section "North Korea" (yna_article_15, 16)
    sections=(("nk", "North Korea"),),
    archive_prefixes=("en.yna.co.kr/view/AEN",),
    # no paged listing by date is evidenced (docs/backfill.md): what `--via site` says instead
    history_note="evidenced: /news and /news-sitemap.xml, which list only the latest items, and "
    "a keyword search paged by query; not evidenced: any listing paged back by date",
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
    # "… | Yonhap News Agency" (og:title); reporters write from …@yna.co.kr; "Yonhap" as a byline
    # is the agency, not a person
    site_names=("Yonhap News Agency",),
    email_domains=("yna.co.kr",),
    byline_words=("yonhap",),
    # each update of a story gets a new id, tagged "(LEAD)", "(2nd LD)" … in the title:
    # ``AEN`` + YYYYMMDD + 4-digit serial + 2-digit update + 3-digit desk. A first version's
    # update digits are ``00`` (AEN20230419003800320, fixture 11); its updates keep the serial
    # and count from 51 (AEN20230419003851320 "(LEAD)", fixture 9; AEN20230419000952325
    # "(2nd LD)", fixture 15, whose first version is AEN20230419000900325). Desk codes may differ
    # between versions, so the family (the ids to compare against) is day + serial.
    story_rule=StoryRule(
        pattern=re.compile(r"^AEN(?P<day>\d{8})(?P<serial>\d{4})(?P<update>\d{2})(?P<desk>\d{3})$"),
        root="AEN{day}{serial}00{desk}",
        family="AEN{day}{serial}",
    ),
)
