"""One article, end to end: fetch → WARC → extract → store.

The CLI and the crawler both call this."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from scraper.config import Config
from scraper.errors import ParseError, ScraperError
from scraper.extract import extract
from scraper.fetch import Fetcher
from scraper.models import Article, FetchedPage
from scraper.store import Archive, SaveResult
from scraper.urls import Target, allowed_hosts
from scraper.warc import Encoded, WarcStore, encode_exchange

log = logging.getLogger(__name__)


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
        status = getattr(exc, "status", None)
        ctx.archive.mark_url(
            target.canonical_url, source, state="failed", http_status=status, error=str(exc)
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


def encode_capture(target: Target, page: FetchedPage) -> Encoded:
    """The WARC records of a fetched article page (pure: safe on any thread)."""
    return encode_exchange(
        page, {"canonical_url": target.canonical_url, "article_id": target.article_id}
    )


def archive_page(
    ctx: Context,
    target: Target,
    page: FetchedPage,
    article: Article | None = None,
    encoded: Encoded | None = None,
) -> SaveResult:
    """The steps after the fetch: WARC, extract, store. The crawler fetches, extracts and
    encodes ahead on another thread, passing ``article`` and ``encoded``, so the network, the
    CPU work and the disk waits overlap; without them both are done here. ``scraper recheck``
    calls it after a conditional GET that brought a new page."""
    source = target.source.name
    ref = ctx.warcs.append(source, page, encoded=encoded or encode_capture(target, page))
    try:
        if article is None:
            article = extract_page(target, page)
    except ParseError as exc:
        ctx.archive.mark_url(
            target.canonical_url, source, state="failed", http_status=page.status, error=str(exc)
        )
        raise
    result = ctx.archive.save(
        article,
        ref,
        url=target.canonical_url,
        status=page.status,
        etag=page.header("etag"),
        last_modified=page.header("last-modified"),
    )
    log.info("%s %s %s", result.status, article.id, article.title)
    return result
