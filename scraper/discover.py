"""Discovery: article links out of RSS/Atom feeds, sitemaps and list pages.

XML is parsed with defusedxml (no entity expansion, no external entities, no DTDs). A feed that
is not well-formed is still mined for ``<link>``/``<loc>`` values, so one bad item does not hide
the rest. Every link is resolved against the page URL; callers canonicalize it with the source.

``discover`` walks a source's chain, one tier at a time (docs/crawling.md):
  1. every feed the source declares (the all-news feed and the per-section ones);
  2. only if *no* feed worked: the sitemaps (a sitemap index is followed one level down);
  3. only if no sitemap worked either: the section/list pages.
A tier "worked" when at least one endpoint answered 304 (unchanged since the last run) or
listed at least one article. Every endpoint is read with a conditional GET (If-None-Match /
If-Modified-Since from the frontier), so an unchanged feed costs one small request.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError as XmlParseError
from defusedxml.ElementTree import fromstring

from scraper.config import SourceConfig
from scraper.dom import MAX_DEPTH, parse_html, too_deep
from scraper.errors import Cancelled, FetchError, HostUnreachable
from scraper.evidence import capture_endpoint
from scraper.fetch import Fetcher
from scraper.sources import Source
from scraper.store import Archive
from scraper.urls import absolutize, allowed_hosts, on_base
from scraper.warc import WarcStore

log = logging.getLogger(__name__)

_LINK_RE = re.compile(rb"<(?:link|loc)>\s*(?:<!\[CDATA\[)?\s*([^<\]\s]+)", re.I)


MAX_CHILD_SITEMAPS = 5  # of a sitemap index, the first (newest, by the sites' habit) ones


@dataclass(frozen=True)
class Discovered:
    """A link a feed, sitemap or list page gave. Only the link: the article page itself gives
    the title and dates the record keeps, so an item's own are not read."""

    url: str
    sitemap: bool = False  # an entry of a sitemap index: another sitemap, not an article


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _child_text(node: Element, name: str) -> str | None:
    for child in node:
        if _local(child.tag) == name and child.text and child.text.strip():
            return child.text.strip()
    return None


def _atom_link(entry: Element) -> str | None:
    """The entry's page: its ``rel="alternate"`` link (no ``rel`` means alternate, RFC 4287
    4.2.7.2), never ``self``/``edit``/``enclosure``/``related`` when an alternate is there."""
    links = [c for c in entry if _local(c.tag) == "link" and c.get("href")]
    for link in links:
        if link.get("rel", "alternate") == "alternate":
            return link.get("href")
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
                found.append(Discovered(absolutize(base_url, link)))
        elif kind == "entry":  # Atom
            href = _atom_link(node)
            if href:
                found.append(Discovered(absolutize(base_url, href)))
        elif kind in ("url", "sitemap"):  # sitemap / sitemap index
            loc = _child_text(node, "loc")
            if loc:
                found.append(Discovered(absolutize(base_url, loc), sitemap=kind == "sitemap"))
    return found


def parse_list_page(html: str, base_url: str, selectors: tuple[str, ...]) -> list[Discovered]:
    """Article links of a section or list page, by the source's list selectors in order."""
    if too_deep(html) is not None:
        log.warning("list page %s nests HTML over %d deep; not parsed", base_url, MAX_DEPTH)
        return []
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
                found.append(Discovered(url))
    return found


@dataclass(frozen=True)
class Endpoint:
    """What one feed, sitemap or section page gave in this run."""

    kind: str  # feed | sitemap | section
    path: str
    outcome: str  # listed | not-modified | empty | failed
    articles: int = 0
    error: str | None = None


@dataclass(frozen=True)
class Discovery:
    """The candidate article URLs of one source and how they were found."""

    items: tuple[Discovered, ...]
    method: str | None  # the tier that worked: "feed", "sitemap", "section"; None if none did
    endpoints: tuple[Endpoint, ...] = field(default=())

    @property
    def not_modified(self) -> int:
        return sum(1 for e in self.endpoints if e.outcome == "not-modified")

    @property
    def failed(self) -> tuple[Endpoint, ...]:
        return tuple(e for e in self.endpoints if e.outcome == "failed")


