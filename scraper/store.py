"""The on-disk archive: article JSON files (atomic), the SQLite catalog (WAL), WARC captures.

Layout under the archive root (docs/archive-format.md):
    articles/<source>/<YYYY>/<MM>/<DD>/<native-id>.json   latest revision of each article
    warc/<source>/<YYYY-MM-DD>-<seq>.warc.gz              raw request/response/metadata records
    index.sqlite                                          urls, articles, revisions, captures

Write order for one article: WARC append → JSON file (temp + fsync + rename) → one SQLite
transaction. A crash between steps leaves extra bytes, never a record pointing at nothing;
``scraper check`` reconciles what a crash left behind.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scraper.dates import now_iso
from scraper.errors import StoreError
from scraper.models import Article
from scraper.warc import WarcRef

log = logging.getLogger(__name__)

# Ordered migrations; the index's user_version is the number applied. Append, never edit.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE articles (
        id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        native_id TEXT NOT NULL,
        url TEXT NOT NULL,
        title TEXT NOT NULL,
        published_at TEXT,
        updated_at TEXT,
        section TEXT,
        parser TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        revision INTEGER NOT NULL,
        path TEXT NOT NULL,
        first_fetched_at TEXT,
        fetched_at TEXT,
        story_id TEXT
    );
    CREATE INDEX articles_source_published ON articles(source, published_at);
    CREATE TABLE revisions (
        article_id TEXT NOT NULL,
        revision INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        fetched_at TEXT,
        warc_file TEXT,
        warc_offset INTEGER,
        record TEXT NOT NULL,
        PRIMARY KEY (article_id, revision)
    );
    CREATE TABLE captures (
        id INTEGER PRIMARY KEY,
        article_id TEXT,
        url TEXT NOT NULL,
        status INTEGER NOT NULL,
        fetched_at TEXT NOT NULL,
        warc_file TEXT NOT NULL,
        warc_offset INTEGER NOT NULL,
        warc_length INTEGER NOT NULL,
        record_id TEXT NOT NULL
    );
    CREATE INDEX captures_article ON captures(article_id);
    CREATE TABLE urls (
        url TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        kind TEXT NOT NULL DEFAULT 'article',
        article_id TEXT,
        state TEXT NOT NULL DEFAULT 'new',
        http_status INTEGER,
        etag TEXT,
        last_modified TEXT,
        first_seen TEXT NOT NULL,
        last_checked TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        error TEXT
    );
    CREATE INDEX urls_source_state ON urls(source, kind, state);
    """,
    # 2: the service's state (scraper/state.py): one row per scheduled crawl, one per source
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        result TEXT NOT NULL DEFAULT 'running',
        discovered INTEGER NOT NULL DEFAULT 0,
        new INTEGER NOT NULL DEFAULT 0,
        revised INTEGER NOT NULL DEFAULT 0,
        unchanged INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        method TEXT,
        error TEXT
    );
    CREATE INDEX runs_source_started ON runs(source, started_at);
    CREATE TABLE service_sources (
        source TEXT PRIMARY KEY,
        next_run_at TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        backoff_until TEXT,
        updated_at TEXT NOT NULL
    );
    """,
    # 3: robots.txt per origin (scheme://host:port), re-read after a day (scraper/polite.py)
    """
    CREATE TABLE robots (
        origin TEXT PRIMARY KEY,
        status INTEGER NOT NULL,
        body TEXT NOT NULL,
        etag TEXT,
        last_modified TEXT,
        fetched_at TEXT NOT NULL
    );
    """,
)


@dataclass(frozen=True)
class SaveResult:
    article: Article
    status: str  # "new" | "unchanged" | "revised"
    path: Path


def _atomic_write(path: Path, data: bytes) -> None:
    """Write to a temp file beside ``path``, fsync, rename: readers see old or new, never half."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise StoreError(f"cannot write {path.name}: {exc.strerror}", where=str(path)) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise StoreError(f"cannot write {path.name}: {exc.strerror}", where=str(path)) from exc


def article_relpath(article: Article) -> str:
    """``articles/<source>/<YYYY>/<MM>/<DD>/<native-id>.json``, dated by publication (as printed,
    KST)."""
    stamp = article.published_at or article.fetched_at or now_iso()
    y, m, d = stamp[:4], stamp[5:7], stamp[8:10]
    native = article.id.split(":", 1)[1]
    return f"articles/{article.source}/{y}/{m}/{d}/{native}.json"


def dump_article(article: Article) -> bytes:
    return (json.dumps(article.to_dict(), ensure_ascii=False, indent=2) + "\n").encode("utf-8")


