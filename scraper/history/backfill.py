"""``scraper backfill --via wayback``: a source's history from a Wayback-style archive.

Two phases, both resumable from ``index.sqlite``:
  1. list: for each of the source's ``archive_prefixes`` a CDX query over the capture window
     (scraper/history/cdx.py), page by page. Each page's rows go into ``backfill_captures``
     (one row per canonical article URL and content digest: the same page captured twice
     with the same digest is fetched once) together with the page's resume key in
     ``backfill_jobs``, in one transaction. A prefix whose last page came is ``listed``.
  2. fetch: every capture still ``todo`` in the window, oldest first: the raw bytes from
     ``replay_url`` (the ``id_`` form), stored by ``ingest.store_capture`` as one WARC
     response record (WARC-Date = capture time, WARC-Source-URI = the replay URL) whose
     record id is derived from the replay URL, so a capture stored just before a kill -9 is
     recognised on the next run without being downloaded again.

Every request goes through ``polite.Polite`` for the archive's origin (robots.txt, one request
in flight, ``backfill.min_delay`` apart, Retry-After and 429 honoured) with ``http.user_agent``.
"""

from __future__ import annotations

import io
import logging
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from scraper import crashpoints
from scraper.config import Config
from scraper.errors import FetchError, HttpStatusError, ParseError, StoreError
from scraper.fetch import Fetcher
from scraper.filters import Window
from scraper.history import cdx
from scraper.history.ingest import Capture, Matcher, already_stored, store_capture
from scraper.history.reader import HttpPart
from scraper.models import FetchedPage
from scraper.polite import Polite
from scraper.sources import by_name
from scraper.store import Archive
from scraper.warc import WarcStore

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int], None]


@dataclass
class Summary:
    source: str
    dry_run: bool = False
    requests: int = 0
    listed: int = 0  # CDX rows read
    captures: int = 0  # distinct (URL, digest) captures in the window, all states
    todo: int = 0  # of which not fetched yet (before this run's fetches)
    new_articles: int = 0  # URLs among the todo captures with no article yet
    fetched: int = 0
    new: int = 0
    revised: int = 0
    unchanged: int = 0
    failed: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    eta_seconds: float = 0.0
    stopped: str | None = None  # why the run stopped early (--max-requests)

    def line(self) -> str:
        if self.dry_run:
            return (
                f"{self.source}: dry run: {self.captures} captures listed, {self.todo} to fetch "
                f"({self.new_articles} new articles), about {_duration(self.eta_seconds)} at "
                f"the configured rate; {self.requests} requests made"
            )
        skipped = ", ".join(f"{k} {v}" for k, v in sorted(self.skipped.items())) or "none"
        line = (
            f"{self.source}: backfill: {self.captures} captures listed, fetched {self.fetched}, "
            f"new {self.new}, revised {self.revised}, unchanged {self.unchanged}, failed "
            f"{self.failed}; skipped: {skipped}; {self.requests} requests"
        )
        return line + (f" (stopped: {self.stopped})" if self.stopped else "")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def stamp14(window: Window) -> tuple[str, str]:
    """The window as CDX ``from``/``to`` (14 digits, UTC, both inclusive)."""
    assert window.since is not None and window.until is not None  # both are required options
    last = window.until - timedelta(seconds=1)
    return (
        window.since.astimezone(UTC).strftime("%Y%m%d%H%M%S"),
        last.astimezone(UTC).strftime("%Y%m%d%H%M%S"),
    )


def capture_date(timestamp: str) -> str:
    t = timestamp[:14]
    return f"{t[:4]}-{t[4:6]}-{t[6:8]}T{t[8:10]}:{t[10:12]}:{t[12:14]}Z"


class _Budget(Exception):
    """--max-requests reached (a control-flow signal inside ``run``)."""


