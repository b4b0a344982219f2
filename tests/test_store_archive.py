"""The archive store: new / unchanged / revised, what counts as a change, one article under two
Korea Herald URLs, story lineage of Yonhap updates, and failures that leave nothing half-written."""

from __future__ import annotations

import errno
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from scraper import lineage
from scraper.errors import StoreError
from scraper.extract import extract
from scraper.store import Archive
from scraper.warc import WarcStore
from scraper.warcread import scan
from tests.archive_helpers import KH1, KH2, KH3, assert_consistent, page, store, yonhap
from tests.conftest import run_cli, write_config
from tests.server import FixtureServer

YNA = "https://en.yna.co.kr/view/"


@pytest.fixture
def arch(tmp_path: Path) -> Iterator[tuple[Archive, WarcStore]]:
    root = tmp_path / "archive"
    archive = Archive(root)
    warcs = WarcStore(root)
    yield archive, warcs
    warcs.close()
    archive.close()


def _edit_paragraph(raw: bytes, old: str, new: str) -> bytes:
    assert old.encode() in raw
    return raw.replace(old.encode(), new.encode())


def test_new_unchanged_revised_keeps_every_revision(arch: tuple[Archive, WarcStore]) -> None:
    archive, warcs = arch
    raw = yonhap(11).read_bytes()
    url = YNA + "AEN20230419003800320"
    first = store(archive, warcs, raw, url)
    assert (first.status, first.article.revision) == ("new", 1)
    assert store(archive, warcs, raw, url).status == "unchanged"
    body = first.article.body.split("\n\n")[1]
    changed = _edit_paragraph(raw, body[:40], "CORRECTED: " + body[:40])
    second = store(archive, warcs, changed, url, fetched_at="2026-01-01T01:00:00+00:00")
    assert (second.status, second.article.revision) == ("revised", 2)
    history = archive.revisions(second.article.id)
    assert [a.revision for a in history] == [1, 2]
    assert "CORRECTED" not in history[0].body and "CORRECTED" in history[1].body
    on_disk = json.loads(second.path.read_text())
    assert on_disk["revision"] == 2 and on_disk["story_id"] == second.article.id
    assert archive.count() == 1
    hits = archive.db.execute(
        "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'CORRECTED'"
    ).fetchone()[0]
    assert hits == 1
    assert_consistent(archive.root)


@pytest.mark.parametrize(
    ("path", "edits"),
    [
        (yonhap(15), [("2023-04-19T18:13:33+09:00", "2023-04-19T19:45:00+09:00")]),
        (KH1, [("Updated : Apr 19, 2023 - 17:18", "Updated : Apr 19, 2023 - 19:45")]),
        (
            KH2,
            [
                (
                    'modified_time" content="2024-11-06T15:03',
                    'modified_time" content="2024-11-06T19:45',
                ),
                ("Updated : Nov. 6, 2024 - 15:03", "Updated : Nov. 6, 2024 - 19:45"),
            ],
        ),
        (
            KH3,
            [
                ('"dateModified": "2023-04-19T16:07:22', '"dateModified": "2023-04-19T19:45:00'),
                ("Updated : 2023.04.19 16:07", "Updated : 2023.04.19 19:45"),
            ],
        ),
    ],
    ids=["yonhap-y1", "kh1", "kh2", "kh3"],
)
def test_updated_time_and_whitespace_do_not_count(path: Path, edits: list[tuple[str, str]]) -> None:
    raw = path.read_bytes()
    before = extract(raw)
    edited = raw
    for old, new in edits:
        assert old.encode() in edited, old
        edited = edited.replace(old.encode(), new.encode())
    # and re-flow the text: extra spaces and line breaks inside the first paragraph
    words = before.body.split("\n\n")[0].split(" ")
    first_words = " ".join(words[:3])
    if first_words.encode() in edited:
        edited = edited.replace(first_words.encode(), "  \n ".join(words[:3]).encode(), 1)
    after = extract(edited)
    assert after.updated_at != before.updated_at  # the edit was seen …
    assert after.content_hash == before.content_hash  # … and does not count


def test_korea_herald_old_and_new_url_are_one_article(arch: tuple[Archive, WarcStore]) -> None:
    archive, warcs = arch
    raw = KH3.read_bytes()
    old = "https://www.koreaherald.com/view.php?ud=20230419000555"
    new = "https://www.koreaherald.com/article/10604071"
    first = store(archive, warcs, raw, old)  # the old link serves (or redirects to) the new page
    assert first.article.id == "koreaherald:10604071"
    assert first.article.url == new and first.article.urls == (old,)
    second = store(archive, warcs, raw, new)
    assert second.status == "unchanged"
    assert archive.count() == 1
    record = json.loads(first.path.read_text())
    assert record["urls"] == [old] and record["revision"] == 1
    rows = archive.db.execute("SELECT url, article_id FROM urls ORDER BY url").fetchall()
    assert [tuple(r) for r in rows] == [(new, first.article.id), (old, first.article.id)]
    assert_consistent(archive.root)


