"""Damaged WARC files: keep every readable record, set the unreadable bytes aside.

A ``.warc.gz`` is one gzip member per record. Damage in the middle of a file (a bad sector, a
stray write) makes the member it hits unreadable, but every member after it is intact: a scan
that stopped at the first bad member would call all of them lost. ``scan_all`` instead
resynchronises: from the bad member it looks for the next offset where a complete gzip member
holding a WARC record starts, and carries on from there. What lies between is a *gap*; a gap
with nothing readable after it is a *tail* (what a writer killed mid-write leaves).

``salvage`` repairs one file without losing a byte: every gap is copied to
``quarantine/<file>.<start>-<end>.bin`` (with a JSON note of what it was and which catalog rows
pointed into it), the file is rewritten with the readable members only, and every catalog row
that points into the file (any table with ``warc_file`` + ``warc_offset`` columns) is moved to
the record's new offset. Rows that pointed into a gap lose their pointer (set to NULL, or the
row is dropped when the column may not be NULL); the note keeps them. The work is generic over
records: it never looks at record types, order or URIs.

Order, so that a crash leaves nothing pointing at nothing: quarantine files (fsynced) →
the new file under a temp name (fsynced) → one index transaction that moves the pointers, with
the rename of the new file over the old as its last step before COMMIT. A failed COMMIT puts the
old file back (it is kept as a hard link until then).
"""

from __future__ import annotations

import contextlib
import json
import logging
import mmap
import os
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scraper.errors import StoreError
from scraper.warcread import Member, member_at

log = logging.getLogger(__name__)

QUARANTINE = "quarantine"
_GZIP_MAGIC = b"\x1f\x8b\x08"


Piece = Member  # one complete gzip member: offset, length, the WARC-Type of its record


@dataclass(frozen=True)
class Gap:
    """Bytes no reader can use; ``tail`` when nothing readable follows them."""

    offset: int
    length: int
    tail: bool

    @property
    def end(self) -> int:
        return self.offset + self.length


@dataclass(frozen=True)
class FullScan:
    size: int
    pieces: tuple[Piece, ...]
    gaps: tuple[Gap, ...]

    @property
    def mid_gaps(self) -> tuple[Gap, ...]:
        return tuple(g for g in self.gaps if not g.tail)


def _resync(data: mmap.mmap, view: memoryview, start: int) -> int | None:
    """The first offset at or after ``start`` where a readable WARC member begins."""
    pos = data.find(_GZIP_MAGIC, start)
    while pos != -1:
        if member_at(view, pos, need_warc=True) is not None:
            return pos
        pos = data.find(_GZIP_MAGIC, pos + 1)
    return None


def scan_all(path: Path) -> FullScan:
    """Every readable member of the file, and the gaps between them."""
    size = path.stat().st_size
    if size == 0:
        return FullScan(0, (), ())
    pieces: list[Piece] = []
    gaps: list[Gap] = []
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        view = memoryview(data)
        try:
            pos = 0
            while pos < size:
                piece = member_at(view, pos)
                if piece is not None:
                    pieces.append(piece)
                    pos = piece.offset + piece.length
                    continue
                found = _resync(data, view, pos + 1)
                if found is None:
                    gaps.append(Gap(pos, size - pos, tail=True))
                    break
                gaps.append(Gap(pos, found - pos, tail=False))
                pos = found
        finally:
            view.release()
    return FullScan(size, tuple(pieces), tuple(gaps))


def quarantine_dir(root: Path, rel: str) -> Path:
    """``quarantine/<folder of the file>``: inside the archive, outside ``warc/``."""
    return root / QUARANTINE / Path(rel).parent


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _keep(root: Path, rel: str, path: Path, gaps: tuple[Gap, ...]) -> list[str]:
    """Copy each gap's bytes into the quarantine folder; returns their paths (archive-relative)."""
    folder = quarantine_dir(root, rel)
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    with path.open("rb") as src:
        for gap in gaps:
            target = folder / f"{path.name}.{gap.offset}-{gap.end}.bin"
            src.seek(gap.offset)
            with target.open("wb") as out:
                out.write(src.read(gap.length))
                out.flush()
                os.fsync(out.fileno())
            saved.append(str(target.relative_to(root)))
    _fsync_dir(folder)
    return saved


def _pointer_tables(db: sqlite3.Connection) -> list[tuple[str, bool]]:
    """Tables with ``warc_file`` + ``warc_offset`` columns, and whether the file may be NULL."""
    found = []
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        columns = {row[1]: row for row in db.execute(f'PRAGMA table_info("{name}")')}
        if "warc_file" in columns and "warc_offset" in columns:
            nullable = not columns["warc_file"][3] and not columns["warc_offset"][3]
            found.append((name, nullable))
    return found


def _new_offset(offset: int, gaps: tuple[Gap, ...]) -> int | None:
    """Where the byte at ``offset`` is once the gaps are cut out; None inside a gap."""
    shift = 0
    for gap in gaps:
        if offset < gap.offset:
            break
        if offset < gap.end:
            return None
        shift += gap.length
    return offset - shift


