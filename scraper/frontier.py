"""The frontier: every URL the crawler has seen, in the ``urls`` table of ``index.sqlite``.

States of an article URL (``kind = 'article'``):

    new ──► done        archived (``Archive.save`` sets it, in the article's own transaction)
     │  ──► failed      anything that may pass (timeout, 5xx, 429, 403, an empty or broken
     │                  page, a redirect loop …): tried again in later runs, each time after a
     │                  longer wait (``RETRY_DELAYS``); after ``MAX_ATTEMPTS`` failed runs
     │                  ──► abandoned (listed by ``scraper failures``; ``scraper retry`` or
     │                  ``scraper fetch`` puts it back)
     │  ──► gone        404 or 410: recorded once, never asked for again
     │  ──► rejected    positively not an article (``NotAnArticle``: a PDF, an image, a URL of
     │                  no article form): recorded once, not retried
     └─► robots         disallowed by robots.txt at the last check; checked again every run
                        (robots.txt is cached, so that costs no request)

Not the URL's fault, so no attempt is counted and the URL stays ``new``: a stop, a host backed
off for the run, a host whose robots.txt could not be read (``HostUnreachable``).

A run's work list is what discovery found plus every URL still ``new``, ``failed`` (once its
wait is over) or ``robots`` from earlier runs, so an interrupted run resumes where it stopped
even when the feeds have moved on. Discovered URLs are recorded *before* their feed's ETag, so
a crash between the two never hides them behind a 304.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterable
from datetime import datetime, timedelta

from scraper.dates import now_iso
from scraper.errors import (
    Cancelled,
    HostBackedOff,
    HostUnreachable,
    HttpStatusError,
    NotAnArticle,
    ScraperError,
)
from scraper.store import Archive

log = logging.getLogger(__name__)

# Seconds to wait after the n-th failed attempt before the next one (the first retry comes
# with the next run): about two days from the first failure to ``abandoned``.
RETRY_DELAYS = (0, 3600, 4 * 3600, 12 * 3600, 24 * 3600)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1  # failed attempts (in distinct runs) before abandoning
# errors that say nothing about the URL itself: it stays ``new``, no attempt counted
NOT_THE_URLS_FAULT = (Cancelled, HostBackedOff, HostUnreachable)
PENDING_STATES = ("new", "failed", "robots")
SETTLED_STATES = ("done", "gone", "rejected", "abandoned")
_GONE_STATUSES = frozenset({404, 410})


def record_seen(archive: Archive, source: str, urls: Iterable[str]) -> int:
    """Add newly discovered article URLs as ``new``; returns how many were not known before."""
    now = now_iso()
    rows = [(url, source, now) for url in urls]
    if not rows:
        return 0
    db = archive.db
    before = db.total_changes
    db.execute("BEGIN IMMEDIATE")
    try:
        db.executemany(
            "INSERT INTO urls (url, source, kind, state, first_seen) "
            "VALUES (?, ?, 'article', 'new', ?) ON CONFLICT(url) DO NOTHING",
            rows,
        )
        db.execute("COMMIT")
    except BaseException:
        # after a full disk SQLite has rolled back already; ROLLBACK would then fail and
        # hide the real error ("cannot rollback - no transaction is active")
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
    return db.total_changes - before


def states(archive: Archive, urls: Iterable[str]) -> dict[str, str]:
    """The recorded state of each URL that has one."""
    found: dict[str, str] = {}
    batch: list[str] = []
    for url in urls:
        batch.append(url)
        if len(batch) == 500:  # under SQLite's bound-parameter limit
            found.update(_states(archive, batch))
            batch = []
    if batch:
        found.update(_states(archive, batch))
    return found


def _states(archive: Archive, urls: list[str]) -> dict[str, str]:
    marks = ",".join("?" * len(urls))
    rows = archive.db.execute(f"SELECT url, state FROM urls WHERE url IN ({marks})", urls)
    return {row["url"]: row["state"] for row in rows}


def next_retry(attempts: int, last_checked: str | None) -> str | None:
    """When a ``failed`` URL with ``attempts`` failed attempts, last at ``last_checked``, is
    due again (ISO 8601, UTC); ``None`` when due at the next run."""
    delay = RETRY_DELAYS[min(max(attempts, 1), len(RETRY_DELAYS)) - 1]
    if not delay or not last_checked:
        return None
    when = datetime.fromisoformat(last_checked) + timedelta(seconds=delay)
    return when.isoformat(timespec="seconds")


def waiting(archive: Archive, source: str) -> set[str]:
    """``failed`` article URLs of ``source`` whose next retry is still in the future."""
    now = now_iso()
    rows = archive.db.execute(
        "SELECT url, attempts, last_checked FROM urls "
        "WHERE source = ? AND kind = 'article' AND state = 'failed' AND attempts > 1",
        (source,),
    )
    return {
        row["url"]
        for row in rows
        if (due := next_retry(row["attempts"], row["last_checked"])) is not None and due > now
    }


def pending(archive: Archive, source: str) -> list[str]:
    """Article URLs of ``source`` left to do from earlier runs and due now, oldest first."""
    marks = ",".join("?" * len(PENDING_STATES))
    rows = archive.db.execute(
        f"SELECT url FROM urls WHERE source = ? AND kind = 'article' AND state IN ({marks}) "
        "ORDER BY first_seen, url",
        (source, *PENDING_STATES),
    )
    later = waiting(archive, source)
    return [row["url"] for row in rows if row["url"] not in later]


def failure_state(exc: ScraperError) -> str:
    """Where a URL goes after ``exc``: ``gone`` (404, 410), ``rejected`` (positively not an
    article) or ``failed`` (anything else: tried again in a later run)."""
    if isinstance(exc, HttpStatusError) and exc.status in _GONE_STATUSES:
        return "gone"
    if isinstance(exc, NotAnArticle):
        return "rejected"
    return "failed"


def record_failure(archive: Archive, url: str, source: str, exc: ScraperError) -> str:
    """Settle a URL after a failed attempt in a crawl; returns its new state."""
    state = failure_state(exc)
    row = archive.url_row(url)
    attempts = (row["attempts"] if row is not None else 0) + 1
    if state == "failed" and attempts >= MAX_ATTEMPTS:
        state = "abandoned"
        log.warning("giving up on %s after %d runs: %s", url, attempts, exc)
    status = exc.status if isinstance(exc, HttpStatusError) else None
    archive.mark_url(
        url, source, state=state, attempts=attempts, http_status=status, error=str(exc)
    )
    return state


def mark(archive: Archive, url: str, source: str, state: str) -> None:
    archive.mark_url(url, source, state=state)
