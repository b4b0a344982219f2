"""The article file is fsynced before it is renamed into place, and migrations are atomic.

Why the fsync is tested by call order: what it buys only shows after a power cut (the rename
reaches the disk, the data it names does not), and a test process cannot cut the power to the
page cache; killing the process proves nothing here, because the kernel keeps the written pages
either way. So the test records the calls and checks the one order that makes the rename safe:
write the temp file, fsync it, then rename it over the article path.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from scraper import store as store_module
from scraper.errors import StoreError
from scraper.store import MIGRATIONS, Archive, _statements
from scraper.warc import WarcStore
from tests.archive_helpers import store, yonhap

YNA = "https://en.yna.co.kr/view/"


def test_article_file_is_fsynced_before_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        calls.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls.append(("replace", f"{src} -> {dst}"))
        real_replace(src, dst)

    root = tmp_path / "archive"
    with Archive(root) as archive:
        warcs = WarcStore(root)
        monkeypatch.setattr(os, "fsync", fsync)
        monkeypatch.setattr(os, "replace", replace)
        result = store(archive, warcs, yonhap(11).read_bytes(), YNA + "AEN20230419003800320")
        monkeypatch.undo()
        warcs.close()
    final = str(result.path)
    renames = [c for c in calls if c[0] == "replace" and c[1].endswith(" -> " + final)]
    assert len(renames) == 1, calls
    temp = renames[0][1].split(" -> ")[0]
    assert Path(temp).parent == result.path.parent and temp != final
    # the temp file's data reached the disk before its name replaced the article's
    assert ("fsync", temp) in calls[: calls.index(renames[0])], calls


def test_durable_false_skips_the_article_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    root = tmp_path / "archive"
    with Archive(root, durable=False) as archive:
        warcs = WarcStore(root)
        monkeypatch.setattr(os, "fsync", fsync)
        result = store(archive, warcs, yonhap(11).read_bytes(), YNA + "AEN20230419003800320")
        monkeypatch.undo()
        warcs.close()
    assert not [p for p in synced if Path(p).parent == result.path.parent]


def test_statements_are_cut_where_sqlite_says_they_end() -> None:
    script = """
    CREATE TABLE t (a TEXT);
    INSERT INTO t VALUES ('one; two');
    CREATE TRIGGER t_log AFTER INSERT ON t BEGIN
        INSERT INTO t VALUES ('x;y');
        SELECT 1;
    END;
    """
    parts = _statements(script)
    assert len(parts) == 3
    assert "'one; two'" in parts[1] and parts[2].rstrip().endswith("END;")


def test_migration_with_semicolons_in_literals_and_triggers_applies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = """
    CREATE TABLE notes (body TEXT);
    INSERT INTO notes VALUES ('a; b');
    CREATE TRIGGER notes_copy AFTER INSERT ON notes WHEN new.body = 'c' BEGIN
        INSERT INTO notes VALUES ('copied; yes');
    END;
    """
    monkeypatch.setattr(store_module, "MIGRATIONS", (*MIGRATIONS, extra))
    with Archive(tmp_path / "archive") as archive:
        assert archive.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) + 1
        archive.db.execute("INSERT INTO notes VALUES ('c')")
        bodies = [r[0] for r in archive.db.execute("SELECT body FROM notes ORDER BY rowid")]
        assert bodies == ["a; b", "c", "copied; yes"]


def test_a_failing_migration_rolls_back_every_step_of_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "archive"
    Archive(root).close()  # at the current version
    good = "CREATE TABLE added_first (a INTEGER); INSERT INTO added_first VALUES (1);"
    bad = "CREATE TABLE added_second (a INTEGER); INSERT INTO no_such_table VALUES (1);"
    monkeypatch.setattr(store_module, "MIGRATIONS", (*MIGRATIONS, good, bad))
    db = sqlite3.connect(root / "index.sqlite", isolation_level=None)
    archive = Archive.__new__(Archive)  # the runner on a connection the test can inspect
    archive.root, archive.durable, archive.db = root, True, db
    with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
        archive._migrate()
    # the same connection: nothing of either new migration, no transaction left open
    assert not db.in_transaction
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not tables & {"added_first", "added_second"}
    db.close()
    # and through the public door: one line, and the archive opens again once fixed
    with pytest.raises(StoreError, match="no_such_table"):
        Archive(root)
    monkeypatch.setattr(store_module, "MIGRATIONS", MIGRATIONS)
    with Archive(root) as again:
        assert again.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
