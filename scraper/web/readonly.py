"""Opening an archive for reading only: the reading room never writes, creates or migrates.

``Archive(root, readonly=True)`` (scraper/store.py, scraper/indexdb.py) opens the index with
SQLite's ``mode=ro`` (as ``immutable=1`` in a folder nobody may write), so every reader it offers
(``get``, ``revisions``, ``count``, search, stats) works and any write fails in SQLite. The
reading room adds only its own wording for a path with no archive.

One connection per thread (``Connections``): Starlette runs sync endpoints in a thread pool and
a SQLite connection must not be used by two threads at once.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from scraper.errors import StoreError
from scraper.indexdb import INDEX_NAME
from scraper.store import Archive


class ReadOnlyArchive(Archive):
    """An ``Archive`` whose index connection is read-only; nothing on disk is created."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        if not (Path(root) / INDEX_NAME).is_file():
            raise StoreError("no archive at that path", where=str(root))
        super().__init__(root, readonly=True)


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
