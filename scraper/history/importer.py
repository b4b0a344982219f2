"""``scraper import``: WARC files made by other tools → articles and revisions.

Each response record whose target URI is an article URL of an enabled source is extracted and
stored as ``ingest.store_capture`` does (with the request record next to it, if any); a
``revisit`` is resolved against its original. Everything else is scanned and passed over, and
article records that cannot be used are counted by reason (``Summary.skipped``).

Resuming: ``import_files`` holds, per input (a file, or a WACZ entry), the offset where the
next unread record starts, written after every stored capture and every ``CURSOR_EVERY``
records; a file read to its end is marked done and not read again while its size is the same.
After a kill -9 the next run starts at the cursor; records between the cursor and the kill
are read again and recognised by their WARC-Record-ID (``ingest.already_stored``).
"""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from scraper import crashpoints
from scraper.config import Config
from scraper.dates import now_iso
from scraper.errors import ParseError, ScraperError, StoreError, UsageError
from scraper.history import reader, workers
from scraper.history.ingest import Capture, Matcher, already_stored, fetched_at, store_capture
from scraper.history.reader import RawRecord, Truncated, WarcInput
from scraper.store import Archive
from scraper.urls import Target
from scraper.warc import WarcStore

log = logging.getLogger(__name__)

CURSOR_EVERY = 2000  # records between cursor writes when nothing matches
ProgressFn = Callable[[int, int], None]  # (bytes done, bytes in all)


@dataclass
class Summary:
    files: int = 0
    scanned: int = 0
    matched: int = 0
    new: int = 0
    revised: int = 0
    unchanged: int = 0
    failed: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def line(self) -> str:
        skipped = ", ".join(f"{k} {v}" for k, v in sorted(self.skipped.items())) or "none"
        return (
            f"import: {self.files} files, scanned {self.scanned} records, matched {self.matched}, "
            f"new {self.new}, revised {self.revised}, unchanged {self.unchanged}, "
            f"failed {self.failed}; skipped: {skipped}"
        )


def _cursor(archive: Archive, source: WarcInput, size: int) -> int | None:
    """Where to start reading ``source``; ``None`` when it was read to its end already."""
    row = archive.db.execute(
        "SELECT size, next_offset, done FROM import_files WHERE path = ?", (source.key,)
    ).fetchone()
    if row is None or row["size"] != size:
        return 0  # new, or changed since: read it all (stored records are recognised)
    return None if row["done"] else int(row["next_offset"])


def _save_cursor(archive: Archive, source: WarcInput, size: int, offset: int, done: bool) -> None:
    try:
        archive.db.execute(
            "INSERT INTO import_files (path, size, next_offset, done, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET size = excluded.size, "
            "next_offset = excluded.next_offset, done = excluded.done, "
            "updated_at = excluded.updated_at",
            (source.key, size, offset, int(done), now_iso()),
        )
    except sqlite3.Error as exc:
        raise StoreError(f"cannot save the import cursor: {exc}", where=source.key) from exc


def _usable(http: reader.HttpPart | None) -> bool:
    """Whether a worker should extract this response (module level: workers import it)."""
    return _why_not(http) is None


def _why_not(http: reader.HttpPart | None) -> str | None:
    """The reason an article URL's response record is not used, or ``None`` to use it."""
    if http is None:
        return "not-http"
    if http.status != 200:
        return f"status-{http.status}"
    ctype = (http.header("content-type") or "text/html").lower()
    if "html" not in ctype:
        return "not-html"
    return None