@dataclass
class Salvaged:
    file: str
    kept: int  # readable members kept
    cut: int  # bytes moved to quarantine
    saved_as: list[str] = field(default_factory=list)
    moved: int = 0  # catalog rows pointed at the new offset of their record
    lost: list[str] = field(default_factory=list)  # article ids whose capture was in a gap


def _repoint(
    db: sqlite3.Connection, rel: str, gaps: tuple[Gap, ...], result: Salvaged
) -> dict[str, list[dict[str, Any]]]:
    """Move the catalog's pointers into ``rel`` past the gaps; returns the rows that pointed
    into a gap, as they were."""
    lost_rows: dict[str, list[dict[str, Any]]] = {}
    for table, nullable in _pointer_tables(db):
        rows = db.execute(
            f'SELECT rowid AS _rowid, * FROM "{table}" WHERE warc_file = ?', (rel,)
        ).fetchall()
        for found in rows:
            row = dict(found)
            new = _new_offset(row["warc_offset"], gaps)
            if new is None:
                lost_rows.setdefault(table, []).append(
                    {k: v for k, v in row.items() if k != "_rowid"}
                )
                if row.get("article_id"):
                    result.lost.append(row["article_id"])
                if nullable:
                    db.execute(
                        f'UPDATE "{table}" SET warc_file = NULL, warc_offset = NULL '
                        "WHERE rowid = ?",
                        (row["_rowid"],),
                    )
                else:
                    db.execute(f'DELETE FROM "{table}" WHERE rowid = ?', (row["_rowid"],))
            elif new != row["warc_offset"]:
                db.execute(
                    f'UPDATE "{table}" SET warc_offset = ? WHERE rowid = ?', (new, row["_rowid"])
                )
                result.moved += 1
    result.lost = sorted(set(result.lost))
    return lost_rows


def salvage(root: Path, rel: str, scan: FullScan, db: sqlite3.Connection) -> Salvaged:
    """Cut the gaps out of ``root/rel`` into the quarantine folder and re-point the catalog
    (see the module docstring for the order of steps)."""
    path = root / rel
    gaps = scan.gaps
    result = Salvaged(file=rel, kept=len(scan.pieces), cut=sum(g.length for g in gaps))
    try:
        result.saved_as = _keep(root, rel, path, gaps)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.salvage.tmp")
        backup = path.with_name(f".{path.name}.{os.getpid()}.before-salvage")
        with path.open("rb") as src, tmp.open("wb") as out:
            for piece in scan.pieces:
                src.seek(piece.offset)
                out.write(src.read(piece.length))
            out.flush()
            os.fsync(out.fileno())
        os.link(path, backup)
    except OSError as exc:
        raise StoreError(f"cannot salvage WARC file: {exc.strerror}", where=rel) from exc
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            lost_rows = _repoint(db, rel, gaps, result)
            _note(root, rel, path.name, gaps, result, lost_rows)
            os.replace(tmp, path)
            _fsync_dir(path.parent)
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            if not tmp.exists():  # the new file is in place: put the old one back
                os.replace(backup, path)
            raise
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(f"cannot salvage WARC file: {exc}", where=rel) from exc
    finally:
        for leftover in (tmp, backup):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    log.warning(
        "salvaged %s: kept %d records, %d bytes to %s", rel, result.kept, result.cut, QUARANTINE
    )
    return result


def _note(
    root: Path,
    rel: str,
    name: str,
    gaps: tuple[Gap, ...],
    result: Salvaged,
    lost_rows: dict[str, list[dict[str, Any]]],
) -> None:
    """A JSON note beside the quarantined bytes: where they were, and what pointed at them."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    note = {
        "file": rel,
        "salvaged_at": stamp,
        "records_kept": result.kept,
        "gaps": [
            {"offset": g.offset, "length": g.length, "tail": g.tail, "saved_as": saved}
            for g, saved in zip(gaps, result.saved_as, strict=True)
        ],
        "lost_rows": lost_rows,
    }
    target = quarantine_dir(root, rel) / f"{name}.{stamp}.json"
    with target.open("w", encoding="utf-8") as out:
        json.dump(note, out, indent=2, default=str)
        out.flush()
        os.fsync(out.fileno())


def cut_tail(root: Path, path: Path) -> int:
    """For start-up recovery of a dead writer's file: set an interrupted tail aside in the
    quarantine folder and cut it off; returns the bytes cut. Damage *before* readable records
    is left alone (``scraper check --repair`` salvages it with the catalog in hand)."""
    scan = scan_all(path)
    if not scan.gaps or not scan.gaps[-1].tail:
        return 0
    tail = scan.gaps[-1]
    rel = str(path.relative_to(root))
    if scan.mid_gaps:
        log.warning("%s is damaged before its end; run scraper check --repair", rel)
    _keep(root, rel, path, (tail,))
    with path.open("r+b") as fh:
        fh.truncate(tail.offset)
        os.fsync(fh.fileno())
    log.warning(
        "cut %d bytes of an interrupted record from %s (kept in %s)", tail.length, rel, QUARANTINE
    )
    return tail.length
