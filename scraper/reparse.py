"""``scraper reparse``: re-extract every stored article from its raw capture with the current
parsers, offline. The capture is the one its current revision was extracted from (``revisions``
→ WARC file and offset), parsed with the original ``fetched_at``, so the same capture and the
same parsers always give the same record. A record whose output changes is rewritten in place
with the new ``parser`` and ``parsed_at`` stamp; its ``revision`` does not move (the article did
not change, our reading of it did)."""

from __future__ import annotations

import itertools
import json
import logging
import os
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scraper import filters
from scraper.dates import now_iso
from scraper.errors import ParseError, StoreError
from scraper.extract import extract
from scraper.models import Article
from scraper.store import Archive
from scraper.warcread import StoredResponse, read_response

log = logging.getLogger(__name__)

# below this many articles, starting worker processes costs more than it saves
POOL_MIN_JOBS = 200
# what reparse carries over from the stored record rather than from the page
_KEPT = ("revision", "story_id", "urls", "fetched_at")


@dataclass
class ReparseSummary:
    checked: int = 0
    changed: int = 0
    failed: int = 0
    no_capture: int = 0
    restored: int = 0  # missing article files rebuilt from their capture
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        restored = f", missing files rebuilt {self.restored}" if self.restored else ""
        return (
            f"reparsed {self.checked}: changed {self.changed}, failed {self.failed}, "
            f"without capture {self.no_capture}{restored}"
        )


def _capture(root: Path, warc_file: str, offset: int) -> StoredResponse:
    """The stored response; a damaged record is a one-line ``StoreError`` (warcio's own
    message quotes the raw bytes it could not read)."""
    from warcio.exceptions import ArchiveLoadFailed

    try:
        return read_response(root, warc_file, offset)
    except OSError as exc:
        raise StoreError(
            f"cannot read WARC file: {exc.strerror}", where=f"{warc_file}@{offset}"
        ) from exc
    except (ArchiveLoadFailed, zlib.error, EOFError, ValueError) as exc:
        raise StoreError(
            f"unreadable WARC record ({type(exc).__name__}; scraper check --repair sets "
            "damaged records aside)",
            where=f"{warc_file}@{offset}",
        ) from exc


def reparse_one(root: Path, stored: Article, warc_file: str, offset: int) -> Article | None:
    """The re-extracted record when it differs from ``stored``, else None."""
    response = _capture(root, warc_file, offset)
    # the source is read off the page and its URL, as for a first fetch, so a capture that is
    # not this article's page fails loudly instead of being forced through another parser
    fresh = extract(
        response.body,
        stored.url,
        fetched_at=stored.fetched_at,
        content_type=response.headers.get("Content-Type") or response.headers.get("content-type"),
        where=f"{warc_file}@{offset}",
    )
    if fresh.id != stored.id:
        raise ParseError(f"capture now extracts as {fresh.id}", where=stored.id)
    fresh = fresh.evolve(**{name: getattr(stored, name) for name in _KEPT})
    # field-by-field dataclass equality; the stamp of an earlier reparse does not count
    if fresh.evolve(parsed_at=stored.parsed_at) == stored:
        return None
    return fresh


@dataclass(frozen=True)
class _Job:
    article_id: str
    path: str
    warc_file: str
    offset: int
    record: str | None = None  # the latest revision's record, when the JSON file is missing


@dataclass(frozen=True)
class _Outcome:
    job: _Job
    fresh: dict[str, Any] | None = None  # the changed record, None when unchanged
    error: str | None = None
    restore: bool = False  # the JSON file was missing: write ``fresh`` back


def _work(root: str, job: _Job) -> _Outcome:
    """One article, in a worker process: read file and capture, extract, compare. A missing
    file is rebuilt from the capture (the revisions table gives what the page cannot: its
    revision, story and URLs)."""
    base = Path(root)
    try:
        if job.record is not None:
            stored = Article.from_dict(json.loads(job.record))
            rebuilt = reparse_one(base, stored, job.warc_file, job.offset) or stored
            return _Outcome(job, fresh=rebuilt.to_dict(), restore=True)
        stored = Article.from_dict(json.loads((base / job.path).read_text("utf-8")))
        fresh = reparse_one(base, stored, job.warc_file, job.offset)
    except (ParseError, StoreError, OSError, ValueError) as exc:
        return _Outcome(job, error=_one_line(str(exc)))
    except Exception as exc:  # a parser bug on one page must not stop the other articles
        return _Outcome(job, error=f"internal error: {type(exc).__name__}")
    return _Outcome(job, fresh=fresh.to_dict() if fresh is not None else None)


