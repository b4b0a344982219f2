"""Faults while writing, through the real CLI against a real server on 127.0.0.1: Ctrl-C and
SIGTERM mid-write, a leftover temp file of a kill -9, a failure inside the index transaction,
and a full disk (a real tmpfs mounted by the test, so ENOSPC comes from the kernel)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scraper.articlefile import atomic_write
from scraper.errors import DiskFull
from scraper.warc import WarcStore
from scraper.warcread import scan
from tests.archive_helpers import assert_consistent, page
from tests.conftest import FIXTURES, ROOT, run_cli, write_config
from tests.mirror import build_mirror
from tests.server import FixtureServer, yonhap_fixture

ARTICLES = 19  # the mirror's pages
YNA = "/view/AEN20230419000952325"
YNA_ID = "yonhap:AEN20230419000952325"
BODY_WORDS = b"has completed building its first military spy satellite"


def _spawn(cfg: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPER_")}
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "scraper"), "--config", str(cfg), *args],
        cwd=ROOT,
        env={**clean, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def _temp_files(archive: Path) -> list[Path]:
    return [p for p in archive.rglob("*") if p.name.endswith(".tmp")]


def _check_consistent(cfg: Path) -> None:
    result = run_cli("--config", str(cfg), "check")
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip().endswith(": consistent")


# -- 6: Ctrl-C / SIGTERM, and kill -9 leftovers ---------------------------------------------------
@pytest.mark.parametrize(
    ("sig", "point"), [("INT", "file:3"), ("TERM", "file:3"), ("INT", "index:3")]
)
def test_interrupted_crawl_leaves_no_temp_file(
    server: FixtureServer, tmp_path: Path, sig: str, point: str
) -> None:
    build_mirror(server)
    cfg = write_config(tmp_path, server.url)
    archive = tmp_path / "archive"
    # the signal arrives exactly between temp file and rename (or inside the transaction)
    proc = _spawn(cfg, "crawl", SCRAPER_CRASH_AT=point, SCRAPER_CRASH_SIGNAL=sig)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "error: interrupted"
    assert _temp_files(archive) == []
    _check_consistent(cfg)
    again = run_cli("--config", str(cfg), "crawl")
    assert again.returncode == 0, again.stderr
    assert_consistent(archive)
    assert len(list((archive / "articles").rglob("*.json"))) == ARTICLES


def test_a_kill_9_leftover_is_removed_at_the_next_start(
    server: FixtureServer, tmp_path: Path
) -> None:
    build_mirror(server)
    cfg = write_config(tmp_path, server.url)
    archive = tmp_path / "archive"
    proc = _spawn(cfg, "crawl", SCRAPER_CRASH_AT="file:3")
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert len(_temp_files(archive)) == 1
    again = run_cli("--config", str(cfg), "crawl", "--limit", "0")  # starts, stores nothing
    assert again.returncode == 0, again.stderr
    assert _temp_files(archive) == []


# -- 7: a failure at any statement of the index transaction ----------------------------------------
def test_a_failure_inside_the_index_transaction_puts_the_file_back(
    server: FixtureServer, tmp_path: Path
) -> None:
    server.add(YNA, yonhap_fixture(15))
    cfg = write_config(tmp_path, server.url)
    archive = tmp_path / "archive"
    url = f"https://en.yna.co.kr{YNA}"
    first = run_cli("--config", str(cfg), "fetch", url)
    assert first.returncode == 0, first.stderr
    (path,) = (archive / "articles").rglob("*.json")
    before = path.read_bytes()

    raw = yonhap_fixture(15)
    assert BODY_WORDS in raw
    server.add(YNA, raw.replace(BODY_WORDS, b"has finished building its first spy satellite"))
    db = sqlite3.connect(archive / "index.sqlite")
    # the article row and its revision are written first; the capture row fails
    db.execute(
        "CREATE TRIGGER fail_capture BEFORE INSERT ON captures "
        "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
    )
    db.commit()
    db.close()
    second = run_cli("--config", str(cfg), "fetch", url)
    assert second.returncode == 1
    errors = [line for line in second.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "internal error" not in errors[0], second.stderr
    assert "cannot write to the index" in errors[0]
    # file and index agree: both still at revision 1
    assert path.read_bytes() == before
    assert json.loads(before)["revision"] == 1
    db = sqlite3.connect(archive / "index.sqlite")
    assert db.execute("SELECT revision FROM articles WHERE id = ?", (YNA_ID,)).fetchone() == (1,)
    assert db.execute("SELECT count(*) FROM revisions").fetchone() == (1,)
    db.execute("DROP TRIGGER fail_capture")
    db.commit()
    db.close()
    _check_consistent(cfg)
    third = run_cli("--config", str(cfg), "fetch", url)
    assert third.returncode == 0, third.stderr
    assert json.loads(path.read_text())["revision"] == 2


# -- 16: disk full ------------------------------------------------------------------------------
@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of 250 KB at ``tmp_path/archive``: a crawl of the mirror fills it. Needs root
    (the project's test machine and container run as root); without it the test fails."""
    mount = tmp_path / "archive"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=250k", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.fail(f"cannot mount a small tmpfs for the disk-full test: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def _grow(mount: Path) -> None:
    subprocess.run(["mount", "-o", "remount,size=20m", str(mount)], check=True)


