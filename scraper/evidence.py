"""Discovery evidence in the WARC: robots.txt, feeds, sitemaps and section pages are archived
like articles (request + response, or a revisit when the payload is unchanged), so the WARC
shows when an article was first listed and what the crawler was allowed to fetch.

A ``304 Not Modified`` answer to a conditional GET is not archived: it carries no payload,
and the earlier ``200`` of that URL, already in the WARC, is the evidence. Captures get a
``captures`` row with no ``article_id``."""

from __future__ import annotations

import logging

from scraper.errors import StoreError
from scraper.models import FetchedPage
from scraper.revisit import earlier_response
from scraper.store import Archive
from scraper.warc import WarcRef, WarcStore
from scraper.warcrecord import encode_exchange, payload_digest

log = logging.getLogger(__name__)


def capture_endpoint(
    archive: Archive, warcs: WarcStore, source: str, page: FetchedPage
) -> WarcRef | None:
    """Archive one non-article exchange (on the thread that owns ``archive``); a write error
    is logged, not raised: discovery goes on without its evidence rather than stopping."""
    if page.status == 304:
        return None
    try:
        earlier = earlier_response(archive.db, page.final_url, payload_digest(page.raw_body))
        encoded = encode_exchange(page, revisit_of=earlier.original if earlier else None)
        ref = warcs.append(source, page, encoded=encoded)
        archive.add_capture(None, ref.uri, page.status, page.fetched_at, ref)
    except StoreError as exc:
        log.warning("could not archive %s: %s", page.final_url, exc)
        return None
    return ref
