"""The captures in the WARC files: every response record, linked to its metadata record, and
re-extracted with the current parsers (see the package docstring for the two formats)."""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import logging
import mmap
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from warcio.archiveiterator import ArchiveIterator

from scraper.errors import ParseError
from scraper.extract import extract
from scraper.models import Article
from scraper.rebuild.summary import ProgressFn, RebuildSummary
from scraper.sources import SOURCES, Source
from scraper.warc import WarcRef, iter_members

log = logging.getLogger(__name__)

# below this many captures, starting worker processes costs more than it saves (as reparse)
POOL_MIN_JOBS = 200


@dataclass(frozen=True)
class _Record:
    """One WARC record's headers, as far as the rebuild needs them."""

    kind: str
    offset: int
    length: int
    record_id: str
    uri: str
    links: tuple[str, ...]  # WARC-Refers-To, WARC-Concurrent-To
    date: str
    status: int
    meta: dict[str, Any] | None  # a metadata record's JSON


@dataclass(frozen=True)
class _Response:
    file: str
    record: _Record
    length: int  # the exchange's span (current format) or the response record alone
    meta: dict[str, Any] | None


@dataclass(frozen=True)
class Capture:
    """A response record that extracts as an article."""

    ref: WarcRef
    url: str  # the canonical URL it was fetched under
    status: int
    fetched_at: str
    article: Article
    etag: str | None
    last_modified: str | None


# -- reading WARC files ---------------------------------------------------------------------
_GZIP_MAGIC = b"\x1f\x8b\x08"  # each record is its own gzip member, so each starts so


def _records(path: Path) -> tuple[list[_Record], list[str]]:
    """Every readable record of a file, and the byte ranges that could not be read.

    Members are walked with ``warc.iter_members`` (zlib checks each member's CRC, which
    warcio's reader does not: it reads past damage and loses its place silently). After a
    damaged stretch, reading resumes at the next gzip header, so one bad record does not hide
    the intact ones after it."""
    out: list[_Record] = []
    damage: list[list[int]] = []  # [first byte, next readable byte]
    size = path.stat().st_size
    if size == 0:
        return out, []
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        pos = 0
        while pos < size:
            end = pos
            with memoryview(data) as whole, whole[pos:] as view:
                # iter_members only slices what it gets, as a memoryview slices; listing the
                # members ends its use of the view before the view is released
                members = list(iter_members(cast("bytes", view)))
            for member in members:
                start = pos + member.offset
                record = _parse(data[start : start + member.length], start)
                if record is None:
                    break  # a gzip member that is no WARC record: damaged too
                out.append(record)
                end = start + member.length
            if end >= size:
                break
            found = data.find(_GZIP_MAGIC, end + 1)
            resume = size if found < 0 else found
            if damage and damage[-1][1] == end:  # a false start inside the damaged stretch
                damage[-1][1] = resume
            else:
                damage.append([end, resume])
            pos = resume
    return out, [f"bytes {a}-{b} unreadable" for a, b in damage]


def _parse(member: bytes, offset: int) -> _Record | None:
    """The headers of the one record in a complete gzip member."""
    try:
        rec = next(iter(ArchiveIterator(io.BytesIO(member))))
        h = rec.rec_headers
        meta = None
        if rec.rec_type == "metadata":
            with contextlib.suppress(ValueError):
                data = json.loads(rec.content_stream().read())
                meta = data if isinstance(data, dict) else None
        status = 0
        if rec.rec_type == "response" and rec.http_headers is not None:
            with contextlib.suppress(TypeError, ValueError):
                status = int(rec.http_headers.get_statuscode())
    except Exception:  # warcio raises many kinds on a record it cannot parse
        return None
    links = tuple(
        v for v in (h.get_header("WARC-Refers-To"), h.get_header("WARC-Concurrent-To")) if v
    )
    return _Record(
        kind=rec.rec_type or "",
        offset=offset,
        length=len(member),
        record_id=h.get_header("WARC-Record-ID") or "",
        uri=h.get_header("WARC-Target-URI") or "",
        links=links,
        date=h.get_header("WARC-Date") or "",
        status=status,
        meta=meta,
    )