def test_disk_full_during_a_crawl(server: FixtureServer, tmp_path: Path, tiny_disk: Path) -> None:
    build_mirror(server)
    cfg = write_config(tmp_path, server.url)
    full = run_cli("--config", str(cfg), "crawl")
    assert full.returncode == 1
    errors = [line for line in full.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, full.stderr
    assert errors[0].startswith("error: disk full while writing "), errors
    assert "Traceback" not in full.stderr
    _grow(tiny_disk)  # space freed: what was stored is consistent, the next run finishes
    _check_consistent(cfg)
    again = run_cli("--config", str(cfg), "crawl")
    assert again.returncode == 0, again.stderr
    _check_consistent(cfg)
    assert_consistent(tiny_disk)
    exported = run_cli("--config", str(cfg), "export")
    assert len(exported.stdout.splitlines()) == ARTICLES


def _fill(mount: Path, leave: int) -> None:
    """Take all but about ``leave`` bytes of the file system."""
    stat = os.statvfs(mount)
    free = stat.f_bavail * stat.f_frsize
    with (mount / "filler").open("wb") as fh:
        fh.write(b"\0" * max(0, free - leave))


def test_disk_full_in_the_warc_and_json_writers(tiny_disk: Path) -> None:
    """The writers the crawl above may not reach first (the index fills up earliest)."""
    warcs = WarcStore(tiny_disk)
    raw = (FIXTURES / "yonhap" / "yna_article_15.html").read_bytes()
    url = f"https://en.yna.co.kr{YNA}"
    ref = warcs.append("yonhap", page(raw, url))
    size = (tiny_disk / ref.file).stat().st_size
    _fill(tiny_disk, 8192)
    with pytest.raises(DiskFull, match="disk full while writing WARC file"):
        warcs.append("yonhap", page(raw, url))
    assert (tiny_disk / ref.file).stat().st_size == size  # no half record left
    assert scan(tiny_disk / ref.file).damaged == 0
    target = tiny_disk / "articles" / "a.json"
    with pytest.raises(DiskFull, match=r"disk full while writing article file a\.json"):
        atomic_write(target, b"x" * 200_000)
    assert list((tiny_disk / "articles").iterdir()) == []  # no temp file left
    warcs.close()


# -- 8: the WARC bytes are durable before the index row that points at them ---------------------
def test_the_capture_is_on_disk_before_the_index_points_at_it(
    server: FixtureServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every fsync/fdatasync and every SQL statement of a real ``scraper fetch`` (in-process
    CLI), in order: the WARC file is synced past the capture before the COMMIT that adds the
    capture row."""
    from scraper.cli import main

    server.add(YNA, yonhap_fixture(15))
    cfg = write_config(tmp_path, server.url)
    events: list[tuple[str, str, int]] = []

    def recording(real: Callable[[int], None]) -> Callable[[int], None]:
        def sync(fd: int) -> None:
            events.append(("sync", os.readlink(f"/proc/self/fd/{fd}"), os.fstat(fd).st_size))
            real(fd)

        return sync

    real_connect = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        db = real_connect(*args, **kwargs)
        db.set_trace_callback(lambda sql: events.append(("sql", sql.strip(), 0)))
        return db

    monkeypatch.setattr(os, "fsync", recording(os.fsync))
    monkeypatch.setattr(os, "fdatasync", recording(os.fdatasync))
    monkeypatch.setattr(sqlite3, "connect", connect)
    assert main(["--config", str(cfg), "fetch", f"https://en.yna.co.kr{YNA}"]) == 0
    monkeypatch.undo()

    db = sqlite3.connect(tmp_path / "archive" / "index.sqlite")
    warc_file, offset, length = db.execute(
        "SELECT warc_file, warc_offset, warc_length FROM captures"
    ).fetchone()
    db.close()
    # the row insert (a migration that rebuilds the table also says INSERT INTO captures)
    insert = next(i for i, e in enumerate(events) if e[1].startswith("INSERT INTO captures ("))
    commit = next(i for i, e in enumerate(events[insert:], insert) if e[1] == "COMMIT")
    synced = [
        e
        for e in events[:commit]
        if e[0] == "sync" and e[1].endswith(warc_file) and e[2] >= offset + length
    ]
    assert synced, [e for e in events if e[0] == "sync"]
