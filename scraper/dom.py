"""Small helpers over selectolax/lexbor shared by every parser: text, meta tags, ld+json.

Speed matters here (the extraction target is "within 4x of a bare lexbor parse"), so the page's
``<meta>`` tags and ld+json are read once into a ``Page`` instead of one CSS query per key, and
text is taken from lexbor in one call per block instead of walking text nodes in Python.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_DROP_ZERO_WIDTH = {c: None for c in (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF)}
_BLANK_LINES = re.compile(r"\n\s*\n+")
# ``<br>`` is swapped for this private-use character before text is read, so that line breaks
# the page *shows* survive while newlines in the HTML source (plain whitespace) do not.
_BR = "\ue000"

# Block elements whose text is one paragraph; anything else that is not inline is a container
# whose children are walked (``div``, ``center``, ``table`` in KH-1's broken markup, …).
_LEAF_BLOCKS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "li", "pre", "dt", "dd", "figcaption"}
)
_INLINE = frozenset(
    {
        "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "font", "i", "kbd",
        "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var",
        "wbr", "nobr", "strike", "tt", "big",
    }
)  # fmt: skip


# Tags that never hold others open: void elements, and those whose end tag is implied by the next
# sibling (a run of unclosed ``<p>`` or ``<li>`` does not nest).
_FLAT_TAGS = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr", "p", "li", "dt", "dd", "option", "td", "th", "tr",
    }
)  # fmt: skip
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)")
MAX_DEPTH = 1000  # real pages nest a few dozen deep; lexbor's tree building is O(tags x depth)
DEPTH_SCAN_TAGS = 5000  # pages with fewer "<" than this cannot nest deep enough to matter


def too_deep(html: str) -> int | None:
    """The nesting depth reached when it passes ``MAX_DEPTH``, else ``None``.

    lexbor takes 0.8 s for 20,000 nested ``<div>`` and minutes for 200,000, so a page is
    checked before it is parsed. The scan is a regex over tag names; it runs only for pages with
    over ``DEPTH_SCAN_TAGS`` "<" (a news page has ~1,600) and stops at the limit, so ordinary
    pages pay one ``str.count`` and a hostile one a few thousand regex matches."""
    if html.count("<") <= DEPTH_SCAN_TAGS:
        return None
    depth = 0
    for match in _TAG.finditer(html):  # lazily: a hostile page stops within MAX_DEPTH tags
        close, name = match.groups()
        if name.lower() in _FLAT_TAGS:
            continue
        if close:
            depth = max(0, depth - 1)
        else:
            depth += 1
            if depth > MAX_DEPTH:
                return depth
    return None


def parse_html(html: str) -> LexborHTMLParser:
    return LexborHTMLParser(html)


def normalize_line(text: str) -> str:
    """Collapse runs of whitespace (NBSP and newlines included) and drop zero-width characters."""
    return _SPACES.sub(" ", text.translate(_DROP_ZERO_WIDTH)).strip()


def mark_breaks(node: LexborNode) -> None:
    """Replace every ``<br>`` under ``node`` by a marker that ``_shown_text`` turns into "\\n"."""
    for br in node.css("br"):
        br.replace_with(_BR)


def _shown_text(raw: str) -> str:
    """Source whitespace collapses to a space; marked ``<br>`` become line breaks."""
    return _SPACES.sub(" ", raw.translate(_DROP_ZERO_WIDTH)).replace(_BR, "\n")


def _split_blank(text: str) -> list[str]:
    """Blocks separated by blank lines; each line stripped, empty lines dropped. ``text`` is
    already whitespace-collapsed (``_shown_text``), so no further normalizing is needed."""
    out = []
    for block in _BLANK_LINES.split(text):
        lines = [line.strip() for line in block.split("\n")]
        if joined := "\n".join(line for line in lines if line):
            out.append(joined)
    return out


def block_paragraphs(container: LexborNode) -> list[str]:
    """Paragraphs of an article container in document order, whatever its markup.

    ``<p>``/headings/list items are one paragraph each (split again on ``<br><br>``); loose text
    and inline elements between blocks form paragraphs separated by ``<br><br>``; other elements
    (``div``, ``center``, ``table``) are walked into. The walk uses an explicit stack, so deeply
    nested markup cannot exhaust Python's recursion limit.
    """
    mark_breaks(container)
    out: list[str] = []
    run: list[str] = []  # loose inline text waiting for the next block boundary

    def flush() -> None:
        if run:
            out.extend(_split_blank(_shown_text("".join(run))))
            run.clear()

    stack: list[Iterator[LexborNode]] = [iter(container.iter(include_text=True))]
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
            continue
        tag = child.tag
        if tag == "-text":
            run.append(child.text_content or "")
        elif tag in _INLINE:
            run.append(child.text(deep=True, separator=""))
        elif tag in _LEAF_BLOCKS:
            flush()
            out.extend(_split_blank(_shown_text(child.text(deep=True, separator=""))))
        elif tag in ("-comment", "script", "style", "template", "noscript"):
            continue
        else:
            flush()
            stack.append(iter(child.iter(include_text=True)))
    flush()
    return out


@dataclass(frozen=True)
class PageMeta:
    """Every ``<meta>`` of a page read once: property/name/itemprop (lower-cased) → contents.

    Contents are stored as found and normalized when asked for: a page has ~50 meta tags and a
    parser reads five of them."""

    values: Mapping[str, tuple[str, ...]]

    def get(self, *keys: str) -> str | None:
        """The first non-empty content among ``keys``, in the order given."""
        for key in keys:
            for raw in self.values.get(key.lower(), ()):
                if text := normalize_line(raw):
                    return text
        return None

    def all(self, key: str) -> tuple[str, ...]:
        found = (normalize_line(raw) for raw in self.values.get(key.lower(), ()))
        return tuple(text for text in found if text)


def read_meta(tree: LexborHTMLParser) -> PageMeta:
    """Read the ``<meta>`` tags of the head (four times faster than querying the whole page);
    a page whose head has none (broken markup) is searched whole."""
    values: dict[str, list[str]] = {}
    head = tree.head
    nodes = head.css("meta") if head is not None else []
    for node in nodes or tree.css("meta"):
        attrs = node.attributes
        content = attrs.get("content")
        if not content:
            continue
        for attr in ("property", "name", "itemprop"):
            key = attrs.get(attr)
            if key:
                values.setdefault(key.strip().lower(), []).append(content)
    return PageMeta({k: tuple(v) for k, v in values.items()})


class Page:
    """One parsed page as the parsers see it: the tree, its meta tags, its ld+json, its URL.

    A plain class rather than a frozen dataclass: it wraps a mutable lexbor tree (parsers remove
    chrome from it) and reads the ld+json only when a parser asks for it."""

    def __init__(self, tree: LexborHTMLParser, url: str | None = None) -> None:
        self.tree = tree
        self.url = url
        self.meta = read_meta(tree)

    @cached_property
    def canonical(self) -> str | None:
        return link_href(self.tree, "canonical") or self.meta.get("og:url")

    @cached_property
    def ld_article(self) -> dict[str, Any]:
        """The page's NewsArticle/Article ld+json object, or an empty dict."""
        return jsonld_article(self.tree) or {}


