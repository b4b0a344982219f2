"""scraper/revorder.py in the test process: where an older capture goes among an article's
revisions (docs/archive-format.md, "Revisions"), at equal and adjacent times, which capture
and WARC pointer a revision keeps, and the rows the index side reads and writes.
tests/test_history_order.py covers the same through the CLI."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scraper import indexrows, revorder
from scraper.models import Article
from scraper.revorder import Rev, Seen
from scraper.store import Archive
from scraper.warc import WarcRef

ID = "yonhap:AKR1"


def art(text: str, at: str | None, revision: int = 1, urls: Sequence[str] = ()) -> Article:
    """An article whose content hash is ``text`` (so equal text = same content)."""
    return Article(
        id=ID,
        source="yonhap",
        url="https://example.test/a",
        title=f"Title {text}",
        subtitle=None,
        authors=(),
        published_at=None,
        updated_at=None,
        section=None,
        tags=(),
        language="en",
        body=f"Body {text} é",
        editor_note=None,
        images=(),
        fetched_at=at,
        content_hash=f"h-{text}",
        parser="test",
        revision=revision,
        urls=tuple(urls),
    )


def t(hour: int) -> str:
    return f"2024-01-01T{hour:02d}:00:00+00:00"


def rev(text: str, hour: int, revision: int, file: str | None = None) -> Rev:
    return Rev(art(text, t(hour), revision), t(hour), file or f"w-{text}.warc.gz", hour * 100)


def shape(revs: Sequence[Rev] | None) -> list[tuple[int, str, str, str | None, int | None]]:
    """(number, content, first capture, WARC file, offset) per revision."""
    assert revs is not None
    return [
        (r.record.revision, r.record.content_hash, r.fetched_at, r.warc_file, r.warc_offset)
        for r in revs
    ]


# -- times ---------------------------------------------------------------------------------
def test_instant_reads_offsets_naive_times_as_utc_and_missing_as_dawn() -> None:
    assert revorder.instant("2024-01-01T09:00:00+09:00") == datetime(2024, 1, 1, tzinfo=UTC)
    # a time without offset is UTC (comparable with the others, not naive)
    assert revorder.instant("2024-01-01T00:00:00") == datetime(2024, 1, 1, tzinfo=UTC)
    assert revorder.instant("2024-01-01T00:00:00").tzinfo is not None
    assert revorder.instant(None) == datetime.min.replace(tzinfo=UTC)
    assert revorder.instant("") == datetime.min.replace(tzinfo=UTC)
    assert revorder.instant("garbage") == datetime.min.replace(tzinfo=UTC)


def test_older_is_strict_and_false_when_a_time_is_missing_or_unreadable() -> None:
    assert revorder.older("2024-01-01T08:59:00+09:00", "2024-01-01T00:00:00+00:00")
    assert not revorder.older(t(1), t(1))  # the same instant is not older
    assert not revorder.older("2024-01-01T09:00:00+09:00", "2024-01-01T00:00:00")
    assert revorder.older("2023-12-31T23:00:00", "2024-01-01T09:00:00+09:00")
    assert not revorder.older(None, t(1))
    assert not revorder.older(t(1), None)
    assert not revorder.older(None, None)
    assert not revorder.older("garbage", t(1))
    assert not revorder.older(t(1), "garbage")


def test_earliest_takes_the_given_time_when_the_other_is_missing() -> None:
    assert revorder.earliest(None, t(2)) == t(2)
    assert revorder.earliest(t(2), None) == t(2)
    assert revorder.earliest(None, None) is None
    assert revorder.earliest(t(3), t(2)) == t(2)
    assert revorder.earliest(t(2), t(3)) == t(2)
    assert revorder.earliest(t(2), "2024-01-01T02:00:00Z") == t(2)  # a tie keeps the first


# -- place -----------------------------------------------------------------------------------
def test_same_content_at_the_first_capture_time_changes_nothing() -> None:
    revs = [rev("A", 1, 1), rev("B", 3, 2)]
    assert revorder.place(revs, rev("A", 1, 9, "other.warc.gz"), []) is None


def test_new_content_at_the_first_capture_time_comes_after_it() -> None:
    revs = [rev("A", 1, 1), rev("B", 3, 2)]
    out = revorder.place(revs, rev("X", 1, 9), [])
    assert shape(out) == [
        (1, "h-A", t(1), "w-A.warc.gz", 100),
        (2, "h-X", t(1), "w-X.warc.gz", 100),
        (3, "h-B", t(3), "w-B.warc.gz", 300),
    ]


def test_older_than_all_with_the_first_content_moves_the_first_start() -> None:
    revs = [rev("A", 2, 1), rev("B", 3, 2)]
    out = revorder.place(revs, rev("A", 1, 7), [])
    assert shape(out) == [
        (1, "h-A", t(1), "w-A.warc.gz", 100),
        (2, "h-B", t(3), "w-B.warc.gz", 300),
    ]


def test_newer_than_all_with_new_content_is_appended() -> None:
    out = revorder.place([rev("A", 1, 1)], rev("X", 2, 5), [])
    assert shape(out) == [
        (1, "h-A", t(1), "w-A.warc.gz", 100),
        (2, "h-X", t(2), "w-X.warc.gz", 200),
    ]


def test_new_content_between_revisions_is_inserted_there() -> None:
    # the last revision has the new content: only the next one counts for a merge
    revs = [rev("A", 1, 1), rev("B", 3, 2), rev("X", 5, 3)]
    out = revorder.place(revs, rev("X", 2, 9), [])
    assert [(r.record.revision, r.record.content_hash, r.fetched_at) for r in out or ()] == [
        (1, "h-A", t(1)),
        (2, "h-X", t(2)),
        (3, "h-B", t(3)),
        (4, "h-X", t(5)),
    ]


def test_content_of_the_next_revision_seen_earlier_moves_its_start() -> None:
    revs = [rev("A", 1, 1), rev("B", 3, 2), rev("C", 5, 3)]
    out = revorder.place(revs, rev("B", 2, 9, "early.warc.gz"), [])
    assert shape(out) == [
        (1, "h-A", t(1), "w-A.warc.gz", 100),
        (2, "h-B", t(2), "early.warc.gz", 200),
        (3, "h-C", t(5), "w-C.warc.gz", 500),
    ]


def test_old_content_seen_again_returns_at_its_first_later_capture() -> None:
    revs = [rev("A", 1, 1), rev("B", 5, 2), rev("C", 7, 3)]
    # given out of time order; one after the next revision, which does not count
    seen = [Seen(t(4), "s4.warc.gz", 40), Seen(t(3), "s3.warc.gz", 30), Seen(t(6), "s6", 60)]
    out = revorder.place(revs, rev("X", 2, 9), seen)
    assert shape(out) == [
        (1, "h-A", t(1), "w-A.warc.gz", 100),
        (2, "h-X", t(2), "w-X.warc.gz", 200),
        (3, "h-A", t(3), "s3.warc.gz", 30),
        (4, "h-B", t(5), "w-B.warc.gz", 500),
        (5, "h-C", t(7), "w-C.warc.gz", 700),
    ]
    assert out is not None
    assert out[2].record.fetched_at == t(3)  # the returning record is dated by its capture


def test_a_capture_at_the_new_time_itself_is_not_a_return() -> None:
    out = revorder.place([rev("A", 1, 1)], rev("X", 2, 9), [Seen(t(2), "s2.warc.gz", 20)])
    assert [(r.record.content_hash, r.fetched_at) for r in out or ()] == [
        ("h-A", t(1)),
        ("h-X", t(2)),
    ]


def test_captures_after_the_next_revision_are_not_a_return() -> None:
    # the next revision bounds the search, not the last one
    revs = [rev("A", 1, 1), rev("B", 3, 2), rev("C", 5, 3)]
    out = revorder.place(revs, rev("X", 2, 9), [Seen(t(4), "s4.warc.gz", 40)])
    assert [r.record.content_hash for r in out or ()] == ["h-A", "h-X", "h-B", "h-C"]


def test_a_returning_revisit_keeps_the_old_revisions_body_pointer() -> None:
    out = revorder.place([rev("A", 1, 1)], rev("X", 2, 9), [Seen(t(3), None, 30)])
    assert shape(out) == [
        (1, "h-A", t(1), "w-A.warc.gz", 100),
        (2, "h-X", t(2), "w-X.warc.gz", 200),
        (3, "h-A", t(3), "w-A.warc.gz", 100),
    ]


# -- with_capture ----------------------------------------------------------------------------
def test_with_capture_without_time_or_body_pointer() -> None:
    out = revorder.with_capture([], [], art("A", None), None)
    assert [(r.fetched_at, r.warc_file, r.warc_offset) for r in out] == [("", None, None)]


def test_with_capture_gives_the_latest_revision_the_new_captures_urls() -> None:
    revs = [rev("A", 2, 1), rev("B", 3, 2), rev("C", 4, 3)]
    urls = ("https://example.test/a", "https://example.test/old-a")
    ref = WarcRef("new.warc.gz", 11, 5, "<urn:x>")
    out = revorder.with_capture(revs, [], art("X", t(1), 4, urls), ref)
    assert shape(out) == [
        (1, "h-X", t(1), "new.warc.gz", 11),
        (2, "h-A", t(2), "w-A.warc.gz", 200),
        (3, "h-B", t(3), "w-B.warc.gz", 300),
        (4, "h-C", t(4), "w-C.warc.gz", 400),
    ]
    assert [r.record.urls for r in out] == [urls, (), (), urls]
    assert out[-1].record == revs[2].record.evolve(revision=4, urls=urls)


def test_with_capture_keeps_the_latest_record_when_its_urls_match() -> None:
    urls = ("https://example.test/b", "https://example.test/a")
    revs = [Rev(art("A", t(2), 1, urls), t(2), "w.warc.gz", 1)]
    out = revorder.with_capture(revs, [], art("A", t(3), 1, tuple(reversed(urls))), None)
    assert out == revs  # same set of URLs: their order stays as stored


# -- the index side --------------------------------------------------------------------------
@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    with Archive(tmp_path) as archive:
        indexrows.upsert_article(archive.db, art("A", t(1)), "a.json")  # the captures' article
        yield archive.db


def capture(db: sqlite3.Connection, at: str, file: str, offset: int, kind: str | None) -> None:
    db.execute(
        "INSERT INTO captures (article_id, url, status, fetched_at, warc_file, warc_offset, "
        "warc_length, record_id, record_type) VALUES (?, 'u', 200, ?, ?, ?, 1, 'r', ?)",
        (ID, at, file, offset, kind),
    )


def test_write_then_stored_round_trips_in_revision_order(db: sqlite3.Connection) -> None:
    db.execute(
        "INSERT INTO revisions VALUES (?, 1, 'h-old', ?, 'gone', 1, '{}')", (ID, t(9))
    )  # replaced, not kept
    revs = [rev("B", 2, 2), rev("A", 1, 1)]
    revorder.write(db, ID, revs)
    got, _ = revorder.stored(db, ID)
    assert got == [revs[1], revs[0]]
    raw = db.execute("SELECT record FROM revisions WHERE revision = 1").fetchone()[0]
    assert "Body A é" in raw  # the JSON as text, as in the article files
    assert json.loads(raw) == revs[1].record.to_dict()


def test_stored_reads_a_revision_without_time_as_empty(db: sqlite3.Connection) -> None:
    record = json.dumps(art("A", None).to_dict())
    db.execute("INSERT INTO revisions VALUES (?, 1, 'h-A', NULL, NULL, NULL, ?)", (ID, record))
    revs, _ = revorder.stored(db, ID)
    assert [(r.fetched_at, r.warc_file, r.warc_offset) for r in revs] == [("", None, None)]


def test_stored_captures_hide_a_revisits_pointer(db: sqlite3.Connection) -> None:
    capture(db, t(1), "a.warc.gz", 1, "response")
    capture(db, t(2), "b.warc.gz", 2, "revisit")
    capture(db, t(3), "c.warc.gz", 3, None)
    _, seen = revorder.stored(db, ID)
    assert sorted(seen, key=lambda s: s.fetched_at) == [
        Seen(t(1), "a.warc.gz", 1),
        Seen(t(2), None, 2),
        Seen(t(3), "c.warc.gz", 3),
    ]
