"""The on-disk archive: article JSON files (atomic), the SQLite catalog (WAL), WARC captures.

Layout under the archive root (docs/archive-format.md):
    articles/<source>/<YYYY>/<MM>/<DD>/<native-id>.json   latest revision of each article
    warc/<source>/<source>-<YYYY-MM-DD>-<seq>.warc.gz     raw request/response/metadata records
    index.sqlite                                          urls, articles, revisions, captures

Write order for one article: WARC append + fdatasync → JSON file (temp + fsync + rename) → one
SQLite transaction. Each step is on disk before the next starts, so neither a crash nor a power
cut leaves a record pointing at nothing, only extra bytes; ``scraper check`` reconciles what a
crash left behind. When the index transaction fails at any statement (disk full, read-only, a
constraint), or Ctrl-C / SIGTERM lands inside it, the previous JSON file is put back, so file
and index still agree. A full disk is ``DiskFull`` ("disk full while writing X").

The FTS5 table ``articles_fts`` indexes ``articles.title`` and ``articles.body`` (external
content, rowid shared, kept stable by upserts); ``scraper check`` runs its integrity check and
rebuilds it when the two disagree.

This module decides what a save stores; scraper/indexrows.py writes the rows (and holds the
transaction), scraper/revorder.py places a capture older than the latest fetch among the
revisions, scraper/articlefile.py writes the files.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scraper import crashpoints, filters, indexdb, indexrows, lineage, revorder
from scraper.articlefile import article_relpath, atomic_write, dump_article
from scraper.errors import DiskFull, StoreError, is_disk_full
from scraper.migrations import MIGRATIONS
from scraper.models import Article
from scraper.warc import WarcRef

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SaveResult:
    article: Article
    status: str  # "new" | "unchanged" | "revised"
    path: Path


def _statements(script: str) -> list[str]:
    """The statements of a migration script, cut where SQLite says one is complete: a ";"
    inside a string literal or a trigger body does not end a statement. (``executescript``
    would commit the open transaction first, so the steps run one by one inside ours.)"""
    out: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            out.append(pending)
            pending = ""
    if pending.strip(" \t\r\n;"):
        out.append(pending)  # an unfinished tail: let SQLite report the error
    return [statement for statement in out if statement.strip(" \t\r\n;")]


@dataclass(frozen=True)
class _SavePlan:
    """What ``Archive.save`` is about to store: the outcome, the record, its file and whether
    that file is (re)written."""

    outcome: str  # "new" | "unchanged" | "revised"
    final: Article
    path: Path
    rewrite: bool


class Archive:
    """One archive directory. Open it, use it, close it (or use ``with``)."""

    def __init__(
        self, root: str | os.PathLike[str], *, durable: bool = True, readonly: bool = False
    ) -> None:
        """``durable=False`` skips the fsync of each article file: for bulk loads (the
        benchmark) that can rebuild from scratch after a power cut. A crash of the process
        alone is still safe (rename is atomic; the page cache survives). ``readonly=True``
        (the reading commands) creates nothing and works on a read-only copy
        (scraper/indexdb.py)."""
        self.root = Path(root)
        self.durable = durable
        if readonly:
            self.db = indexdb.connect_readonly(self.root, len(MIGRATIONS))
            return
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.root / "index.sqlite", timeout=30, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self._enable_wal()
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.Error as exc:
            if reason := indexdb.damage_reason(exc):
                raise indexdb.damaged(self.root, reason) from exc
            if is_disk_full(exc):
                raise DiskFull("the index", where=str(self.root)) from exc
            raise StoreError(f"cannot open the index: {exc}", where=str(self.root)) from exc
        except OSError as exc:
            raise StoreError(
                f"cannot open the archive: {exc.strerror}", where=str(self.root)
            ) from exc

    def _enable_wal(self) -> None:
        """Switch a new index to WAL. The switch needs an exclusive lock and SQLite does not
        wait for it (no busy handler), so processes opening a fresh archive together retry."""
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    self.db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version >= len(MIGRATIONS):
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            for number in range(version, len(MIGRATIONS)):
                for statement in _statements(MIGRATIONS[number]):
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {number + 1}")
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    # -- transactions ---------------------------------------------------------------------------
    def transaction(self) -> indexrows.Transaction:
        """``with archive.transaction() as db:`` one BEGIN IMMEDIATE … COMMIT, errors as
        ``StoreError`` (scraper/indexrows.py)."""
        return indexrows.Transaction(self.db)

    # -- articles -------------------------------------------------------------------------------
    def get(self, article_id: str) -> Article | None:
        row = self.db.execute("SELECT path FROM articles WHERE id = ?", (article_id,)).fetchone()
        if row is None:
            return None
        return self.load_file(self.root / row["path"])

    def load_file(self, path: Path) -> Article:
        try:
            return Article.from_dict(json.loads(path.read_text("utf-8")))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise StoreError(f"unreadable article file: {exc}", where=str(path)) from exc

    def save(
        self,
        article: Article,
        capture: WarcRef | None,
        url: str,
        status: int = 200,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        payload: WarcRef | None = None,
    ) -> SaveResult:
        """Store a freshly extracted article: new, unchanged (same content hash) or revised.

        ``url`` is the URL it was fetched under; when that is not the canonical one (a Korea
        Herald ``view.php?ud=`` link serving an ``/article/N`` page) it is added to ``urls``.
        ``payload`` is the response holding the body when ``capture`` is a revisit record."""
        row = self.db.execute(
            "SELECT content_hash, revision, path, story_id, fetched_at FROM articles WHERE id = ?",
            (article.id,),
        ).fetchone()
        seen_under = self._seen_urls(article, url)
        if row is not None and revorder.older(article.fetched_at, row["fetched_at"]):
            # an import or backfill older than the latest fetch: it goes in at its time
            older = self._save_older(article, capture, url, status, row, seen_under, payload)
            if older is not None:
                return older
        if row is not None and row["content_hash"] == article.content_hash:
            plan = self._plan_unchanged(article, row, seen_under)
        else:
            plan = self._plan_changed(article, row, seen_under)
        outcome, final, path, rewrite = plan.outcome, plan.final, plan.path, plan.rewrite
        old_bytes: bytes | None = None
        if rewrite:
            if path.exists():
                old_bytes = path.read_bytes()
            atomic_write(path, dump_article(final), durable=self.durable)
        try:
            with self.transaction() as db:
                if outcome == "unchanged":
                    db.execute(
                        "UPDATE articles SET fetched_at = ? WHERE id = ?",
                        (article.fetched_at, article.id),
                    )
                    if rewrite:
                        indexrows.put_revision(db, final, None)
                else:
                    rel = str(path.relative_to(self.root))
                    indexrows.upsert_article(db, final, rel)
                    indexrows.put_revision(db, final, payload or capture)
                if capture is not None:
                    indexrows.add_capture(db, final.id, url, status, article.fetched_at, capture)
                indexrows.mark_url(
                    db,
                    url,
                    final.source,
                    state="done",
                    article_id=final.id,
                    http_status=status,
                    etag=etag,
                    last_modified=last_modified,
                    error=None,
                )
                crashpoints.crash_if("index")
        except BaseException:  # StoreError, or Ctrl-C / SIGTERM mid-transaction
            self._restore(path, old_bytes, rewrite)
            raise
        if (
            row is not None
            and outcome != "unchanged"
            and row["path"] != str(path.relative_to(self.root))
        ):
            # the publication date moved (a corrected timestamp): the old file goes, after the
            # index points at the new one
            with contextlib.suppress(FileNotFoundError):
                (self.root / row["path"]).unlink()
        return SaveResult(article=final, status=outcome, path=path)

    def _plan_unchanged(
        self, article: Article, row: sqlite3.Row, seen_under: tuple[str, ...]
    ) -> _SavePlan:
        """Same content hash: the stored record stands; its file is rewritten only when the
        article was seen under one more URL, or when the file was lost since."""
        path = self.root / row["path"]
        if path.exists():
            final = self.load_file(path)
            rewrite = set(seen_under) != set(final.urls)
        else:  # lost since (see ``scraper check``): the fresh extraction stands in for it
            final, rewrite = article.evolve(revision=row["revision"]), True
        if rewrite:  # same content, one more URL: the record changes, the revision does not
            final = final.evolve(urls=seen_under, story_id=row["story_id"] or article.id)
        return _SavePlan("unchanged", final, path, rewrite)

    def _plan_changed(
        self, article: Article, row: sqlite3.Row | None, seen_under: tuple[str, ...]
    ) -> _SavePlan:
        """A new article, or a new revision of a stored one: always written, to the path its
        (possibly corrected) publication date gives."""
        story = row["story_id"] if row is not None else lineage.story_id(self.db, article)
        final = article.evolve(
            revision=1 if row is None else row["revision"] + 1,
            story_id=story or article.id,
            urls=seen_under,
        )
        outcome = "new" if row is None else "revised"
        return _SavePlan(outcome, final, self.root / article_relpath(final), rewrite=True)

    def _save_older(
        self,
        article: Article,
        capture: WarcRef | None,
        url: str,
        status: int,
        row: sqlite3.Row,
        seen_under: tuple[str, ...],
        payload: WarcRef | None,
    ) -> SaveResult | None:
        """A capture older than the article's latest fetch takes its place among the revisions
        in capture-time order (scraper/revorder.py): a revision put in before others renumbers
        them (their rows and the file's ``revision``). The file holds the latest revision and
        ``fetched_at`` (the latest fetch) never moves back. File first, then the index, with the
        file put back when the index fails, as in ``save``. None when the index has no
        revisions to order (``save`` then stores it as it always did)."""
        revs, seen = revorder.stored(self.db, article.id)
        if not revs:
            return None
        new = article.evolve(story_id=row["story_id"] or article.id, urls=seen_under)
        after = revorder.with_capture(revs, seen, new, payload or capture)
        final = after[-1].record
        path = self.root / article_relpath(final)
        rel = str(path.relative_to(self.root))
        data = dump_article(final)
        old_bytes = path.read_bytes() if path.exists() else None
        rewrite = old_bytes != data
        if rewrite:
            atomic_write(path, data, durable=self.durable)
        first = revorder.earliest(
            self.db.execute(
                "SELECT first_fetched_at FROM articles WHERE id = ?", (article.id,)
            ).fetchone()[0],
            article.fetched_at,
        )
        try:
            with self.transaction() as db:
                if after != revs:
                    revorder.write(db, article.id, after)
                    crashpoints.crash_if("renumber")
                # also when the file is already right: a rerun after a kill that wrote it
                if rewrite or rel != row["path"] or after[-1] != revs[-1]:
                    indexrows.upsert_article(db, final, rel)
                db.execute(
                    "UPDATE articles SET fetched_at = ?, first_fetched_at = ? WHERE id = ?",
                    (row["fetched_at"], first, article.id),
                )
                if capture is not None:
                    indexrows.add_capture(db, final.id, url, status, article.fetched_at, capture)
                # the URL's HTTP state (status, ETag) stays the latest fetch's
                indexrows.mark_url(
                    db, url, final.source, state="done", article_id=final.id, error=None
                )
                crashpoints.crash_if("index")
        except BaseException:  # StoreError, or Ctrl-C / SIGTERM mid-transaction
            self._restore(path, old_bytes, rewrite)
            raise
        if rel != row["path"]:  # the latest record's publication date differs
            with contextlib.suppress(FileNotFoundError):
                (self.root / row["path"]).unlink()
        outcome = "revised" if len(after) > len(revs) else "unchanged"
        return SaveResult(article=final, status=outcome, path=path)

    def _restore(self, path: Path, old_bytes: bytes | None, rewrite: bool) -> None:
        """Undo a file write whose index transaction failed, so file and index agree."""
        if not rewrite:
            return
        with contextlib.suppress(StoreError, OSError):
            if old_bytes is None:
                path.unlink()
            else:
                atomic_write(path, old_bytes)

    def _seen_urls(self, article: Article, url: str) -> tuple[str, ...]:
        rows = self.db.execute("SELECT url FROM urls WHERE article_id = ?", (article.id,))
        urls = {r["url"] for r in rows} | {url} | set(article.urls)
        urls.discard(article.url)
        return tuple(sorted(urls))

    def add_capture(
        self,
        article_id: str | None,
        url: str,
        status: int,
        fetched_at: str | None,
        capture: WarcRef,
    ) -> None:
        """Catalog a capture that is no article's (robots.txt, a feed: scraper/evidence.py)."""
        with self.transaction() as db:
            indexrows.add_capture(db, article_id, url, status, fetched_at, capture)

    def replace_record(self, article: Article) -> Path:
        """Rewrite a stored article in place (same revision): reparse and repairs use this.
        File first, then index, as in ``save``; the index row keeps its first fetch time."""
        path = self.root / article_relpath(article)
        row = self.db.execute("SELECT path FROM articles WHERE id = ?", (article.id,)).fetchone()
        old_bytes = path.read_bytes() if path.exists() else None
        atomic_write(path, dump_article(article), durable=self.durable)
        try:
            with self.transaction() as db:
                indexrows.upsert_article(db, article, str(path.relative_to(self.root)))
                indexrows.put_revision(db, article, None)
        except BaseException:  # StoreError, or Ctrl-C / SIGTERM mid-transaction
            self._restore(path, old_bytes, True)
            raise
        if row is not None and row["path"] != str(path.relative_to(self.root)):
            with contextlib.suppress(FileNotFoundError):
                (self.root / row["path"]).unlink()
        return path

    def rebuild_search(self) -> None:
        """Refill the FTS table from the article files (after a VACUUM renumbered rowids, or
        when ``scraper check`` finds the two apart)."""
        with self.transaction() as db:
            for row in db.execute("SELECT rowid, path FROM articles").fetchall():
                article = self.load_file(self.root / row["path"])
                db.execute(
                    "UPDATE articles SET title = ?, body = ? WHERE rowid = ?",
                    (article.title, article.body, row["rowid"]),
                )
            db.execute("INSERT INTO articles_fts (articles_fts) VALUES ('rebuild')")

    def iter_articles(
        self,
        *,
        source: str | None = None,
        since: str | None = None,
        until: str | None = None,
        section: str | None = None,
        on_error: Callable[[StoreError], None] | None = None,
    ) -> Iterator[Article]:
        """Articles in publication order, one file at a time: the rows stream from one cursor
        (SQLite sorts within its bounded cache), so memory stays constant."""
        conditions, args = filters.where(source=source, since=since, until=until, section=section)
        where = "1=1" + conditions
        cursor = self.db.execute(
            f"SELECT path, id FROM articles WHERE {where} ORDER BY published_at, id", args
        )
        for rel, article_id in cursor:
            try:
                article = self.load_file(self.root / rel)
            except StoreError as exc:
                # with ``on_error`` a missing or unreadable file is reported and skipped, so
                # one lost file does not end the walk (``export`` writes every other record)
                if on_error is None:
                    raise
                what = "missing" if not (self.root / rel).exists() else "unreadable"
                error = StoreError(f"{article_id}: article file {what}", where=rel)
                error.__cause__ = exc
                on_error(error)
                continue
            yield article

    def count(self, source: str | None = None) -> int:
        if source:
            row = self.db.execute("SELECT COUNT(*) FROM articles WHERE source = ?", (source,))
        else:
            row = self.db.execute("SELECT COUNT(*) FROM articles")
        return int(row.fetchone()[0])

    def revisions(self, article_id: str) -> list[Article]:
        rows = self.db.execute(
            "SELECT record FROM revisions WHERE article_id = ? ORDER BY revision", (article_id,)
        )
        return [Article.from_dict(json.loads(r["record"])) for r in rows]

    # -- URLs (the frontier) --------------------------------------------------------------------
    def url_row(self, url: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.db.execute(
            "SELECT * FROM urls WHERE url = ?", (url,)
        ).fetchone()
        return row

    def mark_url(self, url: str, source: str, **fields: Any) -> None:
        with self.transaction() as db:
            indexrows.mark_url(db, url, source, **fields)
