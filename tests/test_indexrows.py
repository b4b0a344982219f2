"""scraper/indexrows.py in the test process: the article row and search entry an upsert
leaves, a revision row with and without a capture, the transaction's rollback and errors;
and scraper/articlefile.py's names, bytes and write errors."""

from __future__ import annotations

import errno
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from scraper import articlefile, indexrows
from scraper.errors import DiskFull, StoreError
from scraper.models import Article, Image
from scraper.store import Archive
from scraper.warc import WarcRef

ID = "yonhap:AKR20240101000100315"


def art(
    title: str, body: str, *, revision: int = 1, at: str = "2024-01-01T01:00:00+00:00"
) -> Article:
    return Article(
        id=ID,
        source="yonhap",
        url="https://example.test/a",
        title=title,
        subtitle=None,
        authors=("Kim", "Lee"),
        published_at="2024-01-01T09:00:00+09:00",
        updated_at="2024-01-02T09:00:00+09:00",
        section="politics",
        tags=(),
        language="ko",
        body=body,
        editor_note=None,
        images=(Image(url="https://example.test/i.jpg", caption=None),),
        fetched_at=at,
        content_hash=f"h-{title}",
        parser="test",
        revision=revision,
        story_id="s1",
    )


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    with Archive(tmp_path) as archive:
        yield archive.db


def matches(db: sqlite3.Connection, query: str) -> list[str]:
    return [
        r[0]
        for r in db.execute(
            "SELECT a.id FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid "
            "WHERE articles_fts MATCH ?",
            (query,),
        )
    ]


# -- upsert_article --------------------------------------------------------------------------
def test_upsert_writes_the_row_values(db: sqlite3.Connection) -> None:
    indexrows.upsert_article(db, art("Alpha", "선거 body"), "articles/x.json")
    row = dict(db.execute("SELECT * FROM articles WHERE id = ?", (ID,)).fetchone())
    assert row == row | {
        "id": ID,
        "source": "yonhap",
        "native_id": "AKR20240101000100315",
        "url": "https://example.test/a",
        "title": "Alpha",
        "published_at": "2024-01-01T09:00:00+09:00",
        "updated_at": "2024-01-02T09:00:00+09:00",
        "section": "politics",
        "parser": "test",
        "content_hash": "h-Alpha",
        "revision": 1,
        "path": "articles/x.json",
        "first_fetched_at": "2024-01-01T01:00:00+00:00",
        "fetched_at": "2024-01-01T01:00:00+00:00",
        "story_id": "s1",
        "n_authors": 2,
        "n_images": 1,
        "body_chars": len("선거 body"),
        "body": "선거 body",
    }


def test_upsert_replaces_the_search_entry_and_keeps_the_first_fetch(
    db: sqlite3.Connection,
) -> None:
    indexrows.upsert_article(db, art("Alpha", "oldword text"), "articles/x.json")
    rowid = db.execute("SELECT rowid FROM articles").fetchone()[0]
    later = art("Beta", "newword text", revision=2, at="2024-01-03T00:00:00+00:00")
    indexrows.upsert_article(db, later, "articles/y.json")
    assert matches(db, "oldword") == []
    assert matches(db, "Alpha") == []
    assert matches(db, "newword") == [ID]
    assert matches(db, "Beta") == [ID]
    assert matches(db, "text") == [ID]  # one entry, not two
    row = db.execute("SELECT rowid, * FROM articles").fetchone()
    assert row["rowid"] == rowid  # the search table shares it
    assert (row["first_fetched_at"], row["fetched_at"]) == (
        "2024-01-01T01:00:00+00:00",
        "2024-01-03T00:00:00+00:00",
    )
    assert (row["revision"], row["path"], row["title"]) == (2, "articles/y.json", "Beta")
    assert db.execute("SELECT count(*) FROM articles").fetchone()[0] == 1
    # the search index agrees with its content table (an entry deleted with wrong values fails)
    db.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 1)")


