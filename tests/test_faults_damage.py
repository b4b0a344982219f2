"""Damaged files in a crawled archive, driven through the real CLI: a WARC file overwritten in
the middle, a damaged capture under ``reparse``, a missing article file under ``export``,
``reparse`` and ``check --repair``. Nothing intact may be lost, and ``check`` ends consistent."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from scraper.warcread import iter_members
from tests.archive_helpers import assert_consistent
from tests.conftest import run_cli, write_config
from tests.mirror import build_mirror
from tests.server import FixtureServer, serve

ARTICLES = 19  # 16 Yonhap + 3 Korea Herald pages in the mirror


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One crawl of the mirror; each test works on its own copy of the archive."""
    base = tmp_path_factory.mktemp("crawled")
    for server in serve(FixtureServer()):
        build_mirror(server)
        cfg = write_config(base, server.url)
        result = run_cli("--config", str(cfg), "crawl")
        assert result.returncode == 0, result.stderr
    yield base / "archive"


def _copy(crawled: Path, tmp_path: Path) -> tuple[Path, Path]:
    cfg = write_config(tmp_path, "http://127.0.0.1:9")  # nothing is fetched from here
    shutil.copytree(crawled, tmp_path / "archive")
    return cfg, tmp_path / "archive"


def _yonhap_warc(archive: Path) -> Path:
    (warc,) = sorted((archive / "warc" / "yonhap").glob("*.warc.gz"))
    return warc


def _records(warc: Path) -> list[str]:
    with warc.open("rb") as fh:
        return [r.rec_headers.get_header("WARC-Record-ID") for r in ArchiveIterator(fh)]


def _captures(archive: Path) -> list[sqlite3.Row]:
    db = sqlite3.connect(archive / "index.sqlite")
    db.row_factory = sqlite3.Row
    try:
        return db.execute("SELECT * FROM captures").fetchall()
    finally:
        db.close()


def _record_id_at(archive: Path, rel: str, offset: int) -> str:
    with (archive / rel).open("rb") as fh:
        fh.seek(offset)
        record = next(iter(ArchiveIterator(fh)))
        return str(record.rec_headers.get_header("WARC-Record-ID"))


def test_damage_in_the_middle_costs_only_the_damaged_member(crawled: Path, tmp_path: Path) -> None:
    cfg, archive = _copy(crawled, tmp_path)
    warc = _yonhap_warc(archive)
    data = warc.read_bytes()
    members = list(iter_members(data))
    before = _records(warc)
    hit = [m for m in members if m.offset < 100064 and m.offset + m.length > 100000]
    assert len(hit) == 1 and members[-1].offset > 100064 + 50000  # damage well inside
    with warc.open("r+b") as f:
        f.seek(100000)
        f.write(b"\0" * 64)

    found = run_cli("--config", str(cfg), "check")
    assert found.returncode == 1
    assert "unreadable bytes at offset" in found.stdout and "damaged;" in found.stdout

    repaired = run_cli("--config", str(cfg), "check", "--repair")
    assert repaired.returncode == 0, repaired.stdout
    assert repaired.stdout.strip().endswith(": consistent")
    again = run_cli("--config", str(cfg), "check")
    assert again.returncode == 0, again.stdout
    assert again.stdout.strip().endswith(": consistent")
    assert_consistent(archive)

    # every record but the damaged one is still in the file, in order
    after = _records(warc)
    lost_id = _record_id_of(data, hit[0].offset)
    assert after == [r for r in before if r != lost_id]
    # the damaged bytes are kept, byte for byte, in the quarantine folder
    damaged = warc.read_bytes()  # (the repaired file)
    assert len(damaged) == len(data) - hit[0].length
    (kept,) = (archive / "quarantine" / "warc" / "yonhap").glob("*.bin")
    assert kept.read_bytes() == data[hit[0].offset : hit[0].offset + hit[0].length].replace(
        data[100000:100064], b"\0" * 64
    )
    (note,) = (archive / "quarantine" / "warc" / "yonhap").glob("*.json")
    assert json.loads(note.read_text())["gaps"][0]["offset"] == hit[0].offset
    # every capture row points at its own record again
    for row in _captures(archive):
        assert _record_id_at(archive, row["warc_file"], row["warc_offset"]) == row["record_id"]
    # and no article is lost
    exported = run_cli("--config", str(cfg), "export")
    assert exported.returncode == 0, exported.stderr
    assert len(exported.stdout.splitlines()) == ARTICLES


