"""``scraper rebuild-index``: a damaged or lost index is made again from the WARC files and the
article JSON files, and every command that meets a damaged index says what to run.

The archive is real: the fixture mirror crawled over HTTP on 127.0.0.1, one article revised
and fetched again, then its catalog recorded, the index damaged, rebuilt and compared."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from scraper import check
from scraper.cli.rebuild_cmds import run_rebuild
from scraper.errors import StoreError
from scraper.rebuild import RebuildSummary, rebuild_index
from scraper.rebuild import captures as captures_module
from scraper.rebuild.captures import read_captures
from scraper.state import ServeLock
from scraper.store import Archive
from scraper.warcrecord import payload_digest
from tests.conftest import ROOT, run_cli, write_config
from tests.mirror import build_mirror
from tests.server import FixtureServer, yonhap_fixture

REVISED = "/view/AEN20230419003800320"  # fixture 11
REVISED_URL = f"https://en.yna.co.kr{REVISED}"
REVISED_ID = "yonhap:AEN20230419003800320"


def _rows(db: sqlite3.Connection, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in db.execute(sql).fetchall()]


def catalog(archive: Path) -> dict[str, list[tuple[Any, ...]]]:
    """What the index says, read with plain sqlite3 (not the code under test)."""
    db = sqlite3.connect(archive / "index.sqlite")
    try:
        return {
            "articles": _rows(
                db,
                "SELECT id, source, native_id, url, title, published_at, updated_at, section, "
                "parser, content_hash, revision, path, first_fetched_at, fetched_at, story_id, "
                "n_authors, n_images, body_chars, body FROM articles ORDER BY id",
            ),
            "captures": _rows(
                db,
                "SELECT article_id, url, status, fetched_at, warc_file, warc_offset, "
                "warc_length, record_id, record_type, payload_digest FROM captures "
                "ORDER BY warc_file, warc_offset",
            ),
            "revisions": _rows(
                db,
                "SELECT article_id, revision, content_hash, fetched_at, warc_file, warc_offset "
                "FROM revisions ORDER BY article_id, revision",
            ),
            "urls": _rows(
                db,
                "SELECT url, source, kind, article_id, state, http_status, etag, last_modified "
                "FROM urls WHERE kind = 'article' ORDER BY url",
            ),
            "foreign key faults": _rows(db, "PRAGMA foreign_key_check"),
            "search": _rows(
                db,
                "SELECT a.id FROM articles_fts f JOIN articles a ON a.rowid = f.rowid "
                "WHERE articles_fts MATCH 'satellite' ORDER BY a.id",
            ),
        }
    finally:
        db.close()


def _edited(old: str, new: str) -> bytes:
    raw = yonhap_fixture(11)
    assert old.encode() in raw
    return raw.replace(old.encode(), new.encode())


@pytest.fixture
def crawled(server: FixtureServer, tmp_path: Path) -> tuple[Path, Path]:
    """The mirror crawled, fixture 11 revised once and fetched once more unchanged."""
    build_mirror(server)
    cfg = write_config(tmp_path, server.url)
    first = run_cli("--config", str(cfg), "crawl")
    assert first.returncode == 0, first.stderr
    shown = run_cli("--config", str(cfg), "show", REVISED_ID)
    lead = json.loads(shown.stdout)["body"].split("\n\n")[1][:50]
    server.add(REVISED, _edited(lead, "Correction: " + lead))
    for _ in range(2):  # the revision, then the same page again (a capture, no revision)
        fetched = run_cli("--config", str(cfg), "fetch", REVISED_URL)
        assert fetched.returncode == 0, fetched.stderr
    return cfg, tmp_path / "archive"


def _damage(index: Path, where: int, size: int | None = None) -> bytes:
    """Overwrite ``size`` bytes (default: to the end) at ``where``."""
    with index.open("r+b") as fh:
        fh.seek(where)
        fh.write(b"\xa5" * (size if size is not None else index.stat().st_size - where))
    return index.read_bytes()


def test_rebuild_restores_the_catalog_of_a_damaged_index(crawled: tuple[Path, Path]) -> None:
    cfg, archive = crawled
    before = catalog(archive)
    assert len(before["articles"]) == 19
    revisions = [r for r in before["revisions"] if r[0] == REVISED_ID]
    assert [r[1] for r in revisions] == [1, 2]
    # the repeated unchanged fetch is a revisit record now, still a capture of its own
    assert [c[8] for c in before["captures"] if c[0] == REVISED_ID] == [
        "response",
        "response",
        "revisit",
    ]
    evidence = [c for c in before["captures"] if c[0] is None]  # robots.txt, feeds, sections
    assert len(evidence) == 12 and all(c[9] for c in before["captures"])
    assert before["search"], "the search term must find something to compare"
    assert all(u[6] for u in before["urls"])  # ETags recorded

    index = archive / "index.sqlite"
    damaged = _damage(index, 4096)  # every page but the first: "malformed"
    for command in (["stats"], ["search", "satellite"], ["show", REVISED_ID], ["crawl"]):
        result = run_cli("--config", str(cfg), *command)
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert result.stderr.startswith("error: the index is damaged ("), (command, result.stderr)
        assert result.stderr.rstrip().endswith("run: scraper rebuild-index"), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr

    rebuilt = run_cli("--config", str(cfg), "rebuild-index")
    assert rebuilt.returncode == 0, rebuilt.stderr
    # 21 article captures, and (since evidence is archived) 12 without article
    assert "rebuilt the index: 19 articles, 20 revisions, 33 captures (12 of" in rebuilt.stdout
    [aside] = archive.glob("index.sqlite.damaged-*[0-9]Z")
    assert aside.read_bytes() == damaged  # moved aside, byte for byte
    assert not list(archive.glob(".rebuild-*"))

    after = catalog(archive)
    assert after == before
    assert after["foreign key faults"] == [] and all(a[-1] for a in after["articles"])  # bodies
    found = run_cli("--config", str(cfg), "search", "satellite")
    assert found.returncode == 0 and found.stdout.count("yonhap:") == len(before["search"])
    checked = run_cli("--config", str(cfg), "check")
    assert checked.returncode == 0, checked.stdout
    again = run_cli("--config", str(cfg), "crawl")  # the frontier knows every article
    assert again.returncode == 0 and "new 0" in again.stdout, again.stdout


def test_check_repair_rebuilds_an_index_that_is_not_a_database(
    crawled: tuple[Path, Path],
) -> None:
    cfg, archive = crawled
    before = catalog(archive)
    _damage(archive / "index.sqlite", 0, 100)  # the header: "file is not a database"
    checked = run_cli("--config", str(cfg), "check")
    assert checked.returncode == 1
    assert "error: the index is damaged (file is not a database" in checked.stderr
    repaired = run_cli("--config", str(cfg), "check", "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "repairing: the index is damaged" in repaired.stdout
    assert repaired.stdout.rstrip().endswith(": consistent")
    assert catalog(archive) == before
    assert len(list(archive.glob("index.sqlite.damaged-*"))) == 1


def test_a_lost_index_is_rebuilt_and_a_killed_rebuild_leaves_the_old_state(
    crawled: tuple[Path, Path],
) -> None:
    cfg, archive = crawled
    before = catalog(archive)
    damaged = _damage(archive / "index.sqlite", 4096)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPER_")}
    killed = subprocess.run(
        [str(Path(sys.executable).parent / "scraper"), "--config", str(cfg), "rebuild-index"],
        env={**env, "SCRAPER_CRASH_AT": "rebuild"},
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    assert killed.returncode == -9
    assert (archive / "index.sqlite").read_bytes() == damaged  # the old state
    assert list(archive.glob(".rebuild-*.tmp"))  # its work, left for the next run to clear

    (archive / "index.sqlite").unlink()  # now lose it altogether
    for suffix in ("-wal", "-shm"):
        (archive / f"index.sqlite{suffix}").unlink(missing_ok=True)
    stats = run_cli("--config", str(cfg), "stats")
    assert stats.returncode == 1
    assert stats.stderr.startswith("error: the index is missing (")
    assert "run: scraper rebuild-index" in stats.stderr
    assert not (archive / "index.sqlite").exists()  # a reading command creates nothing

    rebuilt = run_cli("--config", str(cfg), "rebuild-index")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert not list(archive.glob(".rebuild-*"))
    assert not list(archive.glob("index.sqlite.damaged-*"))  # there was nothing to keep
    assert catalog(archive) == before


def test_a_missing_article_file_is_written_from_its_newest_capture(
    crawled: tuple[Path, Path],
) -> None:
    cfg, archive = crawled
    before = catalog(archive)
    [row] = [a for a in before["articles"] if a[0] == REVISED_ID]
    (archive / row[11]).unlink()
    (archive / "index.sqlite").unlink()
    rebuilt = run_cli("--config", str(cfg), "rebuild-index")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "1 article files written" in rebuilt.stdout
    after = catalog(archive)
    assert after["revisions"] == before["revisions"]
    assert after["captures"] == before["captures"]
    shown = run_cli("--config", str(cfg), "show", REVISED_ID)
    assert '"revision": 2' in shown.stdout and "Correction: " in shown.stdout


def _linked_by_id_warc(
    path: Path, exchanges: list[tuple[str, bytes, str | None]]
) -> dict[str, int]:
    """A WARC as the next writer version lays it out: request, response, then a metadata
    record with a target URI of its own, linked to the response by record id, naming the
    canonical URL (or no metadata). Returns the offset of each response record by URL."""
    offsets = {}
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True, warc_version="WARC/1.1")
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "test"}))
        for n, (url, body, canonical) in enumerate(exchanges):
            date = f"2026-01-0{n + 1}T00:00:00Z"
            http = StatusAndHeaders(
                "200 OK",
                [("Content-Type", "text/html; charset=utf-8"), ("ETag", f'"e{n}"')],
                protocol="HTTP/1.1",
            )
            response = writer.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(body),
                length=len(body),
                http_headers=http,
                warc_headers_dict={"WARC-Date": date},
            )
            rid = response.rec_headers.get_header("WARC-Record-ID")
            request = writer.create_warc_record(
                url,
                "request",
                payload=io.BytesIO(b""),
                length=0,
                http_headers=StatusAndHeaders("GET / HTTP/1.1", [], is_http_request=True),
                warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": rid},
            )
            writer.write_record(request)
            offsets[url] = fh.tell()
            writer.write_record(response)
            if canonical is not None:
                data = json.dumps({"canonical_url": canonical}).encode()
                meta = writer.create_warc_record(
                    f"urn:x-scraper:capture:{n}",
                    "metadata",
                    payload=io.BytesIO(data),
                    length=len(data),
                    warc_content_type="application/json",
                    warc_headers_dict={"WARC-Date": date, "WARC-Refers-To": rid},
                )
                writer.write_record(meta)
    return offsets


def test_rebuild_reads_metadata_linked_by_record_id_and_responses_without_any(
    tmp_path: Path,
) -> None:
    root = tmp_path / "archive"
    # a URL no source pattern matches: only the linked metadata says which article it is
    with_meta = "http://127.0.0.1:9/cdn/page-1"
    without = "http://127.0.0.1:9/view/AEN20230419003800320"
    offsets = _linked_by_id_warc(
        root / "warc" / "yonhap" / "yonhap-2026-01-01-00001.warc.gz",
        [
            (with_meta, yonhap_fixture(15), "https://en.yna.co.kr/view/AEN20230419000952325"),
            (without, yonhap_fixture(11), None),
        ],
    )
    summary = rebuild_index(root)
    assert (summary.captures, summary.articles, summary.files_written) == (2, 2, 2)
    assert summary.unreadable == [] and summary.not_articles == 0
    with Archive(root, readonly=True) as archive:
        rows = archive.db.execute(
            "SELECT article_id, url, warc_offset, fetched_at FROM captures ORDER BY id"
        ).fetchall()
        # captures.url is the URL that answered (the record's target), as a fetch writes it;
        # the canonical URL the metadata names goes to ``urls``
        assert [tuple(r) for r in rows] == [
            (
                "yonhap:AEN20230419000952325",
                with_meta,
                offsets[with_meta],
                "2026-01-01T00:00:00+00:00",
            ),
            ("yonhap:AEN20230419003800320", without, offsets[without], "2026-01-02T00:00:00+00:00"),
        ]
        urls = archive.db.execute("SELECT url FROM urls ORDER BY url").fetchall()
        assert [r[0] for r in urls] == [
            "https://en.yna.co.kr/view/AEN20230419000952325",
            "https://en.yna.co.kr/view/AEN20230419003800320",
        ]
        etags = archive.db.execute("SELECT etag FROM urls ORDER BY url").fetchall()
        assert [r[0] for r in etags] == ['"e0"', '"e1"']
        assert archive.get("yonhap:AEN20230419003800320") is not None
    with Archive(root) as archive:
        report = check.check(archive)
    assert report.ok, report.unrepaired


def test_rebuild_of_an_archive_written_before_revisits(tmp_path: Path) -> None:
    """The layout before revisits and evidence: response, request, then metadata under the
    page's own URI (``WARC-Refers-To``) naming the requested canonical URL. The rows come out
    as a fetch writes them now: the response record alone, its type and payload digest."""
    root = tmp_path / "archive"
    path = root / "warc" / "yonhap" / "2026-01-01-00001.warc.gz"  # the old file name
    path.parent.mkdir(parents=True)
    url = "http://127.0.0.1:9/view/AEN20230419003800320"
    body = yonhap_fixture(11)
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True, warc_version="WARC/1.1")
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "test"}))
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        response = writer.create_warc_record(
            url, "response", payload=io.BytesIO(body), length=len(body), http_headers=http
        )
        rid = response.rec_headers.get_header("WARC-Record-ID")
        offset = fh.tell()
        writer.write_record(response)
        length = fh.tell() - offset
        request = writer.create_warc_record(
            url,
            "request",
            payload=io.BytesIO(b""),
            length=0,
            http_headers=StatusAndHeaders("GET / HTTP/1.1", [], is_http_request=True),
            warc_headers_dict={"WARC-Concurrent-To": rid},
        )
        writer.write_record(request)
        data = json.dumps({"canonical_url": REVISED_URL, "article_id": REVISED_ID}).encode()
        meta = writer.create_warc_record(
            url,
            "metadata",
            payload=io.BytesIO(data),
            length=len(data),
            warc_content_type="application/json",
            warc_headers_dict={"WARC-Refers-To": rid},
        )
        writer.write_record(meta)
    summary = rebuild_index(root)
    assert (summary.captures, summary.evidence, summary.not_articles) == (1, 0, 0)
    with Archive(root, readonly=True) as archive:
        [row] = archive.db.execute(
            "SELECT article_id, url, warc_offset, warc_length, record_id, record_type, "
            "payload_digest FROM captures"
        ).fetchall()
        assert tuple(row) == (
            REVISED_ID,
            url,
            offset,
            length,
            rid,
            "response",
            payload_digest(body),
        )


def test_captures_read_in_worker_processes_match_a_serial_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "archive"
    _linked_by_id_warc(
        root / "warc" / "yonhap" / "yonhap-2026-01-01-00001.warc.gz",
        [
            ("http://127.0.0.1:9/view/AEN20230419000952325", yonhap_fixture(15), None),
            ("http://127.0.0.1:9/view/AEN20230419003800320", yonhap_fixture(11), None),
            ("http://127.0.0.1:9/not-an-article", b"<html></html>", None),
        ],
    )
    serial, pooled = RebuildSummary(), RebuildSummary()
    expected = read_captures(root, serial, workers=1)
    monkeypatch.setattr(captures_module, "POOL_MIN_JOBS", 1)
    assert read_captures(root, pooled, workers=2) == expected
    assert len(expected.articles) == 2 and serial == pooled
    # a response with neither metadata nor an article URL is evidence (a feed, robots.txt)
    assert len(expected.evidence) == 1 and expected.evidence[0].ref.uri.endswith("/not-an-article")
    assert (pooled.responses, pooled.not_articles) == (3, 0)


def test_damage_inside_a_warc_costs_only_the_damaged_capture(crawled: tuple[Path, Path]) -> None:
    cfg, archive = crawled
    before = catalog(archive)
    warc = max(archive.glob("warc/yonhap/*.warc.gz"), key=lambda p: p.stat().st_size)
    rel = str(warc.relative_to(archive))
    in_file = [c for c in before["captures"] if c[4] == rel]
    victim = in_file[len(in_file) // 2]  # one in the middle: intact records follow it
    with warc.open("r+b") as fh:
        fh.seek(victim[5] + 300)
        fh.write(b"\0" * 64)
    (archive / "index.sqlite").unlink()
    rebuilt = run_cli("--config", str(cfg), "rebuild-index")
    assert rebuilt.returncode == 1
    [problem] = [line for line in rebuilt.stderr.splitlines() if line.startswith("error:")]
    assert problem.startswith(f"error: unreadable: {rel}"), problem
    assert str(victim[5]) in problem and problem.isascii() and problem.isprintable()
    after = catalog(archive)
    assert after["captures"] == [c for c in before["captures"] if c != victim]
    assert after["articles"] == before["articles"]  # the article file still stands


OLD_KH = "/view.php?ud=20230419000999"  # an old link that now 301s to /article/10604071
OLD_KH_PUBLIC = f"https://www.koreaherald.com{OLD_KH}"


def test_a_redirecting_old_link_rebuilds_to_the_same_captures(
    server: FixtureServer, tmp_path: Path
) -> None:
    """Each fetch of an old Korea Herald link archives its 301 hop, then the page (a revisit
    the second time); the catalog has one row per fetch, for the URL that answered."""
    build_mirror(server)
    server.add(OLD_KH, b"moved", status=301, headers={"Location": "/article/10604071"}, etag=False)
    cfg = write_config(tmp_path, server.url)
    for command in (["crawl"], ["fetch", OLD_KH_PUBLIC], ["fetch", OLD_KH_PUBLIC]):
        done = run_cli("--config", str(cfg), *command)
        assert done.returncode == 0, done.stderr
    archive = tmp_path / "archive"
    before = catalog(archive)
    hops = []
    for path in archive.glob("warc/koreaherald/*.warc.gz"):
        with path.open("rb") as fh:
            hops += [
                record.rec_headers.get_header("WARC-Target-URI")
                for record in ArchiveIterator(fh)
                if record.http_headers is not None and record.http_headers.get_statuscode() == "301"
            ]
    assert len(hops) == 2 and all(h.endswith(OLD_KH) for h in hops)  # archived, not cataloged
    answered = [c for c in before["captures"] if c[1].endswith("/article/10604071")]
    # the crawl fetched the page itself; each fetch of the old link then got the same bytes
    assert [c[8] for c in answered] == ["response", "revisit", "revisit"]
    assert not [c for c in before["captures"] if c[1].endswith(OLD_KH)]
    assert [u for u in before["urls"] if u[0] == OLD_KH_PUBLIC]  # the URL it was fetched under

    (archive / "index.sqlite").unlink()
    rebuilt = run_cli("--config", str(cfg), "rebuild-index")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "2 redirect hops" in rebuilt.stdout
    assert catalog(archive) == before


def test_rebuild_refuses_while_the_service_holds_the_archive(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    (root / "warc").mkdir(parents=True)
    lock = ServeLock(root)
    lock.acquire()
    try:
        with pytest.raises(StoreError, match="stop it first"):
            rebuild_index(root)
    finally:
        lock.release()
    assert not (root / "index.sqlite").exists()
    rebuild_index(root)  # once it has stopped
    assert (root / "index.sqlite").exists()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_progress_bar_on_a_terminal_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "archive"
    _linked_by_id_warc(
        root / "warc" / "yonhap" / "yonhap-2026-01-01-00001.warc.gz",
        [
            ("http://127.0.0.1:9/view/AEN20230419000952325", yonhap_fixture(15), None),
            ("http://127.0.0.1:9/view/AEN20230419003800320", yonhap_fixture(11), None),
        ],
    )
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    run_rebuild(root)
    shown = terminal.getvalue()
    for phase in ("reading WARC files", "re-extracting captures", "indexing articles"):
        assert phase in shown
    assert "2/2" in shown
    assert "rebuilt the index: 2 articles" in capsys.readouterr().out
    piped = io.StringIO()
    monkeypatch.setattr("sys.stderr", piped)
    run_rebuild(root)
    assert "re-extracting" not in piped.getvalue()