# -- put_revision ----------------------------------------------------------------------------
def revisions(db: sqlite3.Connection) -> list[tuple[object, ...]]:
    return [
        tuple(r)
        for r in db.execute(
            "SELECT revision, content_hash, fetched_at, warc_file, warc_offset FROM revisions"
        )
    ]


def test_put_revision_stores_the_record_json_as_text(db: sqlite3.Connection) -> None:
    a = art("Alpha", "선거 body")
    indexrows.put_revision(db, a, WarcRef("w.warc.gz", 10, 5, "<urn:x>"))
    raw = db.execute("SELECT record FROM revisions").fetchone()[0]
    assert "선거 body" in raw  # as in the article file, not \\u-escaped
    assert Article.from_dict(json.loads(raw)) == a
    assert revisions(db) == [(1, "h-Alpha", "2024-01-01T01:00:00+00:00", "w.warc.gz", 10)]


def test_put_revision_without_capture_keeps_the_stored_pointer(db: sqlite3.Connection) -> None:
    indexrows.put_revision(db, art("Alpha", "b"), WarcRef("w.warc.gz", 10, 5, "<urn:x>"))
    fixed = art("Alpha2", "b", at="2024-02-01T00:00:00+00:00")  # a metadata-only change
    indexrows.put_revision(db, fixed, None)
    assert revisions(db) == [(1, "h-Alpha2", "2024-01-01T01:00:00+00:00", "w.warc.gz", 10)]
    record = json.loads(db.execute("SELECT record FROM revisions").fetchone()[0])
    assert record["title"] == "Alpha2"


def test_put_revision_without_capture_or_row_inserts_one(db: sqlite3.Connection) -> None:
    indexrows.put_revision(db, art("Alpha", "b", revision=3), None)
    assert revisions(db) == [(3, "h-Alpha", "2024-01-01T01:00:00+00:00", None, None)]


def test_put_revision_with_a_capture_replaces_the_pointer(db: sqlite3.Connection) -> None:
    indexrows.put_revision(db, art("Alpha", "b"), WarcRef("w.warc.gz", 10, 5, "<urn:x>"))
    later = art("Alpha", "b", at="2024-02-01T00:00:00+00:00")
    indexrows.put_revision(db, later, WarcRef("v.warc.gz", 20, 5, "<urn:y>"))
    assert revisions(db) == [(1, "h-Alpha", "2024-02-01T00:00:00+00:00", "v.warc.gz", 20)]


# -- Transaction -----------------------------------------------------------------------------
def test_a_failing_statement_rolls_back_and_raises_store_error(db: sqlite3.Connection) -> None:
    with (
        pytest.raises(StoreError, match=r"cannot write to the index: .*no such table"),
        indexrows.Transaction(db) as tx,
    ):
        indexrows.put_revision(tx, art("Alpha", "b"), None)
        tx.execute("SELECT * FROM nowhere")
    assert revisions(db) == []


def test_an_error_sqlite_already_rolled_back_is_not_hidden(db: sqlite3.Connection) -> None:
    with (
        pytest.raises(StoreError, match=r"cannot write to the index: .*no such table"),
        indexrows.Transaction(db) as tx,
    ):
        tx.execute("ROLLBACK")  # as SQLite does itself after a full disk
        tx.execute("SELECT * FROM nowhere")
    assert not db.in_transaction


def test_a_full_disk_in_the_index_is_disk_full(db: sqlite3.Connection) -> None:
    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = 13  # SQLITE_FULL
    err = indexrows.index_error("cannot write to the index", full)
    assert isinstance(err, DiskFull)
    assert str(err) == "disk full while writing the index"
    other = indexrows.index_error("cannot commit", sqlite3.OperationalError("locked"))
    assert type(other) is StoreError
    assert str(other) == "cannot commit: locked"


