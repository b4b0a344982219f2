"""Bytes or text of a page → ``Article``: pick the source, the layout parser, or the fallback.

The cascade, in order (docs/extraction.md has the details):
  1. refuse input that cannot be an article page (empty, binary, no markup, absurdly nested);
  2. decode once and parse once into a ``Page`` (tree + meta tags read in one pass);
  3. find the source from the page's canonical / og:url link, else from the URL given;
  4. the first of the source's layout parsers that recognises the page;
  5. otherwise (or if it found no title/body) the source-aware fallback (``scraper.fallback``):
     what the site prints, whatever its class names, cleaned like the rest, stamped
     ``fallback/<source>``; it refuses only pages with no headline or no article text;
  6. a record needs a native id, a title and a body of at least ``MIN_BODY_CHARS``.
"""

from __future__ import annotations

import codecs
import logging
import re
from dataclasses import replace
from urllib.parse import urlsplit

from charset_normalizer import from_bytes

from scraper import clean, dates
from scraper import sources as registry
from scraper.dom import MAX_DEPTH, Page, parse_html, too_deep
from scraper.errors import NotAnArticle, ParseError
from scraper.fallback import extract_fallback, printed_dates
from scraper.models import Article, content_hash
from scraper.sources import Extracted, Source

log = logging.getLogger(__name__)

MIN_BODY_CHARS = 40  # shorter "bodies" are teasers or chrome, not articles
MAX_INPUT_BYTES = 20 * 1024 * 1024
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.I)
_CHARSET_ALIASES = {"euc-kr": "cp949", "ks_c_5601-1987": "cp949", "x-windows-949": "cp949"}
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f]")
_MARKUP = re.compile(r"<(?:!doctype|html|head|body|div|p|meta)\b", re.I)
# real pages leave ~100 elements unclosed (void tags, <p>, <li>); far more means a pathological
# nesting depth (see ``_check_text``)
MAX_UNCLOSED_TAGS = 3000


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    name = _CHARSET_ALIASES.get(name.strip().lower(), name.strip().lower())
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_html(data: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Decode page bytes: charset from the header, a BOM, a ``<meta>`` tag, UTF-8, or detection.

    Korean pages may be EUC-KR (read as its superset CP949).
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="replace"), "utf-8"
    candidates = []
    if content_type and (header := _HEADER_CHARSET.search(content_type)):
        candidates.append(_codec(header.group(1)))
    if declared := _META_CHARSET.search(data[:4096]):
        candidates.append(_codec(declared.group(1).decode("ascii", "ignore")))
    for enc in candidates:
        if enc:
            try:
                return data.decode(enc), enc
            except UnicodeDecodeError:
                continue  # a wrong declaration: try the next clue
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(data[:200_000]).best()
    enc = _codec(best.encoding) if best is not None else None
    if enc is None:
        enc = next((c for c in candidates if c), "utf-8")
    return data.decode(enc, errors="replace"), enc


def _check_text(text: str, where: str) -> None:
    if not text.strip():
        raise ParseError("empty input", where=where)
    sample = text[:8192]
    if "\x00" in sample or len(_CONTROL.findall(sample)) > len(sample) // 100 + 2:
        raise ParseError("not HTML (binary data)", where=where)
    if "<" not in sample or not _MARKUP.search(text):
        raise ParseError("not HTML (no markup found)", where=where)
    # lexbor's tree building is quadratic in nesting depth (20,000 nested divs take seconds).
    # Tags opened minus tags closed bounds the depth from above ("<!" comments count as opened:
    # harmless with this margin); two str.count calls cost ~0.1 ms on a 60 KB page.
    closes = text.count("</")
    if text.count("<") - 2 * closes > MAX_UNCLOSED_TAGS:
        raise ParseError("not an article page (HTML nested too deeply)", where=where)
    if too_deep(text) is not None:  # nested and closed: the check above cannot see it
        raise ParseError(
            f"not an article page (HTML nested over {MAX_DEPTH} deep; not parsed)", where=where
        )


def _html_type(content_type: str) -> bool:
    """Whether a declared Content-Type may hold a page (servers mislabel HTML as text/plain or
    octet-stream often enough; a PDF or an image is another thing)."""
    mime = content_type.split(";", 1)[0].strip().lower()
    return (
        not mime
        or mime.startswith("text/")
        or "html" in mime
        or "xml" in mime
        or (mime in ("application/octet-stream", "binary/octet-stream"))
    )


