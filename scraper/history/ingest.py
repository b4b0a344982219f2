"""One historical capture into the archive, for ``import`` and ``backfill`` alike.

Order, as for a live fetch (scraper/store.py): copy the records into our WARC store → extract
→ ``Archive.save`` (the capture's ``WARC-Date`` is ``fetched_at``) → remember the payload in
``history_payloads``. A crash between steps leaves at most extra WARC bytes: a rerun finds the
record id in ``captures`` or ``history_payloads`` and does not store it twice.

Dedupe: a payload (the decoded body, sha256) already stored for the same canonical URL is not
copied again. A ``revisit`` record is resolved against its original (by ``WARC-Refers-To``, or
by ``WARC-Payload-Digest`` and URL) among the captures imported so far.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from scraper import crashpoints
from scraper import sources as registry
from scraper.config import Config
from scraper.errors import ParseError, StoreError
from scraper.extract import extract
from scraper.history.reader import HttpPart
from scraper.history.workers import Extracted, payload_digest
from scraper.store import Archive
from scraper.urls import Target, target_for
from scraper.warc import WarcStore
from scraper.warcread import read_response

log = logging.getLogger(__name__)


def fetched_at(warc_date: str) -> str:
    """``2019-05-01T03:04:05Z`` (any precision, any offset) → ISO 8601 in UTC, to the second."""
    try:
        value = datetime.fromisoformat(warc_date.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ParseError(f"bad WARC-Date {warc_date!r}") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


class Matcher:
    """Which capture URLs are articles of an enabled source: any URL form, http or https, any
    of the source's hosts (``m.`` hosts included)."""

    def __init__(self, config: Config) -> None:
        self._by_host = {}
        for source in registry.SOURCES:
            settings = config.sources.get(source.name)
            if settings is None or not settings.enabled:
                continue
            for host in source.hosts:
                self._by_host[host] = (source, settings)

    def target(self, uri: str) -> Target | None:
        parts = urlsplit(uri)
        if parts.scheme not in ("http", "https"):
            return None
        found = self._by_host.get((parts.hostname or "").lower().rstrip("."))
        if found is None:
            return None
        return target_for(found[0], found[1], uri)


@dataclass(frozen=True)
class Capture:
    """A historical capture to store: the article, its HTTP response, the records to copy
    (raw WARC bytes, the response's among them at ``response_index``) and their ids."""

    target: Target
    date: str  # WARC-Date / capture time, as given
    record_id: str  # of the response (or revisit) record
    http: HttpPart | None  # None for a revisit (the payload is the original's)
    records: tuple[bytes, ...]
    response_index: int
    warc_digest: str | None = None  # WARC-Payload-Digest as the record states it
    refers_to: str | None = None  # a revisit's WARC-Refers-To


def already_stored(archive: Archive, record_id: str) -> bool:
    """Whether a capture with this WARC-Record-ID was stored before (re-import, a resumed
    backfill, or a run killed after its save)."""
    row = archive.db.execute(
        "SELECT EXISTS (SELECT 1 FROM history_payloads WHERE record_id = ?) "
        "OR EXISTS (SELECT 1 FROM captures WHERE record_id = ?)",
        (record_id, record_id),
    ).fetchone()
    return bool(row[0])  # one statement: asked twice per article record


def store_capture(
    archive: Archive, warcs: WarcStore, capture: Capture, extracted: Extracted | None = None
) -> str:
    """Store one capture; returns new / revised / unchanged / duplicate / unresolved-revisit.
    Raises ``ParseError`` when the page yields no article (its records are kept).
    ``extracted`` is this capture's extraction done ahead in a worker (scraper/history/
    workers.py); the outcome and what is stored are the same as without it."""
    target = capture.target
    when = fetched_at(capture.date)
    if capture.http is None:
        original = _original(archive, capture)
        if original is None:
            return "unresolved-revisit"
        stored = read_response(archive.root, original[0], original[1])
        body, content_type = stored.body, stored.headers.get("Content-Type")
        digest = original[2]
    else:
        body, content_type = capture.http.body, capture.http.header("content-type")
        digest = extracted.digest if extracted else payload_digest(body)
        # the same bytes captured earlier than the stored copy are not a duplicate: they move
        # the revision's first capture back (docs/archive-format.md, "Revisions")
        if archive.db.execute(
            "SELECT 1 FROM history_payloads WHERE url = ? AND digest = ? AND fetched_at <= ?",
            (target.canonical_url, digest, when),
        ).fetchone():
            return "duplicate"
    packed: list[bytes | None] = [None] * len(capture.records)
    if extracted is not None:  # the response's copy was gzipped in the worker
        packed[capture.response_index] = extracted.member
    refs = warcs.append_records(target.source.name, list(capture.records), packed)
    ref = refs[capture.response_index]
    try:
        if extracted is not None and extracted.error is not None:
            raise extracted.error  # as the in-process extract would have raised it
        if extracted is not None and extracted.article is not None:
            article = extracted.article
        else:
            article = extract(
                body,
                target.canonical_url,
                source=target.source,
                fetched_at=when,
                content_type=content_type,
                where=target.canonical_url,
            )
    except ParseError:
        archive.mark_url(target.canonical_url, target.source.name, state="failed", http_status=200)
        raise
    result = archive.save(article, ref, url=target.canonical_url, status=200)
    crashpoints.crash_if("history-saved")  # the kill -9 tests: saved, payload not recorded
    if capture.http is not None:
        try:
            with archive.db:  # one short transaction (the connection is in autocommit mode)
                archive.db.execute("BEGIN IMMEDIATE")
                archive.db.execute(
                    "INSERT OR IGNORE INTO history_payloads (url, digest, warc_digest, "
                    "article_id, record_id, fetched_at, warc_file, warc_offset) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        target.canonical_url,
                        digest,
                        capture.warc_digest,
                        article.id,
                        capture.record_id,
                        when,
                        ref.file,
                        ref.offset,
                    ),
                )
        except sqlite3.Error as exc:
            raise StoreError(
                f"cannot record the payload: {exc}", where=target.canonical_url
            ) from exc
    log.info("%s %s %s (captured %s)", result.status, article.id, article.title, when)
    return result.status


def _original(archive: Archive, capture: Capture) -> tuple[str, int, str] | None:
    """Where the original of a revisit was copied to: (warc file, offset, payload digest)."""
    db = archive.db
    row = None
    if capture.refers_to:
        row = db.execute(
            "SELECT warc_file, warc_offset, digest FROM history_payloads WHERE record_id = ?",
            (capture.refers_to,),
        ).fetchone()
    if row is None and capture.warc_digest:
        row = db.execute(
            "SELECT warc_file, warc_offset, digest FROM history_payloads "
            "WHERE warc_digest = ? AND url = ?",
            (capture.warc_digest, capture.target.canonical_url),
        ).fetchone()
    return (row[0], row[1], row[2]) if row else None
