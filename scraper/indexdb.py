"""Opening ``index.sqlite`` for reading only, and telling a damaged index from other errors.

Read-only commands (``show``, ``search``, ``export``, ``stats``, ``status``) open the index with
SQLite's ``mode=ro``: they create nothing, so a path with no archive stays empty, and a backup
or a snapshot mounted read-only can be read. A WAL reader needs the ``-shm`` file; in a
directory nobody may write (``chmod -R a-w``, a read-only mount) SQLite cannot create it, and
the open is retried with ``immutable=1``: nothing can change such an index under us, so SQLite
may skip the locks. (An ``-wal`` file left beside such an index, from a writer that did not
close cleanly, is not read then; a warning says so.)

A damaged index (``database disk image is malformed``, ``file is not a database``) is not
something to retry: ``IndexDamaged`` names the command that rebuilds it from the files.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from urllib.parse import quote

from scraper.errors import IndexDamaged, StoreError

log = logging.getLogger(__name__)

INDEX_NAME = "index.sqlite"
REBUILD_HINT = "run: scraper rebuild-index"
# SQLite's messages for SQLITE_CORRUPT and SQLITE_NOTADB
_DAMAGE_MARKS = ("malformed", "file is not a database", "database corrupt")


def damage_reason(exc: BaseException | None) -> str | None:
    """SQLite's message when ``exc`` (or an error it was raised from) says the index file is
    damaged, else None."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, sqlite3.DatabaseError):
            text = str(exc)
            if any(mark in text.lower() for mark in _DAMAGE_MARKS):
                return text
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def damaged(root: Path, reason: str) -> IndexDamaged:
    return IndexDamaged(
        f"the index is damaged ({reason}, {Path(root) / INDEX_NAME}); {REBUILD_HINT}"
    )


def has_archive_data(root: Path) -> bool:
    """Whether ``root`` holds article files or WARC files (an archive whose index is gone)."""
    return any(
        (root / name).is_dir() and any((root / name).iterdir()) for name in ("articles", "warc")
    )


def connect_readonly(root: Path, migrations: int) -> sqlite3.Connection:
    """The index of the archive at ``root``, read-only; ``StoreError`` when there is none.

    ``migrations`` is the schema version the code expects: an older index needs an upgrade
    that only a writing command can make."""
    index = root / INDEX_NAME
    if not index.is_file():
        if has_archive_data(root):
            raise IndexDamaged(f"the index is missing ({index}); {REBUILD_HINT}")
        raise StoreError(f"no archive at {root}")
    uri = f"file:{quote(str(index.resolve()))}?mode=ro"
    try:
        db = _open(uri)
    except sqlite3.OperationalError as exc:
        if damage_reason(exc):
            raise damaged(root, str(exc)) from exc
        # no -shm and no right to create one: a read-only directory, nothing writes there
        log.debug("read-only open of %s failed (%s); opening it as immutable", index, exc)
        wal = index.with_name(INDEX_NAME + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            log.warning(
                "%s: its write-ahead log cannot be read in a read-only directory; the "
                "latest changes may be missing",
                index,
            )
        try:
            db = _open(uri + "&immutable=1")
        except sqlite3.Error as err:
            if damage_reason(err):
                raise damaged(root, str(err)) from err
            raise StoreError(f"cannot open the index: {err}", where=str(index)) from err
    except sqlite3.Error as exc:
        if damage_reason(exc):
            raise damaged(root, str(exc)) from exc
        raise StoreError(f"cannot open the index: {exc}", where=str(index)) from exc
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version < migrations:
        db.close()
        raise StoreError(
            f"the index is from an older version (schema {version} < {migrations}); run a "
            "writing command once (e.g. scraper check) to upgrade it",
            where=str(index),
        )
    return db


def _open(uri: str) -> sqlite3.Connection:
    # no same-thread check: the reading room (scraper/web/readonly.py) uses each connection
    # in the one thread that opened it, but closes them all from the main thread at shutdown
    db = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None, check_same_thread=False)
    try:
        db.row_factory = sqlite3.Row
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the open is lazy
    except sqlite3.Error:
        db.close()
        raise
    return db
