"""The captures in the WARC files: every response and revisit record, linked to its metadata
record, and re-extracted with the current parsers (see the package docstring for the formats).
A revisit is read with the body of the response it refers to (``WARC-Refers-To``)."""

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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

from warcio.archiveiterator import ArchiveIterator

from scraper.errors import ParseError, StoreError
from scraper.extract import extract
from scraper.fetch import REDIRECT_STATUSES
from scraper.models import Article
from scraper.rebuild.summary import ProgressFn, RebuildSummary
from scraper.sources import SOURCES, Source
from scraper.warc import WarcRef
from scraper.warcread import iter_members

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
    digest: str = ""  # WARC-Payload-Digest (a response's or revisit's)
    refers_to: str = ""  # a revisit's WARC-Refers-To: the response holding its body


@dataclass(frozen=True)
class _Response:
    """A response or revisit record, with where its body is (for a revisit: the original's)."""

    file: str
    record: _Record
    meta: dict[str, Any] | None
    body: tuple[str, int, int] | None = None  # file, offset, length of the body's response


@dataclass(frozen=True)
class Capture:
    """A response (or revisit) record that extracts as an article."""

    ref: WarcRef  # the record itself, as ``captures`` points at it
    url: str  # the canonical URL it was fetched under (the requested one, before redirects)
    status: int
    fetched_at: str
    article: Article
    etag: str | None
    last_modified: str | None
    payload: WarcRef  # the response holding the body (``ref`` itself unless a revisit)


@dataclass(frozen=True)
class Evidence:
    """A response (or revisit) of robots.txt, a feed, a sitemap or a section page: a
    ``captures`` row without article (scraper/evidence.py)."""

    ref: WarcRef
    status: int
    fetched_at: str


@dataclass(frozen=True)
class Found:
    """What ``read_captures`` found: article captures per article id, in capture order, and
    the evidence captures."""

    articles: dict[str, list[Capture]]
    evidence: list[Evidence]


# -- reading WARC files ---------------------------------------------------------------------
_CAPTURED = ("response", "revisit")  # the records a ``captures`` row points at
_GZIP_MAGIC = b"\x1f\x8b\x08"  # each record is its own gzip member, so each starts so


