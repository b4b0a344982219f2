"""Small helpers over selectolax/lexbor shared by every parser: text, meta tags, ld+json."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_ZERO_WIDTH = re.compile(r"[\u200b-\u200d\u2060\ufeff]")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def parse_html(html: str) -> LexborHTMLParser:
    return LexborHTMLParser(html)


def normalize_line(text: str) -> str:
    """Collapse runs of spaces (NBSP included) and drop zero-width characters."""
    return _SPACES.sub(" ", _ZERO_WIDTH.sub("", text)).strip()


def normalize_block(text: str) -> str:
    """Normalize each line, keep single line breaks, drop empty lines."""
    lines = (normalize_line(line) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def node_text(node: LexborNode) -> str:
    """Text of a node with ``<br>`` kept as line breaks and other whitespace collapsed.

    The node is modified (``<br>`` become text): call it on nodes you no longer need as HTML.
    """
    for br in node.css("br"):
        br.replace_with("\n")
    raw = node.text(deep=True, separator="")
    return normalize_block(raw.replace("\r", ""))


def split_paragraphs(node: LexborNode) -> list[str]:
    """Paragraphs of a container whose text is separated by ``<br><br>`` rather than ``<p>``."""
    for br in node.css("br"):
        br.replace_with("\n")
    raw = node.text(deep=True, separator="").replace("\r", "")
    blocks = _BLANK_LINES.split(raw)
    return [b for b in (normalize_block(block) for block in blocks) if b]


def meta(tree: LexborHTMLParser, *keys: str) -> str | None:
    """Content of the first ``<meta>`` whose property, name or itemprop is one of ``keys``."""
    for key in keys:
        for attr in ("property", "name", "itemprop"):
            node = tree.css_first(f'meta[{attr}="{key}"]')
            if node is not None:
                content = node.attributes.get("content")
                if content and content.strip():
                    return normalize_line(content)
    return None


def meta_all(tree: LexborHTMLParser, key: str) -> list[str]:
    values = []
    for attr in ("property", "name"):
        for node in tree.css(f'meta[{attr}="{key}"]'):
            content = node.attributes.get("content")
            if content and content.strip():
                values.append(normalize_line(content))
    return values


def link_href(tree: LexborHTMLParser, rel: str) -> str | None:
    node = tree.css_first(f'link[rel="{rel}"]')
    href = node.attributes.get("href") if node is not None else None
    return href.strip() if href else None


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


def remove(node: LexborHTMLParser | LexborNode, selectors: tuple[str, ...]) -> None:
    """Drop every element matching any selector (scripts, ads, widgets)."""
    for selector in selectors:
        for found in node.css(selector):
            found.decompose()