def test_lead_update_shares_the_story_id_either_order(tmp_path: Path) -> None:
    for order in ((11, 9), (9, 11)):
        root = tmp_path / f"a{order[0]}"
        with Archive(root) as archive:
            warcs = WarcStore(root)
            ids = {}
            for n in order:
                art = extract(yonhap(n).read_bytes())
                ids[n] = store(archive, warcs, yonhap(n).read_bytes(), art.url).article
            warcs.close()
            assert ids[9].story_id == ids[11].story_id == "yonhap:AEN20230419003800320"
            chain = [r["id"] for r in lineage.chain(archive.db, "yonhap:AEN20230419003800320")]
            assert chain == ["yonhap:AEN20230419003800320", "yonhap:AEN20230419003851320"]


def test_second_update_points_at_its_first_version() -> None:
    assert lineage.root_id("yonhap:AEN20230419000952325") == "yonhap:AEN20230419000900325"
    assert lineage.root_id("yonhap:AEN20230419003800320") == "yonhap:AEN20230419003800320"
    assert lineage.root_id("koreaherald:10604071") is None


def test_unrelated_article_with_the_same_serial_prefix_is_its_own_story(
    arch: tuple[Archive, WarcStore],
) -> None:
    archive, warcs = arch
    store(archive, warcs, yonhap(11).read_bytes(), YNA + "AEN20230419003800320")
    # fixture 12 (Yoon's speech) under an id that looks like an update of fixture 11
    forged = yonhap(12).read_bytes().replace(b"AEN20230419004200315", b"AEN20230419003852320")
    result = store(archive, warcs, forged, YNA + "AEN20230419003852320")
    assert result.article.id == "yonhap:AEN20230419003852320"
    assert result.article.story_id == result.article.id


def test_similarity_guard() -> None:
    assert lineage.similar(
        "(LEAD) S. Korea to support investments", "", "S. Korea to support investments", ""
    )
    assert not lineage.similar("KOSPI closing list", "a b c", "Yoon vows to defend freedom", "x")


def test_show_story_lists_the_chain(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "http://127.0.0.1:9")
    root = tmp_path / "archive"
    with Archive(root) as archive:
        warcs = WarcStore(root)
        for n in (11, 9):
            store(archive, warcs, yonhap(n).read_bytes(), extract(yonhap(n).read_bytes()).url)
        warcs.close()
    shown = run_cli("--config", str(cfg), "show", "yonhap:AEN20230419003851320", "--story")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "story yonhap:AEN20230419003800320"
    assert "AEN20230419003800320" in lines[1] and lines[1].startswith(" ")
    assert lines[2].startswith("* ") and "(LEAD)" in lines[2]