def link_href(tree: LexborHTMLParser, rel: str) -> str | None:
    node = tree.css_first(f'link[rel="{rel}"]')
    href = node.attributes.get("href") if node is not None else None
    return href.strip() if href else None


def hashtags(tree: LexborHTMLParser, selector: str) -> tuple[str, ...]:
    """Keyword links ("#KOSPI 200") as tags, in page order, "#" dropped, each once."""
    out: list[str] = []
    for a in tree.css(selector):
        tag = normalize_line(a.text()).lstrip("#").strip()
        if tag and tag not in out:
            out.append(tag)
    return tuple(out)


def first_text(tree: LexborHTMLParser | LexborNode, selector: str) -> str | None:
    node = tree.css_first(selector)
    if node is None:
        return None
    text = normalize_line(node.text(deep=True, separator=" "))
    return text or None


def jsonld(tree: LexborHTMLParser) -> Iterator[dict[str, Any]]:
    """Every JSON-LD object on the page, ``@graph`` members flattened; bad JSON is skipped."""
    for node in tree.css('script[type="application/ld+json"]'):
        try:
            data = json.loads(node.text(deep=True) or "null")
        except (ValueError, RecursionError):
            continue
        stack = data if isinstance(data, list) else [data]
        for item in stack:
            if not isinstance(item, dict):
                continue
            graph = item.get("@graph")
            if isinstance(graph, list):
                yield from (g for g in graph if isinstance(g, dict))
            else:
                yield item


def jsonld_article(tree: LexborHTMLParser) -> dict[str, Any] | None:
    """The first JSON-LD object typed as an article (NewsArticle, Article, …)."""
    for item in jsonld(tree):
        kind = item.get("@type")
        kinds = kind if isinstance(kind, list) else [kind]
        if any(isinstance(k, str) and k.endswith("Article") for k in kinds):
            return item
    return None


def ld_text(value: Any) -> str | None:
    """A string ld+json value (or the first of a list), normalized; ``None`` otherwise."""
    if isinstance(value, list):
        value = value[0] if value else None
    return normalize_line(value) if isinstance(value, str) and value.strip() else None


def ld_names(value: Any) -> list[str]:
    """The ``name`` strings of an ld+json ``author`` value (object, string or a list of them)."""
    items = value if isinstance(value, list) else [value]
    names = []
    for item in items:
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, str):
            names.append(name)
    return names


def remove(node: LexborHTMLParser | LexborNode, selectors: tuple[str, ...]) -> None:
    """Drop every element matching any selector (scripts, ads, widgets).

    ``remove`` unlinks rather than ``decompose``: a match nested in an earlier match is then
    detached twice, which is harmless, instead of being freed twice."""
    if not selectors:
        return
    for found in node.css(", ".join(selectors)):
        found.remove()