def _responses(rel: str, records: list[_Record]) -> list[_Response]:
    """The responses of one file with their metadata, linked by record id or by position."""
    by_id = {r.record_id: r for r in records if r.kind == "response"}
    meta_for: dict[str, dict[str, Any]] = {}
    for i, rec in enumerate(records):
        if rec.kind != "metadata" or rec.meta is None:
            continue
        target = next((link for link in rec.links if link in by_id), None)
        if target is None:  # no link: the response just before it, same target URI
            for prev in reversed(records[:i]):
                if prev.kind == "response":
                    target = prev.record_id if prev.uri == rec.uri else None
                    break
        if target is not None:
            meta_for.setdefault(target, rec.meta)
    out = []
    for i, rec in enumerate(records):
        if rec.kind != "response":
            continue
        # the exchange this writer appends in one piece: the response and the records that
        # follow it naming it with the same target URI (request, metadata); a metadata record
        # with its own URI (``urn:…``) means a writer that points at the response alone
        end = rec.offset + rec.length
        for nxt in records[i + 1 :]:
            if rec.record_id not in nxt.links or nxt.uri != rec.uri:
                break
            end = nxt.offset + nxt.length
        out.append(_Response(rel, rec, end - rec.offset, meta_for.get(rec.record_id)))
    return out


def _canonical(uri: str) -> tuple[Source, str] | None:
    """The source and canonical URL of an article URL on any host (a mirror's too)."""
    for source in SOURCES:
        found = source.match(uri)
        if found is not None:
            return source, found[0].canonical.format(id=found[1])
    return None


def _capture(fh: Any, response: _Response) -> Capture | None:
    """Re-extract one response; None when it is not an article for the current parsers."""
    rec = response.record
    meta = response.meta or {}
    found = _canonical(str(meta.get("canonical_url") or rec.uri))
    if found is None:
        return None
    source, url = found
    fh.seek(rec.offset)
    record = next(iter(ArchiveIterator(fh)))
    headers = {k.lower(): v for k, v in record.http_headers.headers} if record.http_headers else {}
    body = record.content_stream().read()
    fetched_at = rec.date.replace("Z", "+00:00")
    article = extract(
        body,
        url,
        source=source,
        fetched_at=fetched_at,
        content_type=headers.get("content-type"),
        where=f"{response.file}@{rec.offset}",
    )
    return Capture(
        ref=WarcRef(response.file, rec.offset, response.length, rec.record_id),
        url=url,
        status=rec.status,
        fetched_at=fetched_at,
        article=article,
        etag=headers.get("etag"),
        last_modified=headers.get("last-modified"),
    )


@dataclass(frozen=True)
class _Outcome:
    capture: Capture | None = None  # None: not an article for the current parsers
    error: str | None = None  # the record scanned but does not read back


def _work(root: str, response: _Response) -> _Outcome:
    """One response, in a worker process (or not): read it back and re-extract it."""
    try:
        with (Path(root) / response.file).open("rb") as fh:
            return _Outcome(capture=_capture(fh, response))
    except ParseError as exc:
        log.info("not an article: %s", exc)
        return _Outcome()
    except Exception as exc:  # warcio and zlib raise many kinds on a bad record
        where = f"{response.file}@{response.record.offset}"
        # (warcio's messages carry the undecodable bytes: the class name says enough)
        return _Outcome(error=f"{where}: record does not read back ({exc.__class__.__name__})")


def read_captures(
    root: Path,
    summary: RebuildSummary,
    progress: ProgressFn | None = None,
    *,
    workers: int | None = None,
) -> dict[str, list[Capture]]:
    """Every article capture under ``warc/``, per article id, in capture order.

    Re-extraction runs in ``workers`` processes (default: one per core), as ``reparse`` does:
    it is CPU-bound, and the GIL would serialize threads."""
    files = sorted((root / "warc").glob("*/*.warc.gz"))
    summary.warc_files = len(files)
    responses: list[_Response] = []
    for n, path in enumerate(files, 1):
        rel = str(path.relative_to(root))
        records, damage = _records(path)
        for stretch in damage:
            summary.unreadable.append(f"{rel}: {stretch}")
            log.warning("%s: %s; see scraper check", rel, stretch)
        responses.extend(_responses(rel, records))
        if progress is not None:
            progress("warc", n, len(files))
    summary.responses = len(responses)
    workers = workers or os.cpu_count() or 1
    pool = None
    if workers > 1 and len(responses) >= POOL_MIN_JOBS:
        pool = ProcessPoolExecutor(max_workers=workers)
        outcomes: Iterator[_Outcome] = pool.map(
            _work, itertools.repeat(str(root)), responses, chunksize=32
        )
    else:
        outcomes = (_work(str(root), response) for response in responses)
    found: dict[str, list[Capture]] = {}
    try:
        for n, outcome in enumerate(outcomes, 1):
            if outcome.error is not None:
                summary.unreadable.append(outcome.error)
            elif outcome.capture is None:
                summary.not_articles += 1
            else:
                found.setdefault(outcome.capture.article.id, []).append(outcome.capture)
            if progress is not None:
                progress("captures", n, len(responses))
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    for captures in found.values():
        captures.sort(key=lambda c: (c.fetched_at, c.ref.file, c.ref.offset))
    return found
