"""Revisions in capture-time order, for captures that arrive older than what is stored.

``scraper import`` and ``scraper backfill`` store web-archive captures with their original
capture time, often after the live crawl stored a newer one. An article's revisions are its
captures in capture-time order with runs of the same content hash merged: revision 1 starts at
the first capture, each change of hash starts the next one. A revision's record is the
extraction of its first capture. This module works out, without touching the disk, where one
older capture goes in that sequence (``place``); ``Archive.save`` writes the outcome
(docs/archive-format.md, "Revisions").
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from scraper.models import Article
from scraper.warc import WarcRef


@dataclass(frozen=True)
class Rev:
    """One revision: its record (``record.revision`` is its number), the time of its first
    capture and the WARC record holding that capture's body."""

    record: Article
    fetched_at: str
    warc_file: str | None
    warc_offset: int | None


@dataclass(frozen=True)
class Seen:
    """A stored capture of the article: when, and the record holding its body (None for a
    revisit, whose body is elsewhere)."""

    fetched_at: str
    warc_file: str | None
    warc_offset: int | None


_DAWN = datetime.min.replace(tzinfo=UTC)


def instant(value: str | None) -> datetime:
    """A stored time as an instant, so "+09:00" and "+00:00" times compare right (a time
    without offset is UTC, as the WARC dates it came from; a missing or unreadable one sorts
    first rather than stopping a save or a check)."""
    try:
        return _parse(value) if value else _DAWN
    except ValueError:
        return _DAWN


def _parse(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def older(value: str | None, than: str | None) -> bool:
    """Whether ``value`` is an earlier instant than ``than``; False when either is missing or
    unreadable (the save then goes the ordinary way, as the newest capture)."""
    if not value or not than:
        return False
    try:
        return _parse(value) < _parse(than)
    except ValueError:
        return False


def earliest(a: str | None, b: str | None) -> str | None:
    """The earlier of two stored times (the one given when the other is missing)."""
    if not a or not b:
        return a or b
    return b if older(b, a) else a


def with_capture(
    revs: Sequence[Rev], seen: Sequence[Seen], article: Article, body: WarcRef | None
) -> list[Rev]:
    """The revisions once the capture extracted as ``article`` (its body in the WARC record
    ``body``) is added (``place``); the latest record lists the URLs ``article`` lists (the
    file holds the latest revision, and the article may have been seen under one more URL)."""
    new = Rev(
        article,
        article.fetched_at or "",
        body.file if body else None,
        body.offset if body else None,
    )
    after = list(place(revs, new, seen) or revs)
    if set(after[-1].record.urls) != set(article.urls):
        after[-1] = replace(after[-1], record=after[-1].record.evolve(urls=article.urls))
    return after


def place(revs: Sequence[Rev], new: Rev, seen: Sequence[Seen]) -> tuple[Rev, ...] | None:
    """The revisions after adding the capture ``new`` (its record carries any revision number),
    numbered 1… in time order; None when they do not change (``new`` has the content of the
    revision in force at its time and is not older than that revision's first capture).

    ``revs`` are the stored revisions, oldest first; ``seen`` the article's stored captures.
    Cases, for a capture at time t with hash h:
      - older than every revision: same hash as the first → the first starts at t instead;
        else a new revision 1.
      - else, in force at t is the latest revision starting at or before t: same hash →
        nothing changes. Different: a new revision starts at t; when stored captures of the
        old content fall after t (before the next revision), the old content comes back at
        the first of them (a revision of its own); else when the next revision has hash h, it
        starts at t instead (no new revision).
    """
    at = instant(new.fetched_at)
    h = new.record.content_hash
    out = list(revs)
    before = [i for i, rev in enumerate(out) if instant(rev.fetched_at) <= at]
    if not before:
        if out and out[0].record.content_hash == h:
            out[0] = new
        else:
            out.insert(0, new)
        return _numbered(out)
    i = before[-1]
    if out[i].record.content_hash == h:
        return None
    end = instant(out[i + 1].fetched_at) if i + 1 < len(out) else None
    back = sorted(
        (
            s
            for s in seen
            if at < instant(s.fetched_at) and (end is None or instant(s.fetched_at) < end)
        ),
        key=lambda s: instant(s.fetched_at),
    )
    if back:  # the old content was seen again after t: it returns, as a revision of its own
        old = out[i]
        first = back[0]
        again = Rev(
            record=old.record.evolve(fetched_at=first.fetched_at),
            fetched_at=first.fetched_at,
            warc_file=first.warc_file if first.warc_file else old.warc_file,
            warc_offset=first.warc_offset if first.warc_file else old.warc_offset,
        )
        out[i + 1 : i + 1] = [new, again]
    elif i + 1 < len(out) and out[i + 1].record.content_hash == h:
        out[i + 1] = new  # the next revision, first seen earlier
    else:
        out.insert(i + 1, new)
    return _numbered(out)


def in_time_order(revs: Sequence[Rev]) -> tuple[Rev, ...] | None:
    """Revisions saved in arrival order (before saves kept capture-time order, an older capture
    imported after a newer one became the newest revision): sorted by first capture, runs of
    one content hash taken as one (the earliest), renumbered. None when they are in time order
    (neighbours with one hash, as a reparse can leave, stay), or when a revision has no
    capture time to sort by."""
    if any(not rev.fetched_at for rev in revs):
        return None
    ordered = sorted(revs, key=lambda r: (instant(r.fetched_at), r.record.revision))
    if ordered == list(revs):
        return None
    merged: list[Rev] = []
    for rev in ordered:
        if not merged or merged[-1].record.content_hash != rev.record.content_hash:
            merged.append(rev)
    return _numbered(merged)


def _numbered(revs: list[Rev]) -> tuple[Rev, ...]:
    return tuple(
        rev if rev.record.revision == n else _renumber(rev, n) for n, rev in enumerate(revs, 1)
    )


def _renumber(rev: Rev, number: int) -> Rev:
    return Rev(rev.record.evolve(revision=number), rev.fetched_at, rev.warc_file, rev.warc_offset)


# -- the index's side (inside the store's transaction) --------------------------------------
def stored(db: sqlite3.Connection, article_id: str) -> tuple[list[Rev], list[Seen]]:
    """The article's revisions, oldest first, and its captures, from the index."""
    revs = [
        Rev(Article.from_dict(json.loads(r[0])), r[1] or "", r[2], r[3])
        for r in db.execute(
            "SELECT record, fetched_at, warc_file, warc_offset FROM revisions "
            "WHERE article_id = ? ORDER BY revision",
            (article_id,),
        )
    ]
    seen = [
        # a revisit's body is in another record: the revision then keeps its own pointer
        Seen(r[0], r[1] if r[3] in (None, "response") else None, r[2])
        for r in db.execute(
            "SELECT fetched_at, warc_file, warc_offset, record_type FROM captures "
            "WHERE article_id = ?",
            (article_id,),
        )
    ]
    return revs, seen


def write(db: sqlite3.Connection, article_id: str, revs: Sequence[Rev]) -> None:
    """Replace the article's ``revisions`` rows (the numbers move, and the primary key is
    (article_id, revision): deleting first spares a two-step renumbering)."""
    db.execute("DELETE FROM revisions WHERE article_id = ?", (article_id,))
    db.executemany(
        "INSERT INTO revisions VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (
                article_id,
                rev.record.revision,
                rev.record.content_hash,
                rev.fetched_at,
                rev.warc_file,
                rev.warc_offset,
                json.dumps(rev.record.to_dict(), ensure_ascii=False),
            )
            for rev in revs
        ],
    )