def _records(path: Path) -> tuple[list[_Record], list[str]]:
    """Every readable record of a file, and the byte ranges that could not be read.

    Members are walked with ``warcread.iter_members`` (zlib checks each member's CRC, which
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
        if rec.rec_type in _CAPTURED and rec.http_headers is not None:
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
        digest=h.get_header("WARC-Payload-Digest") or "",
        refers_to=(h.get_header("WARC-Refers-To") or "") if rec.rec_type == "revisit" else "",
    )


def _responses(rel: str, records: list[_Record]) -> list[_Response]:
    """The responses and revisits of one file with their metadata, linked by record id or
    by position. Redirect hops are left out: the catalog has a row for the response that
    answered only (``Archive.save``, ``add_capture``); the fetcher never ends on a 3xx."""
    by_id = {r.record_id: r for r in records if r.kind in _CAPTURED}
    meta_for: dict[str, dict[str, Any]] = {}
    for i, rec in enumerate(records):
        if rec.kind != "metadata" or rec.meta is None:
            continue
        target = next((link for link in rec.links if link in by_id), None)
        if target is None:  # no link: the response just before it, same target URI
            for prev in reversed(records[:i]):
                if prev.kind in _CAPTURED:
                    target = prev.record_id if prev.uri == rec.uri else None
                    break
        if target is not None:
            meta_for.setdefault(target, rec.meta)
    return [
        _Response(rel, rec, meta_for.get(rec.record_id))
        for rec in records
        if rec.kind in _CAPTURED and rec.status not in REDIRECT_STATUSES
    ]


def _canonical(uri: str) -> tuple[Source, str] | None:
    """The source and canonical URL of an article URL on any host (a mirror's too)."""
    for source in SOURCES:
        found = source.match(uri)
        if found is not None:
            return source, found[0].canonical.format(id=found[1])
    return None


def _fetched_under(response: _Response) -> tuple[Source, str] | None:
    """The source and canonical URL an article exchange was fetched under, as the crawler's
    target had it: the requested URL (metadata since revisits: ``requested_url``, before any
    redirect), else the metadata's ``canonical_url`` (older writers: the requested one), else
    the URL that answered."""
    meta = response.meta or {}
    for uri in (meta.get("requested_url"), meta.get("canonical_url"), response.record.uri):
        if uri and (found := _canonical(str(uri))) is not None:
            return found
    return None


def _ref(response: _Response) -> WarcRef:
    rec = response.record
    return WarcRef(
        response.file,
        rec.offset,
        rec.length,
        rec.record_id,
        uri=rec.uri,
        record_type=rec.kind,
        payload_digest=rec.digest,
    )


def _capture(root: Path, response: _Response) -> Capture | Evidence | None:
    """Re-extract one response; an ``Evidence`` when it belongs to no article exchange (no
    metadata, no article URL), None when it does but is no article for the current parsers."""
    rec = response.record
    fetched_at = rec.date.replace("Z", "+00:00")
    found = _fetched_under(response)
    if found is None:
        if response.meta is None:
            return Evidence(ref=_ref(response), status=rec.status, fetched_at=fetched_at)
        return None
    source, url = found
    if response.body is None:
        raise StoreError(
            f"revisit of a record that is not readable ({rec.refers_to})",
            where=f"{response.file}@{rec.offset}",
        )
    with (root / response.file).open("rb") as fh:
        fh.seek(rec.offset)
        http = next(iter(ArchiveIterator(fh))).http_headers
    headers = {k.lower(): v for k, v in http.headers} if http else {}
    # the headers of this fetch; the body of this record, or for a revisit of its original
    body_file, body_offset, body_length = response.body
    with (root / body_file).open("rb") as fh:
        fh.seek(body_offset)
        body = next(iter(ArchiveIterator(fh))).content_stream().read()
    article = extract(
        body,
        url,
        source=source,
        fetched_at=fetched_at,
        content_type=headers.get("content-type"),
        where=f"{response.file}@{rec.offset}",
    )
    ref = _ref(response)
    payload = ref
    if rec.kind == "revisit":
        payload = WarcRef(
            body_file, body_offset, body_length, rec.refers_to, rec.uri, "response", rec.digest
        )
    return Capture(
        ref=ref,
        url=url,
        status=rec.status,
        fetched_at=fetched_at,
        article=article,
        etag=headers.get("etag"),
        last_modified=headers.get("last-modified"),
        payload=payload,
    )


@dataclass(frozen=True)
class _Outcome:
    capture: Capture | Evidence | None = None  # None: not an article for the current parsers
    error: str | None = None  # the record scanned but does not read back


def _work(root: str, response: _Response) -> _Outcome:
    """One response, in a worker process (or not): read it back and re-extract it."""
    try:
        return _Outcome(capture=_capture(Path(root), response))
    except ParseError as exc:
        log.info("not an article: %s", exc)
        return _Outcome()
    except StoreError as exc:  # a revisit whose original is in no readable record
        return _Outcome(error=f"{exc.where}: {exc.message}")
    except Exception as exc:  # warcio and zlib raise many kinds on a bad record
        where = f"{response.file}@{response.record.offset}"
        # (warcio's messages carry the undecodable bytes: the class name says enough)
        return _Outcome(error=f"{where}: record does not read back ({exc.__class__.__name__})")


def _with_bodies(responses: list[_Response]) -> list[_Response]:
    """Each response with where its body is: its own record, or for a revisit the response
    it refers to, in any file (None when that one is not readable)."""
    bodies = {
        r.record.record_id: (r.file, r.record.offset, r.record.length)
        for r in responses
        if r.record.kind == "response"
    }
    return [
        replace(
            r,
            body=bodies.get(r.record.refers_to)
            if r.record.kind == "revisit"
            else (r.file, r.record.offset, r.record.length),
        )
        for r in responses
    ]


def read_captures(
    root: Path,
    summary: RebuildSummary,
    progress: ProgressFn | None = None,
    *,
    workers: int | None = None,
) -> Found:
    """Every capture under ``warc/``: article captures per article id in capture order, and
    the evidence captures.

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
        summary.redirects += sum(
            1 for r in records if r.kind in _CAPTURED and r.status in REDIRECT_STATUSES
        )
        responses.extend(_responses(rel, records))
        if progress is not None:
            progress("warc", n, len(files))
    responses = _with_bodies(responses)
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
    found = Found(articles={}, evidence=[])
    try:
        for n, outcome in enumerate(outcomes, 1):
            if outcome.error is not None:
                summary.unreadable.append(outcome.error)
            elif outcome.capture is None:
                summary.not_articles += 1
            elif isinstance(outcome.capture, Evidence):
                found.evidence.append(outcome.capture)
            else:
                found.articles.setdefault(outcome.capture.article.id, []).append(outcome.capture)
            if progress is not None:
                progress("captures", n, len(responses))
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    for captures in found.articles.values():
        captures.sort(key=lambda c: (c.fetched_at, c.ref.file, c.ref.offset))
    return found