def source_for_url(url: str) -> Source | None:
    """The source whose article URL forms match ``url`` on one of its own hosts (none when the
    URL cannot be parsed: a page's own canonical link may be malformed)."""
    try:
        host = urlsplit(url).hostname
    except ValueError:  # e.g. "https://[]en.yna.co.kr/…": brackets that hold no IP address
        return None
    for source in registry.SOURCES:
        if source.is_own_host(host) and source.match(url):
            return source
    return None


def _page_url(html_url: str | None, tree_canonical: str | None) -> tuple[Source, str] | None:
    for candidate in (tree_canonical, html_url):
        if candidate and (source := source_for_url(candidate)):
            return source, candidate
    # the URL given may be a mirror (base_url): match on the path alone
    for candidate in (html_url, tree_canonical):
        if not candidate:
            continue
        for source in registry.SOURCES:
            if source.match(candidate):
                return source, candidate
    return None


def extract(
    html: str | bytes,
    url: str | None = None,
    *,
    source: Source | None = None,
    fetched_at: str | None = None,
    content_type: str | None = None,
    where: str | None = None,
) -> Article:
    """Extract one article; raise ``ParseError`` with a clear message when it is not one."""
    where = where or url or "<input>"
    html = _decoded(html, content_type, where)
    page = Page(parse_html(html), url)
    canonical = page.canonical
    found = _page_url(url, canonical)
    if source is None:
        if found is None:
            raise ParseError(
                "not an article page of a known source (no article URL; pass --url)", where=where
            )
        source = found[0]
    page_url = found[1] if found and found[0] is source else url
    native = _native_id(source, canonical, url)
    if native is None:
        raise NotAnArticle(f"not a {source.name} article URL", where=where)

    extracted, parser_name = _run_parsers(source, page)
    if extracted is not None and extracted.published_at is None:
        # the layout parser's date selectors missed (a moved date line): the shared rules
        # read the printed date near the headline, as the fallback does
        published, updated = printed_dates(html, url, native)
        extracted = replace(
            extracted, published_at=published, updated_at=extracted.updated_at or updated
        )
    if extracted is None:
        extracted = extract_fallback(source, html, url, native, where)
        parser_name = f"fallback/{source.name}"
    if len(extracted.body) < MIN_BODY_CHARS:
        raise ParseError("no article text found", where=where)
    if not extracted.title:
        raise ParseError("no title found", where=where)

    return _article(source, native, extracted, parser_name, page_url, fetched_at)


def _decoded(html: str | bytes, content_type: str | None, where: str) -> str:
    """The page as text, or ``ParseError`` for what is no HTML page at all."""
    if content_type and not _html_type(content_type):
        raise NotAnArticle(f"not a web page (Content-Type {content_type})", where=where)
    if isinstance(html, bytes):
        if len(html) > MAX_INPUT_BYTES:
            raise ParseError(f"input larger than {MAX_INPUT_BYTES} bytes", where=where)
        if not html.strip():
            raise ParseError("empty input", where=where)
        if b"\x00" in html[:8192]:
            raise ParseError("not HTML (binary data)", where=where)
        html, _ = decode_html(html, content_type)
    _check_text(html, where)
    return html


def _article(
    source: Source,
    native: str,
    extracted: Extracted,
    parser_name: str,
    page_url: str | None,
    fetched_at: str | None,
) -> Article:
    """The record of what the parser (or the fallback) found."""
    canonical_url = source.canonical_url(extracted.canonical_url or "") or source.canonical_url(
        page_url or ""
    )
    title = extracted.title
    return Article(
        id=source.article_id(native),
        source=source.name,
        url=canonical_url or (page_url or ""),
        title=title,
        subtitle=extracted.subtitle or None,
        authors=extracted.authors,
        published_at=extracted.published_at,
        updated_at=extracted.updated_at,
        section=extracted.section,
        tags=extracted.tags,
        language="en",
        body=extracted.body,
        editor_note=extracted.editor_note,
        images=extracted.images,
        fetched_at=fetched_at,
        content_hash=content_hash(title, extracted.body),
        parser=parser_name,
        update_tag=extracted.update_tag or clean.update_tag(title),
    )


def _native_id(source: Source, canonical: str | None, url: str | None) -> str | None:
    for candidate in (canonical, url):
        if candidate and (native := source.native_id(candidate)):
            return native
    return None


def _run_parsers(source: Source, page: Page) -> tuple[Extracted | None, str]:
    for parser in source.parsers:
        if not parser.recognises(page):
            continue
        extracted = parser.parse(page)
        if extracted.title and len(extracted.body) >= MIN_BODY_CHARS:
            return extracted, parser.name
        log.info("%s recognised the page but found no title/body; trying the fallback", parser.name)
        break
    return None, ""


def _meta_published(page: Page) -> str | None:
    return dates.parse_iso(page.meta.get("article:published_time"))