class Archive:
    """One archive directory. Open it, use it, close it (or use ``with``)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.root / "index.sqlite", timeout=30, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the index: {exc}", where=str(self.root)) from exc
        except OSError as exc:
            raise StoreError(
                f"cannot open the archive: {exc.strerror}", where=str(self.root)
            ) from exc

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
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {number + 1}")
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    # -- transactions ---------------------------------------------------------------------------
    def _tx(self) -> _Transaction:
        return _Transaction(self.db)

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
    ) -> SaveResult:
        """Store a freshly extracted article: new, unchanged (same content hash) or revised."""
        row = self.db.execute(
            "SELECT content_hash, revision, path, first_fetched_at FROM articles WHERE id = ?",
            (article.id,),
        ).fetchone()
        if row is not None and row["content_hash"] == article.content_hash:
            outcome, final = "unchanged", self.load_file(self.root / row["path"])
            path = self.root / row["path"]
        else:
            revision = 1 if row is None else row["revision"] + 1
            final = article.evolve(revision=revision)
            rel = article_relpath(final)
            path = self.root / rel
            if row is not None and row["path"] != rel:
                # the publication date moved (a corrected timestamp): the old file goes
                old = self.root / row["path"]
                if old.exists():
                    old.unlink()
            _atomic_write(path, dump_article(final))
            outcome = "new" if row is None else "revised"
        with self._tx() as db:
            if outcome != "unchanged":
                self._upsert_article(db, final, str(path.relative_to(self.root)), row)
                db.execute(
                    "INSERT OR REPLACE INTO revisions VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        final.id,
                        final.revision,
                        final.content_hash,
                        final.fetched_at,
                        capture.file if capture else None,
                        capture.offset if capture else None,
                        json.dumps(final.to_dict(), ensure_ascii=False),
                    ),
                )
            else:
                db.execute(
                    "UPDATE articles SET fetched_at = ? WHERE id = ?",
                    (article.fetched_at, article.id),
                )
            if capture is not None:
                db.execute(
                    "INSERT INTO captures (article_id, url, status, fetched_at, warc_file, "
                    "warc_offset, warc_length, record_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        final.id,
                        url,
                        status,
                        article.fetched_at or now_iso(),
                        capture.file,
                        capture.offset,
                        capture.length,
                        capture.record_id,
                    ),
                )
            self._mark_url(
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
        return SaveResult(article=final, status=outcome, path=path)

    def _upsert_article(
        self, db: sqlite3.Connection, a: Article, rel: str, previous: sqlite3.Row | None
    ) -> None:
        first = previous["first_fetched_at"] if previous is not None else a.fetched_at
        db.execute(
            "INSERT OR REPLACE INTO articles (id, source, native_id, url, title, published_at, "
            "updated_at, section, parser, content_hash, revision, path, first_fetched_at, "
            "fetched_at, story_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                a.id,
                a.source,
                a.id.split(":", 1)[1],
                a.url,
                a.title,
                a.published_at,
                a.updated_at,
                a.section,
                a.parser,
                a.content_hash,
                a.revision,
                rel,
                first,
                a.fetched_at,
                a.story_id,
            ),
        )

    def iter_articles(
        self, *, source: str | None = None, since: str | None = None, until: str | None = None
    ) -> Iterator[Article]:
        """Articles in publication order, one file at a time (constant memory)."""
        sql = "SELECT path FROM articles WHERE 1=1"
        args: list[Any] = []
        if source:
            sql += " AND source = ?"
            args.append(source)
        if since:
            sql += " AND published_at >= ?"
            args.append(since)
        if until:
            sql += " AND published_at < ?"
            args.append(until)
        sql += " ORDER BY published_at, id"
        paths = [r["path"] for r in self.db.execute(sql, args)]
        for rel in paths:
            yield self.load_file(self.root / rel)

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

    def _mark_url(self, db: sqlite3.Connection, url: str, source: str, **fields: Any) -> None:
        now = now_iso()
        db.execute(
            "INSERT INTO urls (url, source, first_seen) VALUES (?, ?, ?) "
            "ON CONFLICT(url) DO NOTHING",
            (url, source, now),
        )
        fields.setdefault("last_checked", now)
        assignments = ", ".join(f"{k} = ?" for k in fields)
        db.execute(f"UPDATE urls SET {assignments} WHERE url = ?", (*fields.values(), url))

    def mark_url(self, url: str, source: str, **fields: Any) -> None:
        with self._tx() as db:
            self._mark_url(db, url, source, **fields)


class _Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (or ``ROLLBACK`` on error), errors as ``StoreError``."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"index is busy or unwritable: {exc}") from exc
        return self.db

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            try:
                self.db.execute("COMMIT")
            except sqlite3.Error as err:
                self.db.execute("ROLLBACK")
                raise StoreError(f"cannot commit to the index: {err}") from err
        else:
            self.db.execute("ROLLBACK")