class Backfill:
    def __init__(
        self,
        config: Config,
        archive: Archive,
        warcs: WarcStore,
        fetcher: Fetcher,
        source: str,
        window: Window,
        *,
        max_requests: int | None = None,
        dry_run: bool = False,
    ) -> None:
        self.config = config
        self.archive = archive
        self.warcs = warcs
        self.fetcher = fetcher
        self.source = by_name(source)
        self.window = window
        self.since, self.until = stamp14(window)
        self.max_requests = max_requests
        self.matcher = Matcher(config)
        self.summary = Summary(source=source, dry_run=dry_run)
        host = (urlsplit(config.backfill.cdx_url).hostname or "").lower()
        replay = config.backfill.replay_url.replace("{timestamp}", "0").replace("{url}", "u")
        self.hosts = frozenset({host, (urlsplit(replay).hostname or "").lower()})
        self.gate = Polite(fetcher, archive, min_delay=config.backfill.min_delay, source=None)

    def _get(self, url: str) -> FetchedPage:
        if self.max_requests is not None and self.summary.requests >= self.max_requests:
            raise _Budget
        self.summary.requests += 1
        with self.gate.attached():
            return self.fetcher.get(url, allowed_hosts=self.hosts, ok_statuses=frozenset({200}))

    # -- phase 1 --------------------------------------------------------------------------------
    def list_all(self) -> None:
        for prefix in self.source.archive_prefixes:
            self._list(prefix)

    def _job_key(self, prefix: str) -> tuple[str, str, str, str, str]:
        return (self.source.name, "wayback", self.since, self.until, prefix)

    def _list(self, prefix: str) -> None:
        db = self.archive.db
        key = self._job_key(prefix)
        db.execute(
            "INSERT OR IGNORE INTO backfill_jobs (source, via, since, until, pattern) "
            "VALUES (?, ?, ?, ?, ?)",
            key,
        )
        while True:
            row = db.execute(
                "SELECT resume_key, listed FROM backfill_jobs WHERE source = ? AND via = ? "
                "AND since = ? AND until = ? AND pattern = ?",
                key,
            ).fetchone()
            if row["listed"]:
                return
            url = cdx.query_url(
                self.config.backfill.cdx_url,
                prefix,
                self.since,
                self.until,
                limit=self.config.backfill.page_size,
                resume_key=row["resume_key"],
            )
            page = self._get(url)
            answer = cdx.parse(page.text, url)
            self.summary.listed += len(answer.rows)
            self._remember(key, answer)

    def _remember(self, key: tuple[str, ...], answer: cdx.CdxPage) -> None:
        db = self.archive.db
        try:
            db.execute("BEGIN IMMEDIATE")
            for row in answer.rows:
                target = self.matcher.target(row.original)
                if target is None or target.source.name != self.source.name:
                    continue
                if row.status != "200" or "html" not in row.mime.lower():
                    continue
                db.execute(
                    "INSERT OR IGNORE INTO backfill_captures (source, url, digest, timestamp, "
                    "original) VALUES (?, ?, ?, ?, ?)",
                    (
                        self.source.name,
                        target.canonical_url,
                        row.digest,
                        row.timestamp,
                        row.original,
                    ),
                )
            db.execute(
                "UPDATE backfill_jobs SET resume_key = ?, pages = pages + 1, listed = ? "
                "WHERE source = ? AND via = ? AND since = ? AND until = ? AND pattern = ?",
                (answer.resume_key, int(answer.resume_key is None), *key),
            )
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            db.execute("ROLLBACK")
            raise StoreError(f"cannot save the backfill listing: {exc}") from exc

    # -- phase 2 --------------------------------------------------------------------------------
    def _todo(self) -> list[sqlite3.Row]:
        return self.archive.db.execute(
            "SELECT url, digest, timestamp, original FROM backfill_captures WHERE source = ? "
            "AND state IN ('todo', 'failed') AND timestamp >= ? AND timestamp <= ? "
            "ORDER BY timestamp, url",
            (self.source.name, self.since, self.until + "99"),
        ).fetchall()

    def count(self) -> list[sqlite3.Row]:
        db = self.archive.db
        self.summary.captures = db.execute(
            "SELECT count(*) FROM backfill_captures WHERE source = ? AND timestamp >= ? "
            "AND timestamp <= ?",
            (self.source.name, self.since, self.until + "99"),
        ).fetchone()[0]
        todo = self._todo()
        self.summary.todo = len(todo)
        urls = {r["url"] for r in todo}
        known = 0
        for url in urls:
            found = self.matcher.target(url)
            if (
                found
                and db.execute(
                    "SELECT 1 FROM articles WHERE id = ?", (found.article_id,)
                ).fetchone()
            ):
                known += 1
        self.summary.new_articles = len(urls) - known
        self.summary.eta_seconds = len(todo) * self.config.backfill.min_delay
        return todo

    def fetch_all(self, todo: list[sqlite3.Row], progress: ProgressFn | None = None) -> None:
        for i, row in enumerate(todo):
            self._fetch(row)
            if progress:
                progress(i + 1, len(todo))

    def _mark(self, row: sqlite3.Row, state: str, error: str | None = None) -> None:
        self.archive.db.execute(
            "UPDATE backfill_captures SET state = ?, error = ? WHERE source = ? AND url = ? "
            "AND digest = ?",
            (state, error, self.source.name, row["url"], row["digest"]),
        )

    def _fetch(self, row: sqlite3.Row) -> None:
        replay = self.config.backfill.replay_url.format(
            timestamp=row["timestamp"], url=row["original"]
        )
        record_id = f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, replay)}>"
        if already_stored(self.archive, record_id):  # stored just before a kill: not again
            self._mark(row, "done")
            self._skip("already-stored")
            return
        target = self.matcher.target(row["original"])
        if target is None:
            self._mark(row, "skipped", "not an article URL")
            return
        try:
            page = self._get(replay)
        except FetchError as exc:
            # a capture the archive no longer serves is not asked for again; other failures
            # (timeouts, 5xx, robots) are tried again by the next run
            gone = isinstance(exc, HttpStatusError) and exc.status in (403, 404, 410)
            self.summary.failed += 1
            self._mark(row, "gone" if gone else "failed", str(exc))
            log.warning("capture %s failed: %s", replay, exc)
            return
        self.summary.fetched += 1
        capture = Capture(
            target=target,
            date=capture_date(row["timestamp"]),
            record_id=record_id,
            http=HttpPart(status=page.status, headers=page.response_headers, body=page.body),
            records=(
                _response_record(
                    page, row["original"], capture_date(row["timestamp"]), record_id, replay
                ),
            ),
            response_index=0,
        )
        try:
            outcome = store_capture(self.archive, self.warcs, capture)
        except ParseError as exc:
            self.summary.failed += 1
            self._mark(row, "rejected", str(exc))  # not an article: not fetched again
            return
        crashpoints.crash_if("backfill")
        self._mark(row, "done")
        if outcome in ("new", "revised", "unchanged"):
            setattr(self.summary, outcome, getattr(self.summary, outcome) + 1)
        else:
            self._skip(outcome)

    def _skip(self, reason: str) -> None:
        self.summary.skipped[reason] = self.summary.skipped.get(reason, 0) + 1


