"""Reading commands (``status``, ``show``, ``search``, ``export``, ``stats``) create nothing: on
a path with no archive they say so, and a read-only copy of an archive (a backup, a snapshot
mounted read-only) can be read.

Root ignores file modes, so a ``chmod -R a-w`` copy is read as the unprivileged ``nobody``
(``setpriv``) when the tests run as root; a real read-only bind mount is tested as root."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from scraper.models import Article
from scraper.web.readonly import Connections
from tests.conftest import ROOT, run_cli, write_config
from tests.mirror import build_mirror
from tests.server import FixtureServer

ARTICLE = "yonhap:AEN20230419003800320"
NOBODY = 65534
READING = (
    ("status",),
    ("stats",),
    ("export",),
    ("search", "satellite"),
    ("show", ARTICLE),
)


def _tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


@pytest.mark.parametrize("command", READING, ids=lambda c: c[0])
def test_no_archive_is_reported_and_nothing_created(
    command: tuple[str, ...], tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere" / "archive"
    result = run_cli("--archive", str(missing), *command)
    assert (result.returncode, result.stderr) == (1, f"error: no archive at {missing}\n")
    assert not missing.parent.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli("--archive", str(empty), *command)
    assert (result.returncode, result.stderr) == (1, f"error: no archive at {empty}\n")
    assert _tree(empty) == []


@pytest.fixture(scope="module")
def source_archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """The mirror crawled once, in a folder every user may read; and its export."""
    server = FixtureServer()
    build_mirror(server)
    server.start()
    base = Path(tempfile.mkdtemp(prefix="scraper-ro-"))
    try:
        base.chmod(0o755)  # tmp_path is private to root: nobody could not enter it
        cfg = write_config(base, server.url)
        crawled = run_cli("--config", str(cfg), "crawl")
        assert crawled.returncode == 0, crawled.stderr
        exported = run_cli("--config", str(cfg), "export")
        assert exported.returncode == 0 and exported.stdout.count("\n") == 19
        yield base / "archive", exported.stdout
    finally:
        server.stop()
        _writable(base)
        shutil.rmtree(base)


def _readonly_copy(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    for path in [dest, *dest.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    return dest


def _writable(path: Path) -> None:
    for p in [path, *path.rglob("*")]:
        if not p.is_symlink():
            p.chmod(0o755 if p.is_dir() else 0o644)


def _as_reader(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a user the file modes apply to: ``nobody`` when we are root."""
    exe = str(Path(sys.executable).parent / "scraper")
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to test file modes as root"
        prefix = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPER_")}
    env["HOME"] = "/nonexistent"
    return subprocess.run(
        [*prefix, exe, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def _reads_everything(run: object, archive: Path, exported: str) -> None:
    assert callable(run)
    before = _tree(archive)
    for command in READING:
        result = run("--archive", str(archive), *command)
        assert result.returncode == 0, (command, result.stderr)
        assert result.stderr == "", (command, result.stderr)
    result = run("--archive", str(archive), "export")
    assert result.stdout == exported
    assert "[satellite]" in run("--archive", str(archive), "search", "satellite").stdout
    assert f'"id": "{ARTICLE}"' in run("--archive", str(archive), "show", ARTICLE).stdout
    assert _tree(archive) == before  # no -wal, -shm or lock file appeared


def test_a_read_only_copy_can_be_read(source_archive: tuple[Path, str]) -> None:
    src, exported = source_archive
    copy = _readonly_copy(src, src.parent / "ro-copy")
    try:
        probe = _as_reader("--archive", str(copy), "rebuild-index")
        assert probe.returncode == 1  # the modes do apply to this user
        _reads_everything(_as_reader, copy, exported)
    finally:
        _writable(copy)
        shutil.rmtree(copy)


def test_a_read_only_copy_with_a_write_ahead_log_shows_its_latest_changes(
    source_archive: tuple[Path, str],
) -> None:
    """A copy taken while a writer had the index open: the -wal holds the latest commit."""
    src, _ = source_archive
    work = src.parent / "wal-src"
    shutil.copytree(src, work)
    writer = sqlite3.connect(work / "index.sqlite")
    try:
        writer.execute("PRAGMA wal_autocheckpoint=0")
        writer.execute("UPDATE articles SET section = 'walonly' WHERE id = ?", (ARTICLE,))
        writer.commit()
        assert (work / "index.sqlite-wal").stat().st_size > 0
        copy = _readonly_copy(work, src.parent / "wal-copy")
    finally:
        writer.close()
        shutil.rmtree(work)
    try:
        result = _as_reader("--archive", str(copy), "export", "--section", "walonly")
        assert result.returncode == 0, result.stderr
        assert result.stdout.count("\n") == 1 and ARTICLE in result.stdout
    finally:
        _writable(copy)
        shutil.rmtree(copy)


@pytest.mark.skipif(os.geteuid() != 0, reason="a bind mount needs root")
def test_a_read_only_mount_can_be_read(source_archive: tuple[Path, str]) -> None:
    src, exported = source_archive
    mountpoint = src.parent / "mounted"
    shutil.copytree(src, mountpoint)
    mounted = subprocess.run(
        ["mount", "--bind", "-o", "ro", str(mountpoint), str(mountpoint)],
        capture_output=True,
        text=True,
    )
    assert mounted.returncode == 0, f"cannot make a read-only mount: {mounted.stderr}"
    try:
        assert not os.access(mountpoint, os.W_OK)  # even for root

        def as_root(*args: str) -> subprocess.CompletedProcess[str]:
            return run_cli(*args)

        _reads_everything(as_root, mountpoint, exported)

        # the reading room too: a connection opened in a request thread, closed at shutdown
        # from another one
        before = _tree(mountpoint)
        connections = Connections(mountpoint)
        read: list[Article | None] = []
        request = threading.Thread(target=lambda: read.append(connections.get().get(ARTICLE)))
        request.start()
        request.join(30)
        connections.close_all()
        assert [a.id if a else None for a in read] == [ARTICLE]
        assert _tree(mountpoint) == before
    finally:
        # lazy: a connection a failed check left open must not keep the mount behind
        subprocess.run(["umount", "--lazy", str(mountpoint)], check=True)
        shutil.rmtree(mountpoint)
