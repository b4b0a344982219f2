"""Revisit records: a re-fetch whose payload is byte-identical to a stored response is written
as a ``revisit`` record (profile identical-payload-digest, as Heritrix and Browsertrix do)
instead of a second full copy. The earlier response is found in the catalog by URL and
``WARC-Payload-Digest``; the revisit names it by ``WARC-Refers-To`` (record id),
``WARC-Refers-To-Target-URI`` and ``WARC-Refers-To-Date``, which is what pywb uses to replay it.

Also: ``fix_legacy_captures`` converts catalog rows written before captures pointed at one
record (their ``warc_length`` spanned the whole exchange).
"""

from __future__ import annotations

import logging
import mmap
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from scraper.warc import WarcRef
from scraper.warcread import iter_members
from scraper.warcrecord import Original, warc_date

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Earlier:
    """A stored response with the same URL and payload: what a revisit refers to, and where
    its payload lives (for ``revisions``, which must point at a record holding the body)."""

    original: Original
    ref: WarcRef


def earlier_response(db: sqlite3.Connection, uri: str, digest: str) -> Earlier | None:
    row = db.execute(
        "SELECT record_id, url, fetched_at, warc_file, warc_offset, warc_length FROM captures "
        "WHERE url = ? AND payload_digest = ? AND record_type = 'response' "
        "ORDER BY id DESC LIMIT 1",
        (uri, digest),
    ).fetchone()
    if row is None:
        return None
    record_id, url, fetched_at, warc_file, offset, length = tuple(row)
    original = Original(record_id=record_id, uri=url, date=warc_date(fetched_at))
    ref = WarcRef(
        file=warc_file,
        offset=offset,
        length=length,
        record_id=record_id,
        uri=url,
        payload_digest=digest,
    )
    return Earlier(original=original, ref=ref)


def fix_legacy_captures(db: sqlite3.Connection, root: Path) -> int:
    """Give rows from before migration 5 (``record_type`` NULL) the length of the response
    record alone; their offset already pointed at it (the response was written first).
    Returns the rows fixed; rows whose file or record is gone are left for ``scraper check``."""
    rows = db.execute(
        "SELECT id, warc_file, warc_offset FROM captures WHERE record_type IS NULL"
    ).fetchall()
    by_file: dict[str, list[tuple[int, int]]] = {}
    for cid, warc_file, offset in rows:
        by_file.setdefault(warc_file, []).append((cid, offset))
    fixed = 0
    for warc_file, wanted in by_file.items():
        path = root / warc_file
        try:
            with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as m:
                members = {mb.offset: mb for mb in iter_members(m)}
        except (OSError, ValueError):
            continue
        for cid, offset in wanted:
            member = members.get(offset)
            if member is None or member.warc_type != "response":
                continue
            db.execute(
                "UPDATE captures SET warc_length = ?, record_type = 'response' WHERE id = ?",
                (member.length, cid),
            )
            fixed += 1
    log.info("fixed %d capture rows written before migration 5", fixed)
    return fixed