_DROP = frozenset({"transfer-encoding"})  # the body we keep is de-chunked


def _response_record(
    page: FetchedPage, original: str, date: str, record_id: str, replay: str
) -> bytes:
    """The capture as one WARC response record under its original URL and capture time."""
    headers = [
        (f"X-Archive-Orig-{k}" if k.lower() in _DROP else k, v) for k, v in page.response_headers
    ]
    http = StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=False, warc_version="WARC/1.1")
    record = writer.create_warc_record(
        original,
        "response",
        payload=io.BytesIO(page.raw_body),
        length=len(page.raw_body),
        http_headers=http,
        warc_headers_dict={
            "WARC-Date": date,
            "WARC-Record-ID": record_id,
            "WARC-Source-URI": replay,
        },
    )
    writer.write_record(record)
    return out.getvalue()


def run(
    config: Config,
    source: str,
    window: Window,
    *,
    dry_run: bool = False,
    max_requests: int | None = None,
    progress: ProgressFn | None = None,
    fetcher: Fetcher | None = None,
) -> Summary:
    """One ``scraper backfill --via wayback`` run."""
    own = fetcher is None
    fetcher = fetcher or Fetcher(config.http)
    root = config.archive.path
    started = time.monotonic()
    with Archive(root) as archive:
        warcs = WarcStore(root, max_bytes=config.archive.warc_max_bytes)
        job = Backfill(
            config,
            archive,
            warcs,
            fetcher,
            source,
            window,
            max_requests=max_requests,
            dry_run=dry_run,
        )
        try:
            job.list_all()
            todo = job.count()
            if not dry_run:
                job.fetch_all(todo, progress)
        except _Budget:
            job.summary.stopped = f"--max-requests {max_requests} reached"
            if dry_run:
                job.count()
        finally:
            warcs.close()
            if own:
                fetcher.close()
    log.info("backfill of %s took %.1f s", source, time.monotonic() - started)
    return job.summary