class Importer:
    """One ``scraper import`` run over an open archive and WARC store."""

    def __init__(
        self, config: Config, archive: Archive, warcs: WarcStore, *, jobs: int = 1
    ) -> None:
        """``jobs`` > 1 extracts in that many worker processes (scraper/history/workers.py);
        1 extracts in this process. What is stored is the same either way."""
        self.archive = archive
        self.warcs = warcs
        self.matcher = Matcher(config)
        self.summary = Summary()
        self.jobs = jobs
        self._pool = workers.Pool(jobs, _usable) if jobs > 1 else None
        # responses copied lately whose request record may still come: record id → source
        self._copied: dict[str, str] = {}

    def run(self, paths: list[Path], progress: ProgressFn | None = None) -> Summary:
        for path in paths:
            if not path.exists():
                raise UsageError("no such file or directory", where=str(path))
        try:
            return self._run(paths, progress)
        finally:
            if self._pool is not None:
                self._pool.close()

    def _run(self, paths: list[Path], progress: ProgressFn | None) -> Summary:
        inputs = reader.expand(paths)
        sizes = [source.size() for source in inputs]
        total, done_before = sum(sizes), 0
        for source, size in zip(inputs, sizes, strict=True):
            self.summary.files += 1
            start = _cursor(self.archive, source, size)
            if start is not None:
                offset = done_before

                def tick(n: int, offset: int = offset) -> None:
                    if progress:
                        progress(offset + n, total)

                self._one(source, size, start, tick)
            done_before += size
            if progress:
                progress(done_before, total)
        return self.summary

    def _one(self, source: WarcInput, size: int, start: int, tick: Callable[[int], object]) -> None:
        log.info("importing %s from offset %d", source.uri, start)
        pending_request: RawRecord | None = None
        since_cursor = 0
        for record, extracted in self._records(source, start):
            if isinstance(record, Truncated):
                self.summary.skipped["truncated"] += 1
                log.warning("%s ends inside a record at offset %d", source.uri, record.offset)
                break
            self.summary.scanned += 1
            since_cursor += 1
            kind = record.warc_type
            if kind == "request":
                owner = self._copied.pop(record.headers.get("warc-concurrent-to", ""), None)
                if owner is not None:  # the request written after its response (warcio does)
                    self.warcs.append_records(owner, [reader.with_source(record, source.uri)])
                else:
                    pending_request = record
            elif kind in ("response", "revisit"):
                target = self.matcher.target(record.target_uri)
                if target is not None:
                    self.summary.matched += 1
                    self._article(source, target, record, pending_request, extracted)
                    _save_cursor(self.archive, source, size, record.next_offset, False)
                    since_cursor = 0
                    tick(record.next_offset)
                    crashpoints.crash_if("import")
                pending_request = None
            if since_cursor >= CURSOR_EVERY:
                _save_cursor(self.archive, source, size, record.next_offset, False)
                since_cursor = 0
                tick(record.next_offset)
        _save_cursor(self.archive, source, size, size, True)

    def _records(
        self, source: WarcInput, start: int
    ) -> Iterator[tuple[RawRecord | Truncated, Future[workers.Extracted] | None]]:
        """The records of ``source`` from ``start``, in order; with workers, each article
        response comes with its extraction, started ahead of its turn."""
        records = reader.read(source, start)
        if self._pool is None:
            return ((record, None) for record in records)
        return workers.ahead(
            records, lambda record: self._submit(source, record), workers.PER_WORKER * self.jobs
        )

    def _submit(self, source: WarcInput, record: RawRecord) -> Future[workers.Extracted] | None:
        """Start extracting an article response that is not stored yet (``_article`` checks
        again in turn: this is only to avoid needless work)."""
        if self._pool is None or record.warc_type != "response":
            return None
        target = self.matcher.target(record.target_uri)
        if target is None or already_stored(self.archive, record.record_id):
            return None
        try:
            when = fetched_at(record.date)
        except ParseError:
            return None  # store_capture reports it, in turn
        job = workers.Job(
            record.data,
            record.offset,
            source.uri,
            target.source.name,
            target.canonical_url,
            when,
        )
        return self._pool.submit(job)

    def _article(
        self,
        source: WarcInput,
        target: Target,
        record: RawRecord,
        request: RawRecord | None,
        ahead: Future[workers.Extracted] | None,
    ) -> None:
        if already_stored(self.archive, record.record_id):
            self.summary.skipped["already-imported"] += 1
            return
        http = None
        extracted = None
        if record.warc_type == "response":
            if ahead is not None:
                try:
                    extracted = ahead.result()
                except BrokenProcessPool as exc:  # a worker was killed (out of memory?)
                    raise ScraperError(
                        "an extraction worker died; run the import again to resume",
                        where=source.uri,
                    ) from exc
                http = extracted.http
            else:
                http = reader.http_part(record)
            if (reason := _why_not(http)) is not None:
                self.summary.skipped[reason] += 1
                return
        copies = []
        response_id = record.record_id
        if request is not None and (
            request.headers.get("warc-concurrent-to") == response_id
            or request.target_uri == record.target_uri
        ):
            copies.append(reader.with_source(request, source.uri))
        copies.append(reader.with_source(record, source.uri))
        capture = Capture(
            target=target,
            date=record.date,
            record_id=response_id,
            http=http,
            records=tuple(copies),
            response_index=len(copies) - 1,
            warc_digest=record.headers.get("warc-payload-digest"),
            refers_to=record.headers.get("warc-refers-to"),
        )
        try:
            outcome = store_capture(self.archive, self.warcs, capture, extracted)
        except ParseError as exc:
            self.summary.failed += 1
            log.warning("no article in %s: %s", record.target_uri, exc)
            return
        if outcome in ("new", "revised", "unchanged"):
            setattr(self.summary, outcome, getattr(self.summary, outcome) + 1)
            if len(copies) == 1:
                if len(self._copied) > 1000:
                    self._copied.clear()
                self._copied[response_id] = target.source.name
        else:
            self.summary.skipped[outcome] += 1