# -- articlefile -----------------------------------------------------------------------------
def test_temp_owner_reads_the_pid_of_a_temp_name() -> None:
    assert articlefile.temp_owner(".AKR1.json.4242.ab12cd.tmp") == 4242
    assert articlefile.temp_owner("json.4242.ab12cd.tmp") == 4242  # four parts is enough
    assert articlefile.temp_owner("4242.ab12cd.tmp") is None
    assert articlefile.temp_owner(".AKR1.json.x42.ab12cd.tmp") is None
    assert articlefile.temp_owner("a.b.7.c.d.tmp") is None  # the pid is third from the end
    assert articlefile.temp_owner("a b 42 c d") is None


def test_article_relpath_dates_by_publication_then_fetch() -> None:
    a = art("Alpha", "b")
    assert articlefile.article_relpath(a) == "articles/yonhap/2024/01/01/AKR20240101000100315.json"
    undated = a.evolve(published_at=None, fetched_at="2023-05-06T00:00:00+00:00")
    assert articlefile.article_relpath(undated) == (
        "articles/yonhap/2023/05/06/AKR20240101000100315.json"
    )
    colons = a.evolve(id="yonhap:a:b")  # only the first colon separates the source
    assert articlefile.article_relpath(colons).endswith("/a:b.json")


def test_dump_article_is_indented_utf8_json_with_a_newline() -> None:
    a = art("선거", "본문")
    data = articlefile.dump_article(a)
    assert data.endswith(b"}\n")
    assert '\n  "title": "선거",\n'.encode() in data
    assert json.loads(data) == a.to_dict()


def test_write_errors_name_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a.json"

    def fail(code: int) -> None:
        def replace(src: str, dst: object) -> None:
            raise OSError(code, "boom")

        monkeypatch.setattr(articlefile.os, "replace", replace)

    fail(errno.ENOSPC)
    with pytest.raises(DiskFull) as full:
        articlefile.atomic_write(path, b"x", durable=False)
    assert str(full.value) == f"disk full while writing article file a.json ({path})"
    fail(errno.EACCES)
    with pytest.raises(StoreError) as denied:
        articlefile.atomic_write(path, b"x", durable=False)
    assert str(denied.value) == f"cannot write a.json: boom ({path})"
    assert list(tmp_path.iterdir()) == []  # no temp file left behind


def test_a_changed_article_keeps_its_search_entry_on_its_row(db: sqlite3.Connection) -> None:
    indexrows.upsert_article(db, art("Alpha", "first text"), "articles/x.json")
    other = art("Other", "second text").evolve(id="yonhap:a:b")  # a colon in the native id
    indexrows.upsert_article(db, other, "articles/o.json")
    indexrows.upsert_article(db, art("Gamma", "third text"), "articles/x.json")
    assert sorted(matches(db, "text")) == sorted([ID, "yonhap:a:b"])
    assert matches(db, "third") == [ID]
    native = db.execute("SELECT native_id FROM articles WHERE id = 'yonhap:a:b'").fetchone()[0]
    assert native == "a:b"


# -- add_capture and mark_url ----------------------------------------------------------------
def test_add_capture_writes_the_answering_url_and_pointer(db: sqlite3.Connection) -> None:
    indexrows.upsert_article(db, art("Alpha", "b"), "articles/x.json")
    ref = WarcRef("w.warc.gz", 10, 5, "<urn:1>", "https://example.test/final", "revisit", "sha1:X")
    indexrows.add_capture(db, ID, "https://example.test/asked", 200, "2024-01-01T00:00:00Z", ref)
    bare = WarcRef("v.warc.gz", 20, 6, "<urn:2>")
    indexrows.add_capture(db, None, "https://example.test/asked", 404, None, bare)
    rows = [
        tuple(r)
        for r in db.execute(
            "SELECT article_id, url, status, fetched_at, warc_file, warc_offset, warc_length, "
            "record_id, record_type, payload_digest FROM captures ORDER BY id"
        )
    ]
    assert rows[0] == (
        ID,
        "https://example.test/final",
        200,
        "2024-01-01T00:00:00Z",
        "w.warc.gz",
        10,
        5,
        "<urn:1>",
        "revisit",
        "sha1:X",
    )
    assert rows[1][:3] == (None, "https://example.test/asked", 404)
    assert rows[1][3]  # a capture without a time is dated now
    assert rows[1][4:] == ("v.warc.gz", 20, 6, "<urn:2>", "response", None)


