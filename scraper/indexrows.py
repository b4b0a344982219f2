"""The index rows one write puts down, and the transaction around them.

``Archive`` (scraper/store.py) decides what a save stores; these write it: the article row and
its search entry, a revision, a capture, a URL's state. ``check --repair`` and
``rebuild-index`` write the same rows through the same functions, inside ``Transaction``.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from typing import Any

from scraper.dates import now_iso
from scraper.errors import DiskFull, StoreError, is_disk_full
from scraper.models import Article
from scraper.warc import WarcRef


def put_revision(db: sqlite3.Connection, a: Article, capture: WarcRef | None) -> None:
    record = json.dumps(a.to_dict(), ensure_ascii=False)
    if capture is None:  # a metadata-only change of a stored revision keeps its capture
        db.execute(
            "UPDATE revisions SET record = ?, content_hash = ? "
            "WHERE article_id = ? AND revision = ?",
            (record, a.content_hash, a.id, a.revision),
        )
        if db.execute("SELECT changes()").fetchone()[0]:
            return
    db.execute(
        "INSERT OR REPLACE INTO revisions VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            a.id,
            a.revision,
            a.content_hash,
            a.fetched_at,
            capture.file if capture else None,
            capture.offset if capture else None,
            record,
        ),
    )


def add_capture(
    db: sqlite3.Connection,
    article_id: str | None,
    url: str,
    status: int,
    fetched_at: str | None,
    capture: WarcRef,
) -> None:
    db.execute(
        "INSERT INTO captures (article_id, url, status, fetched_at, warc_file, "
        "warc_offset, warc_length, record_id, record_type, payload_digest) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            article_id,
            capture.uri or url,  # the record's target URI: the URL that answered
            status,
            fetched_at or now_iso(),
            capture.file,
            capture.offset,
            capture.length,
            capture.record_id,
            capture.record_type,
            capture.payload_digest or None,
        ),
    )


def upsert_article(db: sqlite3.Connection, a: Article, rel: str) -> None:
    """Insert or update the index row and its search entry. An upsert (not REPLACE) keeps
    the row's rowid, which the FTS table shares. The search table indexes the row's own
    ``title`` and ``body`` (external content): the old entry goes out with the old values
    before the row changes."""
    old = db.execute("SELECT rowid, title, body FROM articles WHERE id = ?", (a.id,)).fetchone()
    if old is not None:
        db.execute(
            "INSERT INTO articles_fts (articles_fts, rowid, title, body) "
            "VALUES ('delete', ?, ?, ?)",
            (old["rowid"], old["title"], old["body"]),
        )
    db.execute(
        "INSERT INTO articles (id, source, native_id, url, title, published_at, "
        "updated_at, section, parser, content_hash, revision, path, first_fetched_at, "
        "fetched_at, story_id, n_authors, n_images, body_chars, body) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET url = excluded.url, title = excluded.title, "
        "published_at = excluded.published_at, updated_at = excluded.updated_at, "
        "section = excluded.section, parser = excluded.parser, "
        "content_hash = excluded.content_hash, revision = excluded.revision, "
        "path = excluded.path, fetched_at = excluded.fetched_at, "
        "story_id = excluded.story_id, n_authors = excluded.n_authors, "
        "n_images = excluded.n_images, body_chars = excluded.body_chars, "
        "body = excluded.body",
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
            a.fetched_at,
            a.fetched_at,
            a.story_id,
            len(a.authors),
            len(a.images),
            len(a.body),
            a.body,
        ),
    )
    rowid = db.execute("SELECT rowid FROM articles WHERE id = ?", (a.id,)).fetchone()[0]
    db.execute(
        "INSERT INTO articles_fts (rowid, title, body) VALUES (?, ?, ?)",
        (rowid, a.title, a.body),
    )


def mark_url(db: sqlite3.Connection, url: str, source: str, **fields: Any) -> None:
    now = now_iso()
    db.execute(
        "INSERT INTO urls (url, source, first_seen) VALUES (?, ?, ?) ON CONFLICT(url) DO NOTHING",
        (url, source, now),
    )
    fields.setdefault("last_checked", now)
    assignments = ", ".join(f"{k} = ?" for k in fields)
    db.execute(f"UPDATE urls SET {assignments} WHERE url = ?", (*fields.values(), url))


class Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (or ``ROLLBACK`` on error), errors as ``StoreError``."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"index is busy or unwritable: {exc}") from exc
        return self.db

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if exc_type is None:
            try:
                self.db.execute("COMMIT")
            except sqlite3.Error as err:
                self._rollback()
                raise index_error("cannot commit to the index", err) from err
        else:
            self._rollback()
            # a failure at any statement of the block, not only at BEGIN or COMMIT, must reach
            # the callers' ``except StoreError`` (save and replace_record put the file back)
            if isinstance(exc, sqlite3.Error):
                raise index_error("cannot write to the index", exc) from exc

    def _rollback(self) -> None:
        # SQLite has already rolled back after some errors (a full disk): then ROLLBACK itself
        # fails with "no transaction is active", which must not hide the real error
        with contextlib.suppress(sqlite3.Error):
            self.db.execute("ROLLBACK")


def index_error(what: str, exc: sqlite3.Error) -> StoreError:
    if is_disk_full(exc):
        return DiskFull("the index")
    return StoreError(f"{what}: {exc}")