# Called with the items of one endpoint before the endpoint's ETag is stored (see frontier).
SeenFn = Callable[[list[Discovered]], None]


class _Reader:
    """Reads one source's endpoints with conditional GETs and records their validators."""

    def __init__(
        self,
        fetcher: Fetcher,
        archive: Archive,
        source: Source,
        settings: SourceConfig,
        warcs: WarcStore | None = None,
    ) -> None:
        self.warcs = warcs
        self.fetcher = fetcher
        self.archive = archive
        self.source = source
        self.settings = settings
        self.hosts = allowed_hosts(source, settings)

    def read(
        self, kind: str, path: str, seen: SeenFn, *, nested: bool = False
    ) -> tuple[Endpoint, list[Discovered]]:
        # a child sitemap is named on the real host: fetch it from base_url (a mirror) too
        url = on_base(self.settings, path) if "://" in path else self.settings.base_url + path
        row = self.archive.url_row(url)
        headers = {}
        if row is not None and row["state"] == "done":
            if row["etag"]:
                headers["If-None-Match"] = row["etag"]
            if row["last_modified"]:
                headers["If-Modified-Since"] = row["last_modified"]
        try:
            page = self.fetcher.get(
                url, allowed_hosts=self.hosts, source=self.source.name, headers=headers
            )
        except Cancelled:
            raise
        except FetchError as exc:
            # an unreachable host was logged once already (scraper.polite); not per endpoint
            outage = isinstance(exc, HostUnreachable)
            log.log(
                logging.DEBUG if outage else logging.WARNING, "%s %s failed: %s", kind, url, exc
            )
            # the same outage for every endpoint: one message, so `stats` counts it as one
            error = exc.message if outage else str(exc)
            self.archive.mark_url(url, self.source.name, kind=kind, state="failed", error=error)
            return Endpoint(kind, path, "failed", error=str(exc)), []
        if page.status == 304:
            self.archive.mark_url(url, self.source.name, kind=kind, state="done", http_status=304)
            log.info("%s %s not modified", kind, url)
            return Endpoint(kind, path, "not-modified"), []
        if self.warcs is not None:  # the evidence of when an article was listed
            capture_endpoint(self.archive, self.warcs, self.source.name, page)
        if kind == "section":
            items = parse_list_page(page.text, page.final_url, self.source.list_link_selectors)
        else:
            items = parse_feed(page.body, page.final_url)
        children = [i for i in items if i.sitemap]
        articles = [i for i in items if not i.sitemap and self.source.match(i.url)]
        seen(articles)
        self.archive.mark_url(
            url,
            self.source.name,
            kind=kind,
            state="done",
            http_status=page.status,
            etag=page.header("etag"),
            last_modified=page.header("last-modified"),
            error=None,
        )
        for child in [] if nested else children[:MAX_CHILD_SITEMAPS]:  # one level only
            _, more = self.read(kind, child.url, seen, nested=True)
            articles.extend(more)
        outcome = "listed" if articles else "empty"
        if not articles:
            log.warning("%s %s listed no articles", kind, url)
        return Endpoint(kind, path, outcome, articles=len(articles)), articles


def discover(
    fetcher: Fetcher,
    archive: Archive,
    source: Source,
    settings: SourceConfig,
    seen: SeenFn,
    warcs: WarcStore | None = None,
) -> Discovery:
    """Walk the source's discovery chain; see the module docstring for the order. With
    ``warcs``, every feed, sitemap and section page read is archived (scraper/evidence.py)."""
    reader = _Reader(fetcher, archive, source, settings, warcs)
    endpoints: list[Endpoint] = []
    tiers = (
        ("feed", source.feeds),
        ("sitemap", source.sitemaps),
        ("section", source.section_pages),
    )
    for kind, paths in tiers:
        if not paths:
            continue
        found: list[Discovered] = []
        worked = False
        for path in paths:
            endpoint, items = reader.read(kind, path, seen)
            endpoints.append(endpoint)
            found.extend(items)
            worked = worked or endpoint.outcome in ("listed", "not-modified")
        if worked:
            return Discovery(tuple(found), kind, tuple(endpoints))
        log.warning(
            "%s: every %s failed or was empty; falling back to the next discovery method",
            source.name,
            kind,
        )
    return Discovery((), None, tuple(endpoints))
