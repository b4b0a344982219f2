"""One article, end to end: fetch → WARC → extract → store.

The CLI and the crawler both call this."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from scraper import frontier
from scraper.check import remove_dead_temp_files
from scraper.config import Config
from scraper.errors import ParseError, ScraperError
from scraper.extract import extract
from scraper.fetch import Fetcher
from scraper.models import Article, FetchedPage
from scraper.revisit import Earlier, earlier_response
from scraper.store import Archive, SaveResult
from scraper.urls import Target, allowed_hosts
from scraper.warc import WarcRef, WarcStore
from scraper.warcrecord import METADATA_URN, Encoded, Original, encode_exchange, payload_digest

log = logging.getLogger(__name__)


_SWEPT: set[Path] = set()  # archives whose dead writers' temp files this process removed


@dataclass
class Context:
    """The open resources of one run: config, HTTP client, archive and WARC writer."""

    config: Config
    fetcher: Fetcher
    archive: Archive
    warcs: WarcStore

    @classmethod
    def open(cls, config: Config, fetcher: Fetcher | None = None) -> Context:
        root = Path(config.archive.path)
        archive = Archive(root)
        if root not in _SWEPT:  # once per process: only a dead process leaves temp files
            remove_dead_temp_files(root)
            _SWEPT.add(root)
        return cls(
            config=config,
            fetcher=fetcher or Fetcher(config.http),
            archive=archive,
            warcs=WarcStore(root, max_bytes=config.archive.warc_max_bytes),
        )

    def close(self) -> None:
        self.warcs.close()
        self.archive.close()
        self.fetcher.close()

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def archive_article(
    ctx: Context, target: Target, headers: dict[str, str] | None = None
) -> SaveResult:
    """Fetch one article URL, keep the raw capture, extract and store it.

    The raw response is written to the WARC even when extraction fails, so a later parser can
    recover it (``scraper reparse``); the URL is then marked failed with the reason.
    """
    source = target.source.name
    try:
        page = ctx.fetcher.get(
            target.fetch_url,
            allowed_hosts=allowed_hosts(target.source, target.settings),
            source=source,
            headers=headers,
            ok_statuses=frozenset({200}),
        )
    except ScraperError as exc:
        if not isinstance(exc, frontier.NOT_THE_URLS_FAULT):
            status = getattr(exc, "status", None)
            state = frontier.failure_state(exc)  # a 404 is gone, a PDF rejected: as in a crawl
            ctx.archive.mark_url(
                target.canonical_url, source, state=state, http_status=status, error=str(exc)
            )
        raise
    return archive_page(ctx, target, page)


def extract_page(target: Target, page: FetchedPage) -> Article:
    """The article in a fetched page (pure: no I/O, safe on any thread)."""
    return extract(
        page.body,
        target.canonical_url,
        source=target.source,
        fetched_at=page.fetched_at,
        content_type=page.header("content-type"),
        where=target.canonical_url,
    )


def encode_capture(
    target: Target,
    page: FetchedPage,
    article: Article | None = None,
    revisit_of: Original | None = None,
) -> Encoded:
    """The WARC records of a fetched article page (pure: safe on any thread). The metadata
    names the article as stored (after a redirect the page's own id, not the one the
    requested URL suggested), or the requested one when extraction failed."""
    meta = {
        "canonical_url": article.url if article else target.canonical_url,
        "article_id": article.id if article else target.article_id,
        "requested_url": page.url,
    }
    return encode_exchange(page, meta, revisit_of=revisit_of)


def archive_page(
    ctx: Context,
    target: Target,
    page: FetchedPage,
    article: Article | None = None,
    encoded: Encoded | None = None,
) -> SaveResult:
    """The steps after the fetch: extract, WARC, store. Extraction comes first so the WARC
    metadata names the article as stored; the raw response is written even when it fails.
    An unchanged payload is written as a revisit record (``scraper.revisit``). The crawler
    fetches, extracts and encodes ahead on another thread, passing ``article`` and
    ``encoded``, so the network, the CPU work and the disk waits overlap; without them both are
    done here. ``scraper recheck`` calls it after a conditional GET that brought a new page."""
    source = target.source.name
    if article is None:
        try:
            article = extract_page(target, page)
        except ParseError as exc:
            _append_capture(ctx, target, page, None, encoded)  # kept for a later parser
            ctx.archive.mark_url(
                target.canonical_url,
                source,
                state=frontier.failure_state(exc),
                http_status=page.status,
                error=str(exc),
            )
            raise
    ref, earlier = _append_capture(ctx, target, page, article, encoded)
    result = ctx.archive.save(
        article,
        ref,
        url=target.canonical_url,
        status=page.status,
        etag=page.header("etag"),
        last_modified=page.header("last-modified"),
        payload=earlier.ref if earlier else None,
    )
    log.info("%s %s %s", result.status, article.id, article.title)
    return result


def _append_capture(
    ctx: Context,
    target: Target,
    page: FetchedPage,
    article: Article | None,
    encoded: Encoded | None,
) -> tuple[WarcRef, Earlier | None]:
    """Append the exchange: as encoded ahead when that still fits, else encoded again (a
    revisit of an earlier identical response, or metadata naming the stored article)."""
    earlier = earlier_response(ctx.archive.db, page.final_url, payload_digest(page.raw_body))
    if (
        earlier is not None
        or encoded is None
        or (article is not None and not encoded_names(encoded, article.id))
    ):
        encoded = encode_capture(target, page, article, earlier.original if earlier else None)
    return ctx.warcs.append(target.source.name, page, encoded=encoded), earlier


def encoded_names(encoded: Encoded, article_id: str) -> bool:
    """Whether an exchange encoded ahead (by the prefetch thread) has its metadata record
    naming ``article_id``."""
    return f"{METADATA_URN}{article_id}".encode() in encoded.data[encoded.offset :]