def _record_id_of(data: bytes, offset: int) -> str:
    import gzip

    end = next(m.offset + m.length for m in iter_members(data) if m.offset == offset)
    head = gzip.decompress(data[offset:end])
    line = next(x for x in head.split(b"\r\n") if x.startswith(b"WARC-Record-ID:"))
    return line.split(b":", 1)[1].strip().decode()


def test_a_dead_writers_tail_is_cut_but_kept(crawled: Path, tmp_path: Path) -> None:
    cfg, archive = _copy(crawled, tmp_path)
    warc = _yonhap_warc(archive)
    data = warc.read_bytes()
    last = list(iter_members(data))[-1]
    with warc.open("r+b") as f:  # a writer killed half way through its last record
        f.truncate(last.offset + last.length // 2)
    repaired = run_cli("--config", str(cfg), "check", "--repair")
    assert repaired.returncode == 0, repaired.stdout
    assert "an interrupted record at the end" in repaired.stdout
    assert warc.read_bytes() == data[: last.offset]
    (kept,) = (archive / "quarantine" / "warc" / "yonhap").glob("*.bin")
    assert kept.read_bytes() == data[last.offset : last.offset + last.length // 2]
    assert run_cli("--config", str(cfg), "check").returncode == 0


def _article_captures(archive: Path) -> list[sqlite3.Row]:
    """Captures of article pages (robots.txt, feeds and sitemaps are captured too)."""
    return [r for r in _captures(archive) if r["article_id"] is not None]


def _damage_response_of(archive: Path, article_id: str) -> None:
    (row,) = [r for r in _captures(archive) if r["article_id"] == article_id]
    path = archive / row["warc_file"]
    data = path.read_bytes()
    member = next(m for m in iter_members(data) if m.offset == row["warc_offset"])
    with path.open("r+b") as f:
        f.seek(member.offset + member.length // 2)
        f.write(b"\0" * 64)


def test_reparse_skips_a_damaged_capture_and_finishes(crawled: Path, tmp_path: Path) -> None:
    cfg, archive = _copy(crawled, tmp_path)
    victim = _article_captures(archive)[3]["article_id"]
    _damage_response_of(archive, victim)
    result = run_cli("--config", str(cfg), "reparse")
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {victim}: "), result.stderr
    assert errors[0].isprintable() and "internal error" not in errors[0]
    assert f"reparsed {ARTICLES}:" in result.stdout and "failed 1" in result.stdout


def _remove_article_file(archive: Path, article_id: str) -> Path:
    db = sqlite3.connect(archive / "index.sqlite")
    try:
        (rel,) = db.execute("SELECT path FROM articles WHERE id = ?", (article_id,)).fetchone()
    finally:
        db.close()
    path = archive / rel
    path.unlink()
    return path


def test_export_writes_every_other_record_when_a_file_is_missing(
    crawled: Path, tmp_path: Path
) -> None:
    cfg, archive = _copy(crawled, tmp_path)
    victim = _article_captures(archive)[0]["article_id"]
    _remove_article_file(archive, victim)
    for fmt, extra in (("jsonl", 0), ("csv", 1)):
        result = run_cli("--config", str(cfg), "export", "--format", fmt)
        assert result.returncode == 1
        rows = [line for line in result.stdout.splitlines() if line.startswith(("{", '"'))]
        if fmt == "jsonl":
            ids = [json.loads(line)["id"] for line in rows]
            assert len(ids) == ARTICLES - 1 and victim not in ids
        else:
            assert result.stdout.count("\n") >= ARTICLES - 1 + extra
        errors = result.stderr.strip().splitlines()
        assert len(errors) == 1 and errors[0].startswith("error: ") and victim in errors[0]


@pytest.mark.parametrize("command", [["reparse"], ["check", "--repair"]])
def test_a_missing_article_file_is_rebuilt(
    crawled: Path, tmp_path: Path, command: list[str]
) -> None:
    cfg, archive = _copy(crawled, tmp_path)
    victim = _article_captures(archive)[0]["article_id"]
    path = _remove_article_file(archive, victim)
    result = run_cli("--config", str(cfg), *command)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(path.read_text())["id"] == victim
    assert run_cli("--config", str(cfg), "check").returncode == 0
    exported = run_cli("--config", str(cfg), "export")
    assert exported.returncode == 0 and len(exported.stdout.splitlines()) == ARTICLES