def _one_line(text: str) -> str:
    """An error message fit for one line of a terminal: no control characters, bounded."""
    first = text.splitlines()[0] if text else ""
    line = "".join(c if c.isprintable() else " " for c in first)
    return line if len(line) <= 300 else line[:297] + "..."


def _jobs(
    archive: Archive,
    summary: ReparseSummary,
    source: str | None,
    since: str | None,
    parser: str | None = None,
) -> list[_Job]:
    sql = (
        "SELECT a.id, a.path, r.warc_file, r.warc_offset, "
        "(SELECT c.warc_file || char(9) || c.warc_offset FROM captures c "
        " WHERE c.article_id = a.id AND coalesce(c.record_type, 'response') = 'response' "
        " ORDER BY c.id DESC LIMIT 1) AS latest "
        "FROM articles a LEFT JOIN revisions r ON r.article_id = a.id AND r.revision = a.revision "
        "WHERE 1=1"
    )
    conditions, args = filters.where(source=source, since=since, prefix="a.")
    sql += conditions
    if parser:
        # "fallback" selects every fallback/<source> record; "koreaherald/kh1" one parser
        sql += " AND (a.parser = ? OR substr(a.parser, 1, ?) = ?)"
        args.extend([parser, str(len(parser) + 1), parser + "/"])
    jobs = []
    # read first: rewriting records while a cursor walks the same table could revisit rows
    for row in archive.db.execute(sql + " ORDER BY a.rowid", args).fetchall():
        warc_file, offset = row["warc_file"], row["warc_offset"]
        if warc_file is None and row["latest"]:
            warc_file, _, text = row["latest"].partition("\t")
            offset = int(text)
        if warc_file is None:
            summary.no_capture += 1
            continue
        record = None
        if not (archive.root / row["path"]).exists():
            latest = archive.db.execute(
                "SELECT record FROM revisions WHERE article_id = ? ORDER BY revision DESC LIMIT 1",
                (row["id"],),
            ).fetchone()
            record = latest["record"] if latest is not None else None
        jobs.append(_Job(row["id"], row["path"], warc_file, offset, record))
    return jobs


def reparse(
    archive: Archive,
    *,
    source: str | None = None,
    since: str | None = None,
    parser: str | None = None,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReparseSummary:
    """Re-extract every stored article (of ``source``, published on or after ``since``, made by
    ``parser``: a full name such as ``koreaherald/kh1`` or a prefix such as ``fallback``).

    Extraction runs in ``workers`` processes (default: one per core; parsing is CPU-bound and
    the GIL would serialize threads); this process alone writes files and the index."""
    summary = ReparseSummary()
    stamp = now_iso()
    jobs = _jobs(archive, summary, source, since, parser)
    workers = workers or os.cpu_count() or 1
    root = str(archive.root)
    if workers > 1 and len(jobs) >= POOL_MIN_JOBS:
        pool = ProcessPoolExecutor(max_workers=workers)
        outcomes: Iterator[_Outcome] = pool.map(_work, itertools.repeat(root), jobs, chunksize=256)
    else:
        pool = None
        outcomes = (_work(root, job) for job in jobs)
    try:
        for outcome in outcomes:
            summary.checked += 1
            if progress is not None:
                progress(summary.checked)
            if outcome.error is not None:
                summary.failed += 1
                summary.errors.append(f"{outcome.job.article_id}: {outcome.error}")
                log.warning("reparse of %s failed: %s", outcome.job.article_id, outcome.error)
            elif outcome.fresh is not None:
                fresh = Article.from_dict(outcome.fresh)
                try:
                    archive.replace_record(fresh.evolve(parsed_at=stamp))
                except StoreError as exc:
                    summary.failed += 1
                    summary.errors.append(f"{fresh.id}: {exc}")
                    continue
                if outcome.restore:
                    summary.restored += 1
                    log.warning("rebuilt the missing file of %s from its capture", fresh.id)
                else:
                    summary.changed += 1
                    log.info("reparsed %s: %s", fresh.id, fresh.parser)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return summary
