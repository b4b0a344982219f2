"""Discovery: article links out of RSS/Atom feeds, sitemaps and list pages.

XML is parsed with defusedxml (no entity expansion, no external entities, no DTDs). A feed that
is not well-formed is still mined for ``<link>``/``<loc>`` values, so one bad item does not hide
the rest. Every link is resolved against the page URL; callers canonicalize it with the source.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError as XmlParseError
from defusedxml.ElementTree import fromstring

from scraper.dates import parse_iso, parse_rfc2822
from scraper.dom import parse_html
from scraper.urls import absolutize

log = logging.getLogger(__name__)

_LINK_RE = re.compile(rb"<(?:link|loc)>\s*(?:<!\[CDATA\[)?\s*([^<\]\s]+)", re.I)


@dataclass(frozen=True)
class Discovered:
    url: str
    published_at: str | None = None
    title: str | None = None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _child_text(node: Element, name: str) -> str | None:
    for child in node:
        if _local(child.tag) == name and child.text and child.text.strip():
            return child.text.strip()
    return None


def parse_feed(data: bytes, base_url: str) -> list[Discovered]:
    """Items of an RSS 2.0, Atom or sitemap document (sitemap index entries included)."""
    try:
        root = fromstring(data, forbid_dtd=True)
    except (XmlParseError, DefusedXmlException, ValueError) as exc:
        log.warning("feed at %s is not well-formed XML (%s); salvaging links", base_url, exc)
        return [
            Discovered(absolutize(base_url, m.decode("utf-8", "replace")))
            for m in _LINK_RE.findall(data)
        ]
    found: list[Discovered] = []
    for node in root.iter():
        kind = _local(node.tag)
        if kind == "item":  # RSS
            link = _child_text(node, "link") or _child_text(node, "guid")
            if link and "/" in link:
                found.append(
                    Discovered(
                        absolutize(base_url, link),
                        parse_rfc2822(_child_text(node, "pubdate")),
                        _child_text(node, "title"),
                    )
                )
        elif kind == "entry":  # Atom
            for child in node:
                if _local(child.tag) == "link" and child.get("href"):
                    found.append(
                        Discovered(
                            absolutize(base_url, child.get("href", "")),
                            parse_iso(
                                _child_text(node, "published") or _child_text(node, "updated")
                            ),
                            _child_text(node, "title"),
                        )
                    )
                    break
        elif kind in ("url", "sitemap"):  # sitemap / sitemap index
            loc = _child_text(node, "loc")
            if loc:
                published = None
                for sub in node.iter():
                    if _local(sub.tag) in ("publication_date", "lastmod") and sub.text:
                        published = parse_iso(sub.text.strip())
                        break
                found.append(Discovered(absolutize(base_url, loc), published))
    return found


def parse_list_page(html: str, base_url: str, selectors: tuple[str, ...]) -> list[Discovered]:
    """Article links of a section or list page, by the source's list selectors in order."""
    tree = parse_html(html)
    seen: set[str] = set()
    found: list[Discovered] = []
    for selector in selectors:
        for a in tree.css(selector):
            href = a.attributes.get("href")
            if not href or href.startswith(("javascript:", "#", "mailto:")):
                continue
            url = absolutize(base_url, href)
            if url not in seen:
                seen.add(url)
                found.append(Discovered(url, None, a.text(strip=True) or None))
    return found
