"""Building the new index from the captures and the article files, and putting it in place."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from scraper import crashpoints, indexrows, lineage
from scraper.articlefile import article_relpath, atomic_write, dump_article
from scraper.check import pid_alive
from scraper.errors import StoreError
from scraper.models import Article
from scraper.rebuild.captures import Capture, Evidence, read_captures
from scraper.rebuild.summary import ProgressFn, RebuildSummary
from scraper.state import serving
from scraper.store import Archive
from scraper.warc import in_use

log = logging.getLogger(__name__)

TEMP_PREFIX = ".rebuild-"
INDEX_NAME = "index.sqlite"


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
        atomic_write(root / rel, dump_article(latest))
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
    archive: Archive,
    plans: list[_Plan],
    evidence: list[Evidence],
    summary: RebuildSummary,
    progress: ProgressFn | None,
) -> None:
    """Write every article, revision, capture and URL into a fresh index, with the store's own
    insert functions, in first-fetch order (so lineage sees earlier versions first)."""
    plans.sort(key=lambda p: (p.first_fetched, p.latest.id))
    with archive.transaction() as db:
        for n, item in enumerate(plans, 1):
            latest = item.latest
            story = latest.story_id or lineage.story_id(db, latest) or latest.id
            final = latest.evolve(story_id=story)
            indexrows.upsert_article(db, final, item.rel)
            last_fetch = max([latest.fetched_at or "", *(c.fetched_at for c in item.captures)])
            db.execute(
                "UPDATE articles SET first_fetched_at = ?, fetched_at = ? WHERE id = ?",
                (item.first_fetched or None, last_fetch or None, latest.id),
            )
            for number, (old, capture) in enumerate(item.earlier, 1):
                rev = old.evolve(revision=number, story_id=story, urls=latest.urls)
                indexrows.put_revision(db, rev, capture.payload)
            ref = item.latest_capture.payload if item.latest_capture else None
            indexrows.put_revision(db, final, ref)
            summary.articles += 1
            summary.revisions += len(item.earlier) + 1
            _urls(archive, db, item, summary)
            if progress is not None:
                progress("articles", n, len(plans))
        # in capture order, as they were written; the article's id, or none for evidence
        rows: list[Capture | Evidence] = [c for p in plans for c in p.captures]
        rows.extend(evidence)
        rows.sort(key=lambda c: (c.fetched_at, c.ref.file, c.ref.offset))
        for row in rows:
            article_id = row.article.id if isinstance(row, Capture) else None
            indexrows.add_capture(db, article_id, row.ref.uri, row.status, row.fetched_at, row.ref)
        summary.captures = len(rows)
        summary.evidence = len(evidence)


def _urls(archive: Archive, db: sqlite3.Connection, item: _Plan, summary: RebuildSummary) -> None:
    latest = item.latest
    for url in sorted({latest.url, *latest.urls, *(c.url for c in item.captures)}):
        under = [c for c in item.captures if c.url == url]
        newest = under[-1] if under else None
        indexrows.mark_url(
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
def _clean_leftovers(root: Path) -> None:
    """Temp directories of rebuilds that were killed."""
    for path in root.glob(f"{TEMP_PREFIX}*.tmp"):
        pid = path.name[len(TEMP_PREFIX) : -len(".tmp")]
        if pid.isdigit() and pid_alive(int(pid)) and int(pid) != os.getpid():
            continue
        log.info("removing %s left by a killed rebuild", path.name)
        shutil.rmtree(path, ignore_errors=True)


def _refuse_if_busy(root: Path) -> None:
    """A writer would go on writing to the old index (its open file), behind our back."""
    holder = serving(root)
    if holder is not None:
        who = f"pid {holder.pid}" if holder.pid else "another process"
        raise StoreError(f"scraper serve ({who}) uses this archive; stop it first", where=str(root))
    for mark in (root / "warc").glob("*/.*.warc.gz.open"):
        path = mark.with_name(mark.name[1 : -len(".open")])
        if in_use(path):
            raise StoreError(
                "a crawl or the service is writing to the archive; stop it first",
                where=str(path),
            )


def _readable(index: Path) -> bool:
    try:
        # immutable: a probe that leaves no -wal/-shm of its own behind
        db = sqlite3.connect(f"file:{quote(str(index))}?mode=ro&immutable=1", uri=True)
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
    found = read_captures(root, summary, progress)
    captures = found.articles
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
            _fill(archive, plans, found.evidence, summary, progress)
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
