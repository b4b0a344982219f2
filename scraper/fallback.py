"""The source-aware fallback: an article out of a page of a known source that no layout parser
recognises (a redesign), using only what does not depend on class names.

The cascade (thresholds are the named constants below):
  1. metadata when the page has it: ld+json, then ``article:``/OpenGraph meta;
  2. the headline: the ``<h1>`` that best matches the ld+json/meta/``<title>`` headline (the site
     name stripped), else that headline;
  3. the article container by text density: every paragraph-like block scores its non-link text
     (prose counts fully, other text half) for its container and half for the one above
     (readability's rule); the best container is widened to the smallest ancestor holding
     ``WIDEN_SHARE`` of the page's prose (a body split over several boxes);
  4. inside it, photo boxes (the smallest element around an ``<img>`` with little text) become
     images and captions, blocks of mostly link text are dropped, and the paragraphs go through the
     same cleaning as the layout parsers' (``scraper.clean``: chrome lines, trailers, notes,
     bylines, repeated captions);
  5. dates from the printed date line next to the headline ("Published : …", "15:29 April 19,
     2023", KST), believed only when they fall on the day the article id names; authors from a
     "By …" line there;
  6. if no container is found, trafilatura on the page minus the source's prune rules.
Records are stamped ``fallback/<source>`` so drift is counted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser, LexborNode

from scraper import clean, dates, sitetext
from scraper.dom import (
    Page,
    block_paragraphs,
    ld_names,
    ld_text,
    normalize_line,
    parse_html,
    remove,
)
from scraper.errors import ParseError
from scraper.models import Image
from scraper.sources.base import Extracted, Source

log = logging.getLogger(__name__)

# never article text, whatever the class names
NEVER_CONTENT = (
    "script", "style", "noscript", "template", "iframe", "svg", "button", "select", "input",
    "textarea", "ins", "object", "embed", "video", "audio", "canvas",
)  # fmt: skip
# page furniture by its tag, dropped unless a redesign put the article itself inside one (some
# sites wrap the whole page in a <form>): then it holds more than this much non-link text
FURNITURE = "nav, footer, form"
FURNITURE_MAX_TEXT = 600
_LEAF = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "li", "pre", "dd", "dt"})
_INLINE = frozenset(
    {"a", "abbr", "b", "cite", "code", "em", "font", "i", "mark", "q", "s", "small", "span",
     "strong", "sub", "sup", "time", "u", "big", "strike", "tt", "label", "img", "br", "wbr"}
)  # fmt: skip
_SKIP = frozenset({"-comment", "script", "style", "template", "noscript", "head", "title"})
PROSE_MIN_CHARS = 80  # a paragraph of prose: this long, ends a sentence, mostly not links
MAX_LINK_SHARE = 0.5  # a block whose text is more than half link text is navigation
WIDEN_SHARE = 0.9  # the container must hold this share of the page's prose
CAPTION_MAX_CHARS = 400  # an element around a photo with at most this much text is its box
HEADER_REACH = 12  # printed dates and bylines are looked for this many blocks around the <h1>
MIN_ARTICLE_CHARS = 200  # without article metadata, a record needs this much body text


@dataclass(frozen=True)
class _Block:
    """One paragraph-like run of text and the element that holds it."""

    owner: LexborNode  # the container it scores for
    node: LexborNode  # the leaf block itself (the owner for loose text)
    text: str
    link_chars: int

    @property
    def prose(self) -> bool:
        t = self.text
        return (
            len(t) >= PROSE_MIN_CHARS
            and self.link_chars <= len(t) * 0.3
            and t.rstrip("\"'”’)").endswith((".", "!", "?"))
        )

    @property
    def score(self) -> float:
        n = len(self.text)
        if n < 25 or self.link_chars > n * MAX_LINK_SHARE:
            return 0.0
        return float(n - self.link_chars) * (1.0 if self.prose else 0.5)


def _link_chars(node: LexborNode) -> int:
    if node.tag == "a":
        return len(normalize_line(node.text(deep=True)))
    return sum(len(normalize_line(a.text(deep=True))) for a in node.css("a"))


def blocks(root: LexborNode) -> list[_Block]:
    """Paragraph-like runs in document order: each leaf block, and loose inline text between
    blocks (KH-1 separates paragraphs with ``<br><br>`` only). Explicit stack, no recursion."""
    out: list[_Block] = []
    run: list[str] = []
    links = 0

    def flush(owner: LexborNode) -> None:
        nonlocal links
        text = normalize_line("".join(run))
        if text:
            out.append(_Block(owner, owner, text, links))
        run.clear()
        links = 0

    stack: list[tuple[LexborNode, Iterator[LexborNode]]] = [
        (root, iter(root.iter(include_text=True)))
    ]
    while stack:
        owner, it = stack[-1]
        child = next(it, None)
        if child is None:
            flush(owner)
            stack.pop()
            continue
        tag = child.tag
        if tag == "-text":
            run.append(child.text_content or "")
        elif tag in _INLINE:
            run.append(" " + child.text(deep=True, separator=" ") + " ")
            links += _link_chars(child)
        elif tag in _SKIP:
            continue
        elif tag in _LEAF:
            flush(owner)
            text = normalize_line(child.text(deep=True, separator=" "))
            if text:
                out.append(_Block(owner, child, text, _link_chars(child)))
        else:
            flush(owner)
            stack.append((child, iter(child.iter(include_text=True))))
    return out


def _ancestors(node: LexborNode) -> list[LexborNode]:
    out = []
    parent = node.parent
    while parent is not None and parent.tag not in ("html", "-undef", "#document"):
        out.append(parent)
        parent = parent.parent
    return out


def find_container(body: LexborNode, found: list[_Block]) -> LexborNode | None:
    """The element holding the article text (module docstring, step 3)."""
    score: dict[int, float] = {}
    nodes: dict[int, LexborNode] = {}
    for b in found:
        if not (s := b.score):
            continue
        owner = b.owner
        nodes[owner.mem_id] = owner
        score[owner.mem_id] = score.get(owner.mem_id, 0.0) + s
        if (parent := owner.parent) is not None and parent.tag != "html":
            nodes[parent.mem_id] = parent
            score[parent.mem_id] = score.get(parent.mem_id, 0.0) + s / 2
    if not score:
        return None
    best = nodes[max(score, key=lambda k: score[k])]
    prose_total = sum(len(b.text) for b in found if b.prose)
    if not prose_total:
        return best
    for candidate in [best, *_ancestors(best)]:
        inside = sum(len(b.text) for b in found if b.prose and _within(b.owner, candidate))
        if inside >= WIDEN_SHARE * prose_total:
            return candidate
    return best


def _within(node: LexborNode, container: LexborNode) -> bool:
    cur: LexborNode | None = node
    while cur is not None:
        if cur.mem_id == container.mem_id:
            return True
        cur = cur.parent
    return False


def _photo_box(img: LexborNode, container: LexborNode) -> LexborNode | None:
    """The smallest element around ``img`` that has some text and little of it (its caption)."""
    node = img.parent
    while node is not None and node.mem_id != container.mem_id:
        text = normalize_line(node.text(deep=True, separator=" "))
        if text:
            return node if len(text) <= CAPTION_MAX_CHARS and node.tag not in _LEAF else None
        node = node.parent
    return None


def _images(container: LexborNode, base: str) -> tuple[tuple[Image, ...], list[str]]:
    """Photos in the container with their captions; the boxes are removed from the tree.
    Returns the images and every caption text (to drop paragraphs that repeat one)."""
    found: list[Image] = []
    captions: list[str] = []
    seen: set[str] = set()
    boxes: list[LexborNode] = []
    for img in container.css("img"):
        src = (img.attributes.get("src") or img.attributes.get("data-src") or "").strip()
        alt = normalize_line(img.attributes.get("alt") or "")
        if alt:
            captions.append(alt)
        box = _photo_box(img, container)
        caption: str | None = None
        if box is not None:
            lines = block_paragraphs(box)
            captions.extend(lines)
            captions.append(" ".join(lines))
            caption = " ".join(dict.fromkeys(lines)) or None
            boxes.append(box)
        if not src or src.startswith("data:"):
            continue
        url = urljoin(base, src)
        if url not in seen:
            seen.add(url)
            found.append(Image(url=url, caption=caption or alt or None))
    for box in boxes:
        box.remove()
    return tuple(found), captions


def _drop_video_boxes(body: LexborNode) -> None:
    """A video (an embedded player) with its caption box: not an image, and its caption is not
    body text (Yonhap's YouTube boxes, yna_article_15)."""
    for player in body.css("iframe, video, embed, object"):
        box = _photo_box(player, body)
        (box or player).remove()


def _drop_furniture(body: LexborNode) -> None:
    for node in body.css(FURNITURE):
        text = normalize_line(node.text(deep=True, separator=" "))
        if len(text) - _link_chars(node) <= FURNITURE_MAX_TEXT:
            node.remove()


def _drop_link_lists(container: LexborNode) -> None:
    """Related-article lists, keyword and share boxes: blocks that are mostly link text."""
    for node in container.css("ul, ol, dl, div, section, aside, table, h2, h3, h4, h5, h6"):
        text = normalize_line(node.text(deep=True, separator=" "))
        if text and _link_chars(node) > len(text) * MAX_LINK_SHARE:
            node.remove()


def _similarity(a: str, b: str) -> float:
    x, y = set(a.casefold().split()), set(b.casefold().split())
    return len(x & y) / len(x | y) if x and y else 0.0


def headline(page: Page, tree: LexborHTMLParser) -> tuple[str, LexborNode | None]:
    """The printed headline and its element (module docstring, step 2)."""
    meta, ld = page.meta, page.ld_article
    title_tag = tree.css_first("title")
    refs = [
        r
        for r in (
            ld_text(ld.get("headline")),
            meta.get("og:title", "twitter:title"),
            normalize_line(title_tag.text()) if title_tag is not None else None,
        )
        if r
    ]
    refs = [sitetext.strip_site_name(r) for r in refs]
    h1s = [(n, normalize_line(n.text(deep=True, separator=" "))) for n in tree.css("h1")]
    h1s = [(n, t) for n, t in h1s if t]
    if h1s:
        if refs:
            node, text = max(h1s, key=lambda h: max(_similarity(h[1], r) for r in refs))
            if max(_similarity(text, r) for r in refs) >= 0.5:
                return text, node
        else:
            return h1s[0][1], h1s[0][0]
    return (refs[0] if refs else ""), (h1s[0][0] if h1s else None)


@dataclass(frozen=True)
class _Header:
    published: str | None
    updated: str | None
    authors: tuple[str, ...]


def header_facts(found: list[_Block], title_node: LexborNode | None, day: date | None) -> _Header:
    """Printed dates and byline from the blocks nearest the headline (module docstring, 5)."""
    at = 0
    if title_node is not None:
        key = title_node.mem_id
        at = next((i for i, b in enumerate(found) if b.node.mem_id == key), 0)
    nearest = sorted(range(len(found)), key=lambda i: abs(i - at))
    published = updated = None
    authors: tuple[str, ...] = ()
    labelled = False
    for rank, i in enumerate(nearest):
        text = found[i].text
        near = rank < 2 * HEADER_REACH
        # beyond the header's reach (a redesign may print the date under the article), only a
        # line that is nothing but a date, or a labelled one, counts
        far_ok = "published" in text.lower() or clean.is_date_line(text)
        if not near and (published is not None or not far_ok):
            if published is not None and updated is not None:
                break
            continue
        pub, upd = sitetext.dates_in_line(text)
        is_labelled = "published" in text.lower()
        believable = pub and sitetext.agrees_with_id(pub, day)
        if believable and (published is None or is_labelled > labelled):
            published, labelled = pub, is_labelled
        if upd and updated is None and sitetext.agrees_with_id(upd, day):
            updated = upd
        if near and not authors:
            authors = sitetext.byline_in_line(text)
    return _Header(published, updated, authors)


def printed_dates(html: str, url: str | None, native_id: str) -> tuple[str | None, str | None]:
    """(published, updated) as printed near the headline, for a layout parser whose own date
    selectors found nothing (the date line moved); the id's day at 00:00 KST as a last resort."""
    tree = parse_html(html)
    _, title_node = headline(Page(tree, url), tree)
    body = tree.body
    if body is None:
        return None, None
    remove(body, NEVER_CONTENT)
    day = sitetext.id_date(native_id)
    head = header_facts(blocks(body), title_node, day)
    return head.published or _day_start(day), head.updated


def _day_start(day: date | None) -> str | None:
    return dates.iso(datetime.combine(day, time(0, 0), tzinfo=dates.KST)) if day else None


def extract_fallback(
    source: Source, html: str, url: str | None, native_id: str, where: str
) -> Extracted:
    """An ``Extracted`` for a page no layout parser recognised, or ``ParseError`` when the page
    is not an article (no headline, no article-like text)."""
    tree = parse_html(html)
    page = Page(tree, url)
    meta, ld = page.meta, page.ld_article
    has_metadata = bool(
        ld or (meta.get("og:type") or "").lower() == "article" or meta.get("article:published_time")
    )
    title, title_node = headline(page, tree)
    body = tree.body
    if body is None:
        raise ParseError("not an article page (no body)", where=where)
    _drop_video_boxes(body)
    remove(body, NEVER_CONTENT)
    _drop_furniture(body)
    found = blocks(body)
    day = sitetext.id_date(native_id)
    head = header_facts(found, title_node, day)
    container = find_container(body, found)
    images: tuple[Image, ...] = ()
    cleaned: clean.Cleaned | None = None
    if container is not None:
        if title_node is not None and _within(title_node, container):
            title_node.remove()
        images, captions = _images(container, source.default_base_url)
        _drop_link_lists(container)
        cleaned = clean.clean_paragraphs(block_paragraphs(container), captions)
    if cleaned is None or not cleaned.body:
        log.debug("%s: no text-dense container; trying trafilatura", where)
        cleaned = _trafilatura(source, html, url)
    if not title:
        raise ParseError("not an article page (no headline)", where=where)
    if not has_metadata and len(cleaned.body) < MIN_ARTICLE_CHARS:
        raise ParseError("not an article page (no article text)", where=where)

    published, updated = _dates(page, head, day)
    authors = clean.people(ld_names(ld.get("author"))) or cleaned.authors or head.authors
    return Extracted(
        title=title,
        body=cleaned.body,
        authors=authors,
        published_at=published,
        updated_at=updated,
        section=ld_text(ld.get("articleSection")) or meta.get("article:section"),
        editor_note=cleaned.editor_note,
        images=images,
        canonical_url=page.canonical,
        update_tag=clean.update_tag(title),
    )


def _dates(page: Page, head: _Header, day: date | None) -> tuple[str | None, str | None]:
    """Published and updated: ld+json, then the ``article:*`` meta tags, then the dates printed
    near the headline; for the publication, last the day the article id names."""
    meta, ld = page.meta, page.ld_article
    published = dates.parse_iso(ld_text(ld.get("datePublished"))) or dates.parse_iso(
        meta.get("article:published_time")
    )
    updated = dates.parse_iso(ld_text(ld.get("dateModified"))) or dates.parse_iso(
        meta.get("article:modified_time")
    )
    if published is None:
        published = head.published
    if published is None:
        # last resort: the day the id names (midnight KST); better than no date for ordering
        published = _day_start(day)
    return published, updated or head.updated


def _trafilatura(source: Source, html: str, url: str | None) -> clean.Cleaned:
    """trafilatura on the page minus the source's prune rules (the last resort)."""
    import trafilatura  # imported lazily: it is slow to import and rarely needed

    pruned = parse_html(html)
    if pruned.body is not None:
        remove(pruned.body, source.prune)
    doc = trafilatura.bare_extraction(
        pruned.html or "",
        url=url,
        include_comments=False,
        include_tables=False,
        favor_precision=True,
    )
    text = getattr(doc, "text", None) if doc is not None else None
    return clean.clean_paragraphs((text or "").split("\n"))
