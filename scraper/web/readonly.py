"""Opening an archive for reading only: the reading room never writes, creates or migrates.

``Archive`` (scraper/store.py) creates the directory and migrates the index when it opens; here
the same class is opened over a ``mode=ro`` SQLite connection instead, so every reader it offers
(``get``, ``revisions``, ``count``, search, stats) works and any write fails in SQLite.

One connection per thread (``Connections``): Starlette runs sync endpoints in a thread pool and
a SQLite connection must not be used by two threads at once.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

from scraper.errors import StoreError
from scraper.migrations import MIGRATIONS
from scraper.store import Archive

INDEX = "index.sqlite"


class ReadOnlyArchive(Archive):
    """An ``Archive`` whose index connection is read-only; nothing on disk is created."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        # not Archive.__init__: it creates the directory and migrates the index
        self.root = Path(root)
        self.durable = False
        index = self.root / INDEX
        if not index.is_file():
            raise StoreError("no archive at that path", where=str(self.root))
        # A WAL index needs its -shm file; on a read-only mount where no writer left one,
        # SQLite can only read the file as immutable (it then sees no later writes).
        immutable = not os.access(self.root, os.W_OK) and not (self.root / f"{INDEX}-shm").exists()
        uri = f"{index.resolve().as_uri()}?mode=ro" + ("&immutable=1" if immutable else "")
        try:
            # used only by the thread that opened it (``Connections``), closed by another one
            # at shutdown, when no request runs: hence no same-thread check
            self.db = sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)
            self.db.row_factory = sqlite3.Row
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the index: {exc}", where=str(index)) from exc
        if version < len(MIGRATIONS):
            self.db.close()
            raise StoreError(
                f"the index is at schema {version}, this version reads {len(MIGRATIONS)}; "
                "run `scraper check` once to upgrade it",
                where=str(index),
            )


class Connections:
    """One ``ReadOnlyArchive`` per thread, opened on first use, closed by ``close_all``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[ReadOnlyArchive] = []

    def get(self) -> ReadOnlyArchive:
        archive: ReadOnlyArchive | None = getattr(self._local, "archive", None)
        if archive is None:
            archive = ReadOnlyArchive(self.root)
            self._local.archive = archive
            with self._lock:
                self._all.append(archive)
        return archive

    def close_all(self) -> None:
        """At shutdown only: closing from another thread is allowed once no request runs."""
        with self._lock:
            for archive in self._all:
                archive.db.close()
            self._all.clear()