def test_disk_full_during_warc_write_leaves_the_file_readable(
    arch: tuple[Archive, WarcStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    archive, warcs = arch
    store(archive, warcs, yonhap(11).read_bytes(), YNA + "AEN20230419003800320")
    warc = next((archive.root / "warc" / "yonhap").glob("*.warc.gz"))
    size = warc.stat().st_size
    real_write = os.write

    def half_then_full(fd: int, data: bytes) -> int:
        if len(data) > 1000:
            real_write(fd, bytes(data)[:500])  # some bytes land, then the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr("scraper.warc.os.write", half_then_full)
    with pytest.raises(StoreError, match="disk full while writing WARC file"):
        store(archive, warcs, yonhap(9).read_bytes(), YNA + "AEN20230419003851320")
    assert warc.stat().st_size == size
    assert scan(warc).damaged == 0
    assert archive.count() == 1


def test_disk_full_during_article_write_keeps_old_file_and_index(
    arch: tuple[Archive, WarcStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    archive, warcs = arch
    raw = yonhap(11).read_bytes()
    first = store(archive, warcs, raw, YNA + "AEN20230419003800320")
    before = first.path.read_bytes()

    def full(src: str, dst: str) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("scraper.store.os.replace", full)
    changed = _edit_paragraph(raw, "deregulation", "sweeping deregulation")
    with pytest.raises(StoreError, match="disk full while writing article file"):
        store(archive, warcs, changed, YNA + "AEN20230419003800320")
    monkeypatch.undo()
    assert first.path.read_bytes() == before
    assert archive.db.execute("SELECT revision FROM articles").fetchone()[0] == 1
    leftovers = [p for p in first.path.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_index_failure_puts_the_previous_file_back(arch: tuple[Archive, WarcStore]) -> None:
    archive, warcs = arch
    raw = yonhap(11).read_bytes()
    first = store(archive, warcs, raw, YNA + "AEN20230419003800320")
    before = first.path.read_bytes()
    archive.db.execute("PRAGMA query_only = ON")  # every write to the index now fails
    changed = _edit_paragraph(raw, "deregulation", "sweeping deregulation")
    with pytest.raises(StoreError):
        store(archive, warcs, changed, YNA + "AEN20230419003800320")
    with pytest.raises(StoreError):
        store(archive, warcs, yonhap(9).read_bytes(), YNA + "AEN20230419003851320")
    archive.db.execute("PRAGMA query_only = OFF")
    assert first.path.read_bytes() == before
    assert not list((archive.root / "articles").rglob("AEN20230419003851320*"))
    assert_consistent(archive.root)


def test_unwritable_archive_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the archive's parent should be")
    with pytest.raises(StoreError, match="cannot open the archive"):
        Archive(blocker / "archive")
    cfg = write_config(tmp_path, "http://127.0.0.1:9")
    # a writing command (a reading one reports "no archive at …" and tries nothing)
    result = run_cli("--config", str(cfg), "--archive", str(blocker / "archive"), "check")
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot open the archive: Not a directory")
    assert len(result.stderr.strip().splitlines()) == 1


def test_migration_backfills_search_of_an_older_index(tmp_path: Path) -> None:
    from scraper.migrations import MIGRATIONS

    root = tmp_path / "archive"
    with Archive(root) as archive:
        warcs = WarcStore(root)
        store(archive, warcs, yonhap(11).read_bytes(), YNA + "AEN20230419003800320")
        warcs.close()
    # take the index back to the version before search and open it again
    before_search = next(i for i, m in enumerate(MIGRATIONS) if "articles_fts" in m)
    db = sqlite3.connect(root / "index.sqlite")
    db.executescript(f"DROP TABLE articles_fts; PRAGMA user_version = {before_search};")
    for column in ("n_authors", "n_images", "body_chars"):
        db.execute(f"ALTER TABLE articles DROP COLUMN {column}")
    db.execute("DROP INDEX articles_story")
    db.execute("DROP INDEX articles_published")
    db.execute("DROP INDEX urls_article")
    db.execute("DROP INDEX captures_file")
    # and what the later migrations added (captures' record columns, the body column)
    db.execute("DROP INDEX captures_url_digest")
    for column in ("record_type", "payload_digest"):
        db.execute(f"ALTER TABLE captures DROP COLUMN {column}")
    db.execute("ALTER TABLE articles DROP COLUMN body")
    db.close()
    with Archive(root) as archive:
        version = archive.db.execute("PRAGMA user_version").fetchone()[0]
        assert version == len(MIGRATIONS)
        row = archive.db.execute(
            "SELECT a.id, a.n_authors, a.body_chars FROM articles_fts f "
            "JOIN articles a ON a.rowid = f.rowid WHERE articles_fts MATCH 'deregulation'"
        ).fetchone()
        assert row["id"] == "yonhap:AEN20230419003800320"
        assert row["body_chars"] > 500


def test_fetch_old_korea_herald_link_that_redirects_adds_no_second_article(
    server: FixtureServer, tmp_path: Path
) -> None:
    server.add("/article/10604071", KH3.read_bytes())
    server.add(
        "/view.php?ud=20230419000555",
        b"moved",
        status=301,
        headers={"Location": "/article/10604071"},
        etag=False,
    )
    cfg = write_config(tmp_path, server.url)
    old = "https://www.koreaherald.com/view.php?ud=20230419000555"
    new = "https://www.koreaherald.com/article/10604071"
    first = run_cli("--config", str(cfg), "fetch", old)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("new\tkoreaherald:10604071\t")
    second = run_cli("--config", str(cfg), "fetch", new, old)
    assert second.returncode == 0, second.stderr
    assert [line.split("\t")[0] for line in second.stdout.splitlines()] == ["unchanged"] * 2
    files = list((tmp_path / "archive" / "articles").rglob("*.json"))
    assert len(files) == 1
    assert json.loads(files[0].read_text())["urls"] == [old]


def test_unchanged_fetch_restores_a_lost_file(arch: tuple[Archive, WarcStore]) -> None:
    archive, warcs = arch
    raw = yonhap(11).read_bytes()
    first = store(archive, warcs, raw, YNA + "AEN20230419003800320")
    first.path.unlink()
    again = store(archive, warcs, raw, YNA + "AEN20230419003800320")
    assert again.status == "unchanged" and again.path.exists()
    assert json.loads(again.path.read_text())["revision"] == 1
    assert_consistent(archive.root)


def test_disk_full_when_a_warc_file_starts_leaves_no_stub(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("scraper.warc.os.write", full)
    warcs = WarcStore(tmp_path)
    raw = yonhap(11).read_bytes()
    with pytest.raises(StoreError, match="disk full while writing WARC file"):
        warcs.append("yonhap", page(raw, YNA + "AEN20230419003800320"))
    assert list((tmp_path / "warc" / "yonhap").iterdir()) == []
