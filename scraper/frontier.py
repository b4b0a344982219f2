"""The frontier: every URL the crawler has seen, in the ``urls`` table of ``index.sqlite``.

States of an article URL (``kind = 'article'``):

    new ──► done        archived (``Archive.save`` sets it, in the article's own transaction)
     │  ──► failed      a transient failure (timeout, 5xx, 429 …); tried again next run,
     │                  up to ``MAX_ATTEMPTS`` runs, then ``abandoned``
     │  ──► gone        404 or 410: recorded once, never asked for again
     │  ──► rejected    not an article (no extractable text, not HTML), too large, or a redirect
     │                  off the source's hosts: recorded once, not retried
     └─► robots         disallowed by robots.txt at the last check; checked again every run
                        (robots.txt is cached, so that costs no request)

A run's work list is what discovery found plus every URL still ``new``, ``failed`` or ``robots``
from earlier runs, so an interrupted run resumes where it stopped even when the feeds have
moved on. Discovered URLs are recorded *before* their feed's ETag, so a crash between the two
never hides them behind a 304.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterable

from scraper.dates import now_iso
from scraper.errors import FetchError, HttpStatusError, ParseError, ScraperError, TooLarge
from scraper.store import Archive

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # runs in which a transiently failing URL is tried before it is abandoned
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


def pending(archive: Archive, source: str) -> list[str]:
    """Article URLs of ``source`` left to do from earlier runs, oldest first."""
    marks = ",".join("?" * len(PENDING_STATES))
    rows = archive.db.execute(
        f"SELECT url FROM urls WHERE source = ? AND kind = 'article' AND state IN ({marks}) "
        "ORDER BY first_seen, url",
        (source, *PENDING_STATES),
    )
    return [row["url"] for row in rows]


def failure_state(exc: ScraperError) -> str:
    """Where a URL goes after ``exc``: ``gone``, ``rejected`` or ``failed`` (retry later)."""
    if isinstance(exc, HttpStatusError):
        if exc.status in _GONE_STATUSES:
            return "gone"
        return "failed" if exc.retryable else "rejected"
    if isinstance(exc, ParseError | TooLarge):
        return "rejected"
    if isinstance(exc, FetchError) and not exc.retryable:
        return "rejected"  # a redirect off-site, an unsupported encoding …
    return "failed"


def record_failure(archive: Archive, url: str, source: str, exc: ScraperError) -> str:
    """Settle a URL after a failed attempt; returns its new state."""
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