def test_mark_url_adds_then_updates_the_url_row(db: sqlite3.Connection) -> None:
    indexrows.mark_url(db, "https://example.test/u", "yonhap", state="failed", error="boom")
    first = dict(db.execute("SELECT * FROM urls").fetchone())
    assert (first["source"], first["state"], first["error"]) == ("yonhap", "failed", "boom")
    assert first["first_seen"] and first["last_checked"] == first["first_seen"]
    indexrows.mark_url(
        db, "https://example.test/u", "other", state="done", error=None, last_checked="later"
    )
    row = dict(db.execute("SELECT * FROM urls").fetchone())
    assert row == first | {"state": "done", "error": None, "last_checked": "later"}


# -- Transaction: begin and commit -----------------------------------------------------------
def test_a_transaction_commits(tmp_path: Path, db: sqlite3.Connection) -> None:
    with indexrows.Transaction(db) as tx:
        indexrows.put_revision(tx, art("Alpha", "b"), None)
    assert not db.in_transaction
    other = sqlite3.connect(tmp_path / "index.sqlite")
    try:
        assert other.execute("SELECT count(*) FROM revisions").fetchone()[0] == 1
    finally:
        other.close()


def test_a_failed_commit_rolls_back_and_says_so(db: sqlite3.Connection) -> None:
    with (
        pytest.raises(StoreError) as failed,
        indexrows.Transaction(db) as tx,
    ):
        tx.execute("PRAGMA defer_foreign_keys = ON")  # the violation then shows at COMMIT
        indexrows.add_capture(tx, "yonhap:none", "u", 200, "t", WarcRef("w", 1, 1, "<r>"))
    assert str(failed.value) == "cannot commit to the index: FOREIGN KEY constraint failed"
    assert not db.in_transaction
    assert db.execute("SELECT count(*) FROM captures").fetchone()[0] == 0


def test_a_busy_index_is_a_store_error(tmp_path: Path, db: sqlite3.Connection) -> None:
    other = sqlite3.connect(tmp_path / "index.sqlite", timeout=0, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreError) as busy, indexrows.Transaction(other):
            pass
        assert str(busy.value) == "index is busy or unwritable: database is locked"
    finally:
        db.execute("ROLLBACK")
        other.close()


def test_atomic_write_goes_through_a_pid_named_temp_beside_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a" / "b" / "x.json"  # directories made as needed
    seen: list[str] = []
    synced: list[int] = []
    real_replace, real_fsync = articlefile.os.replace, articlefile.os.fsync

    def replace(src: str, dst: Path) -> None:
        seen.append(src)
        assert dst == path
        real_replace(src, dst)

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(articlefile.os, "replace", replace)
    monkeypatch.setattr(articlefile.os, "fsync", fsync)
    articlefile.atomic_write(path, b"data")  # durable unless told otherwise
    assert path.read_bytes() == b"data"
    assert len(synced) == 1
    tmp = Path(seen[0])
    assert tmp.parent == path.parent
    assert tmp.name.startswith(f".x.json.{os.getpid()}.") and tmp.name.endswith(".tmp")
    assert articlefile.temp_owner(tmp.name) == os.getpid()
    assert sorted(p.name for p in path.parent.iterdir()) == ["x.json"]


def test_atomic_write_where_no_directory_can_be_made(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"")
    path = tmp_path / "f" / "x.json"
    with pytest.raises(StoreError) as failed:
        articlefile.atomic_write(path, b"x")
    assert str(failed.value).startswith("cannot write x.json: ")
    assert failed.value.where == str(path)
