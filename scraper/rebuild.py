"""``scraper rebuild-index``: the index is a cache of what is on disk, and can be made again.

Rebuilt, and from where:
 - captures: every response record under ``warc/`` that the current parsers read as an
   article, with its file, offset and length. The article a response belongs to is what the
   response extracts as; the metadata record written beside it gives the canonical URL it was
   fetched under. Two metadata formats are read: linked by ``WARC-Refers-To`` /
   ``WARC-Concurrent-To`` (the response's ``WARC-Record-ID``), or, from older writers,
   following its response with the same ``WARC-Target-URI``. Without one, the URL is
   canonicalized from the response's target URI.
 - revisions: each article's captures in capture order (``WARC-Date``, then file and offset),
   each re-extracted; a change of ``content_hash`` is a new revision. The article's JSON file
   is its latest revision, as recorded. An article whose file is missing gets one written
   from its newest capture.
 - articles and the search index: from the JSON files; story ids as recorded in them
   (scraper/lineage.py for a record without one).
 - urls: each article URL and every URL it was seen under, state ``done``, with the ETag and
   Last-Modified of its newest capture (so the next recheck is a conditional GET again).

Not on disk, so not rebuilt: the service's run history, the robots.txt cache, and URLs that
were discovered but never archived (``new``, ``failed``, ``gone``, ``rejected``); the next
crawl finds them again from the feeds.

Safety: the new index is built in a temp directory inside the archive and renamed in at the
end, so a kill mid-rebuild leaves the old state (the temp directory is removed by the next
rebuild). The old index and its ``-wal``/``-shm`` are kept beside it as
``index.sqlite.damaged-<time>`` (or ``.replaced-<time>`` when it was readable), never
deleted. It refuses to run while a writer (``serve``, a crawl) has a WARC file open.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from scraper import crashpoints, lineage
from scraper.errors import ParseError, StoreError
from scraper.extract import extract
from scraper.models import Article
from scraper.sources import SOURCES, Source
from scraper.store import Archive, _atomic_write, article_relpath, dump_article
from scraper.warc import WarcRef, in_use

log = logging.getLogger(__name__)

# (phase, done, total): "warc" files scanned, "captures" re-extracted, "articles" indexed
ProgressFn = Callable[[str, int, int], None]

TEMP_PREFIX = ".rebuild-"
INDEX_NAME = "index.sqlite"


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


@dataclass
class RebuildSummary:
    warc_files: int = 0
    responses: int = 0
    captures: int = 0
    articles: int = 0
    revisions: int = 0
    urls: int = 0
    not_articles: int = 0  # responses the current parsers do not read as an article
    files_written: int = 0  # articles whose JSON file was missing, written from a capture
    disagreements: int = 0  # records whose revision count or hash differs from the captures
    unreadable: list[str] = field(default_factory=list)  # WARC damage, unreadable JSON
    moved_aside: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"rebuilt the index: {self.articles} articles, {self.revisions} revisions, "
            f"{self.captures} captures from {self.warc_files} WARC files, {self.urls} URLs; "
            f"{self.not_articles} responses not read as articles, {self.files_written} "
            f"article files written, {len(self.unreadable)} unreadable"
        )


# -- reading WARC files ---------------------------------------------------------------------
def _records(path: Path) -> tuple[list[_Record], str | None]:
    """Every record of a file up to the first unreadable byte, and what stopped it there."""
    out: list[_Record] = []
    with path.open("rb") as fh:
        it = ArchiveIterator(fh)
        try:
            for rec in it:
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
                links = tuple(
                    v
                    for v in (h.get_header("WARC-Refers-To"), h.get_header("WARC-Concurrent-To"))
                    if v
                )
                out.append(
                    _Record(
                        kind=rec.rec_type or "",
                        offset=it.get_record_offset(),
                        length=it.get_record_length(),
                        record_id=h.get_header("WARC-Record-ID") or "",
                        uri=h.get_header("WARC-Target-URI") or "",
                        links=links,
                        date=h.get_header("WARC-Date") or "",
                        status=status,
                        meta=meta,
                    )
                )
        except Exception as exc:  # warcio raises many kinds on damage; all mean "stop here"
            return out, f"{exc.__class__.__name__}: {str(exc)[:80]}"
    return out, None


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


def _capture(root: Path, fh: Any, response: _Response) -> Capture | None:
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


def read_captures(
    root: Path, summary: RebuildSummary, progress: ProgressFn | None = None
) -> dict[str, list[Capture]]:
    """Every article capture under ``warc/``, per article id, in capture order."""
    files = sorted((root / "warc").glob("*/*.warc.gz"))
    summary.warc_files = len(files)
    responses: list[_Response] = []
    for n, path in enumerate(files, 1):
        rel = str(path.relative_to(root))
        records, error = _records(path)
        if error is not None:
            end = records[-1].offset + records[-1].length if records else 0
            summary.unreadable.append(f"{rel}: unreadable from byte {end} ({error})")
            log.warning("%s: unreadable from byte %d (%s); run scraper check", rel, end, error)
        responses.extend(_responses(rel, records))
        if progress is not None:
            progress("warc", n, len(files))
    summary.responses = len(responses)
    found: dict[str, list[Capture]] = {}
    handles: dict[str, Any] = {}
    try:
        for n, response in enumerate(responses, 1):
            fh = handles.get(response.file)
            if fh is None:
                fh = handles[response.file] = (root / response.file).open("rb")
            try:
                capture = _capture(root, fh, response)
            except ParseError as exc:
                log.info("not an article: %s", exc)
                capture = None
            except Exception as exc:  # a record that scanned but does not read back
                where = f"{response.file}@{response.record.offset}"
                summary.unreadable.append(f"{where}: {exc.__class__.__name__}: {exc}")
                capture = None
            if capture is None:
                summary.not_articles += 1
            else:
                found.setdefault(capture.article.id, []).append(capture)
            if progress is not None:
                progress("captures", n, len(responses))
    finally:
        for fh in handles.values():
            fh.close()
    for captures in found.values():
        captures.sort(key=lambda c: (c.fetched_at, c.ref.file, c.ref.offset))
    return found


# -- reading article files ------------------------------------------------------------------
def read_records(root: Path, summary: RebuildSummary) -> dict[str, tuple[Article, str]]:
    """The JSON record of each article and its path; of two copies, the later revision."""
    found: dict[str, tuple[Article, str]] = {}
    for path in sorted((root / "articles").glob("*/*/*/*/*.json")):
        if path.name.startswith("."):
            continue  # a writer's temp file
        rel = str(path.relative_to(root))
        try:
            article = Article.from_dict(json.loads(path.read_text("utf-8")))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            summary.unreadable.append(f"{rel}: {exc}")
            continue
        held = found.get(article.id)
        if held is None or (article.revision, article.fetched_at or "") > (
            held[0].revision,
            held[0].fetched_at or "",
        ):
            found[article.id] = (article, rel)
    return found


# -- building -------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Plan:
    """What one article contributes to the index."""

    latest: Article
    rel: str
    earlier: tuple[tuple[Article, Capture], ...]  # older revisions, oldest first
    latest_capture: Capture | None
    captures: tuple[Capture, ...]

    @property
    def first_fetched(self) -> str:
        if self.captures:
            return self.captures[0].fetched_at
        return self.latest.fetched_at or ""


def plan(
    article_id: str,
    record: tuple[Article, str] | None,
    captures: list[Capture],
    root: Path,
    summary: RebuildSummary,
) -> _Plan | None:
    """Revisions from the captures (a change of content hash is a new one), the JSON record
    as the latest; a missing JSON file is written from the newest capture."""
    changes: list[Capture] = []
    for capture in captures:
        if not changes or capture.article.content_hash != changes[-1].article.content_hash:
            changes.append(capture)
    if record is None:
        if not changes:
            return None
        newest = changes[-1].article
        seen = tuple(sorted({c.url for c in captures} - {newest.url}))
        latest = newest.evolve(revision=len(changes), urls=seen)
        rel = article_relpath(latest)
        _atomic_write(root / rel, dump_article(latest))
        summary.files_written += 1
        log.warning("%s: article file was missing; written from its newest capture", article_id)
    else:
        latest, rel = record
    latest_capture: Capture | None = captures[-1] if captures else None
    earlier = changes
    if changes and (
        changes[-1].article.content_hash == latest.content_hash or len(changes) == latest.revision
    ):
        earlier, latest_capture = changes[:-1], changes[-1]
    # else the record is newer than any capture the parsers read the same way: it keeps the
    # newest capture
    if len(earlier) != latest.revision - 1:
        summary.disagreements += 1
        log.warning(
            "%s: the record says revision %d, the captures show %d",
            article_id,
            latest.revision,
            len(earlier) + 1,
        )
    kept = earlier[: max(latest.revision - 1, 0)]
    return _Plan(
        latest=latest,
        rel=rel,
        earlier=tuple((c.article, c) for c in kept),
        latest_capture=latest_capture,
        captures=tuple(captures),
    )


def _fill(
    archive: Archive, plans: list[_Plan], summary: RebuildSummary, progress: ProgressFn | None
) -> None:
    """Write every article, revision, capture and URL into a fresh index, with the store's own
    insert functions, in first-fetch order (so lineage sees earlier versions first)."""
    plans.sort(key=lambda p: (p.first_fetched, p.latest.id))
    with archive._tx() as db:
        for n, item in enumerate(plans, 1):
            latest = item.latest
            story = latest.story_id or lineage.story_id(db, latest) or latest.id
            final = latest.evolve(story_id=story)
            archive._upsert_article(db, final, item.rel)
            last_fetch = max([latest.fetched_at or "", *(c.fetched_at for c in item.captures)])
            db.execute(
                "UPDATE articles SET first_fetched_at = ?, fetched_at = ? WHERE id = ?",
                (item.first_fetched or None, last_fetch or None, latest.id),
            )
            for number, (old, capture) in enumerate(item.earlier, 1):
                rev = old.evolve(revision=number, story_id=story, urls=latest.urls)
                archive._put_revision(db, rev, capture.ref)
            ref = item.latest_capture.ref if item.latest_capture else None
            archive._put_revision(db, final, ref)
            summary.articles += 1
            summary.revisions += len(item.earlier) + 1
            _urls(archive, db, item, summary)
            if progress is not None:
                progress("articles", n, len(plans))
        captures = sorted(
            (c for p in plans for c in p.captures),
            key=lambda c: (c.fetched_at, c.ref.file, c.ref.offset),
        )
        for capture in captures:
            archive._add_capture(
                db, capture.article.id, capture.url, capture.status, capture.fetched_at, capture.ref
            )
        summary.captures = len(captures)


def _urls(archive: Archive, db: sqlite3.Connection, item: _Plan, summary: RebuildSummary) -> None:
    latest = item.latest
    for url in sorted({latest.url, *latest.urls, *(c.url for c in item.captures)}):
        under = [c for c in item.captures if c.url == url]
        newest = under[-1] if under else None
        archive._mark_url(
            db,
            url,
            latest.source,
            state="done",
            article_id=latest.id,
            http_status=newest.status if newest else None,
            etag=newest.etag if newest else None,
            last_modified=newest.last_modified if newest else None,
            first_seen=under[0].fetched_at if under else item.first_fetched or latest.fetched_at,
            last_checked=newest.fetched_at if newest else latest.fetched_at,
            error=None,
        )
        summary.urls += 1


# -- the swap -------------------------------------------------------------------------------
def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_leftovers(root: Path) -> None:
    """Temp directories of rebuilds that were killed."""
    for path in root.glob(f"{TEMP_PREFIX}*.tmp"):
        pid = path.name[len(TEMP_PREFIX) : -len(".tmp")]
        if pid.isdigit() and _alive(int(pid)) and int(pid) != os.getpid():
            continue
        log.info("removing %s left by a killed rebuild", path.name)
        shutil.rmtree(path, ignore_errors=True)


def _refuse_if_busy(root: Path) -> None:
    for mark in (root / "warc").glob("*/.*.warc.gz.open"):
        path = mark.with_name(mark.name[1 : -len(".open")])
        if in_use(path):
            raise StoreError(
                "a crawl or the service is writing to the archive; stop it first",
                where=str(path),
            )


def _readable(index: Path) -> bool:
    try:
        db = sqlite3.connect(f"file:{index}?mode=ro", uri=True)
        try:
            ok = db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        finally:
            db.close()
    except sqlite3.Error:
        return False
    return bool(ok)


def _swap(root: Path, fresh: Path, summary: RebuildSummary) -> None:
    """Put ``fresh`` in place of the index. The old one is kept under a new name first (a
    hard link, so there is no moment without an index), then its -wal/-shm follow, then the
    rename: a kill at any step leaves either index readable."""
    index = root / INDEX_NAME
    if index.exists():
        label = "replaced" if _readable(index) else "damaged"
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        aside = root / f"{INDEX_NAME}.{label}-{stamp}"
        try:
            os.link(index, aside)
        except OSError:
            shutil.copy2(index, aside)
        summary.moved_aside.append(aside.name)
        for suffix in ("-wal", "-shm", "-journal"):
            side = root / f"{INDEX_NAME}{suffix}"
            if side.exists():
                os.replace(side, root / f"{aside.name}{suffix}")
                summary.moved_aside.append(f"{aside.name}{suffix}")
    os.replace(fresh, index)
    fd = os.open(root, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def rebuild_index(root: Path, *, progress: ProgressFn | None = None) -> RebuildSummary:
    """Rebuild ``root/index.sqlite`` from the WARC files and article JSON files."""
    root = Path(root)
    if not (root / "articles").is_dir() and not (root / "warc").is_dir():
        raise StoreError(f"no archive at {root} (no articles/ or warc/ folder)")
    _refuse_if_busy(root)
    _clean_leftovers(root)
    summary = RebuildSummary()
    captures = read_captures(root, summary, progress)
    records = read_records(root, summary)
    plans = [
        item
        for article_id in sorted(set(records) | set(captures))
        if (
            item := plan(
                article_id, records.get(article_id), captures.get(article_id, []), root, summary
            )
        )
        is not None
    ]
    work = root / f"{TEMP_PREFIX}{os.getpid()}.tmp"
    shutil.rmtree(work, ignore_errors=True)
    try:
        archive = Archive(work, durable=False)
        try:
            archive.db.execute("PRAGMA synchronous=OFF")  # fsynced once, at the end
            _fill(archive, plans, summary, progress)
            archive.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            archive.close()  # the last connection: the WAL is folded in and removed
        fresh = work / INDEX_NAME
        with fresh.open("rb+") as fh:
            os.fsync(fh.fileno())
        crashpoints.crash_if("rebuild")
        _swap(root, fresh, summary)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot rebuild the index: {exc}", where=str(root)) from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log.info("%s", summary.line())
    return summary
