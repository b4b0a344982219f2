"""Reading and maintaining an archive: search, export, stats, reparse and check --repair, on a
real archive (real WARC files, JSON files and SQLite index) built from the fixture pages."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from scraper import check, reparse, search, stats
from scraper.articlefile import dump_article
from scraper.errors import StoreError
from scraper.extract import extract
from scraper.models import Article, content_hash
from scraper.store import Archive
from scraper.warc import WarcStore, marker
from scraper.warcread import iter_members, scan
from tests.archive_helpers import KH1, KH2, KH3, assert_consistent, build_archive, store, yonhap
from tests.conftest import run_cli, write_config

PAGES = [yonhap(n) for n in (9, 11, 12, 15, 16, 8)] + [KH1, KH2, KH3]


@pytest.fixture
def built(tmp_path: Path) -> Path:
    return build_archive(tmp_path / "archive", PAGES)


def test_search_ranks_filters_and_snippets(built: Path) -> None:
    with Archive(built) as archive:
        hits = search.search(archive, "reconnaissance satellite")
        assert hits[0].id == "yonhap:AEN20230419000952325"  # the headline match comes first
        assert "[satellite]" in hits[0].snippet or "[reconnaissance]" in hits[0].snippet
        ids = {h.id for h in search.search(archive, "mpox")}
        assert ids == {"yonhap:AEN20230419005000320", "koreaherald:20230419000612"}
        only_kh = search.search(archive, "mpox", source="koreaherald")
        assert [h.id for h in only_kh] == ["koreaherald:20230419000612"]
        assert search.search(archive, "mpox", since="2024-01-01") == []
        old = search.search(archive, "Korea", until="2020-01-01")
        assert [h.id for h in old] == ["yonhap:AEN20190820002300325"]
        swindlers = search.search(archive, '"defend freedom"')
        assert {h.id for h in swindlers} == {
            "yonhap:AEN20230419004200315",
            "koreaherald:10604071",
        }
        section = swindlers[0].section
        assert section and all(
            h.section == section for h in search.search(archive, "Korea", section=section)
        )
        # punctuation and operators never become an FTS syntax error
        assert search.search(archive, "N. Korea's (Kim) -- launch:") != []
        assert search.search(archive, "KOSPI OR mpox") != []
        assert search.search(archive, "deregul*")[0].id.startswith("yonhap:AEN202304190038")
        with pytest.raises(StoreError):
            search.search(archive, '"" OR')


def test_search_cli_prints_ranked_lines(built: Path, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "http://127.0.0.1:9")
    result = run_cli("--config", str(cfg), "search", "satellite", "--limit", "1")
    assert result.returncode == 0, result.stderr
    first, snippet = result.stdout.splitlines()
    assert first == (
        "2023-04-19  yonhap:AEN20230419000952325  (2nd LD) N. Korea's Kim orders launch of "
        "military reconnaissance satellite as planned"
    )
    assert "[satellite]" in snippet


def test_export_jsonl_and_csv_round_trip(built: Path, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "http://127.0.0.1:9")
    files = {
        json.loads(p.read_text())["id"]: json.loads(p.read_text())
        for p in (built / "articles").rglob("*.json")
    }
    jsonl = run_cli("--config", str(cfg), "export", "--format", "jsonl")
    assert jsonl.returncode == 0, jsonl.stderr
    records = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert {r["id"]: r for r in records} == files
    dates = [r["published_at"] for r in records]
    assert dates == sorted(dates)
    for r in records:
        assert Article.from_dict(r).content_hash == content_hash(r["title"], r["body"])

    result = run_cli("--config", str(cfg), "export", "--format", "csv", "--source", "koreaherald")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 3
    for row in rows:
        original = files[row["id"]]
        assert list(row) == list(original)  # every field of the record, in record order
        assert row["body"] == original["body"]  # multi-line text survives CSV quoting
        for name in ("authors", "tags", "urls", "images"):
            assert json.loads(row[name]) == original[name]
        assert int(row["revision"]) == original["revision"]
    since = run_cli("--config", str(cfg), "export", "--since", "2024-01-01")
    assert [json.loads(x)["id"] for x in since.stdout.splitlines()] == [
        "koreaherald:20241106050843"
    ]


def test_stats_counts_days_parsers_and_missing_fields(built: Path, tmp_path: Path) -> None:
    root = built
    with Archive(root) as archive:
        # a Yonhap page whose layout no site parser knows: the generic fallback extracts it
        raw = yonhap(14).read_bytes().replace(b"story-news", b"story-drift")
        drifted = store(archive, WarcStore(root, recover=False), raw, extract(raw).url)
        assert drifted.article.parser.startswith("fallback/")
        archive.mark_url(
            "https://en.yna.co.kr/view/AEN20230419000000001",
            "yonhap",
            state="failed",
            error="HTTP 404",
        )
        result = stats.collect(archive)
    by_source = {s.source: s for s in result.sources}
    yna = by_source["yonhap"]
    assert yna.articles == 7 and yna.fallback == 1
    assert yna.fallback_share == pytest.approx(1 / 7)
    assert yna.by_day == {"2019-08-20": 1, "2023-04-19": 6}
    assert yna.failed_urls == 1 and yna.failures == {"HTTP 404": 1}
    assert yna.parsers["yonhap/y1"] == 6
    kh = by_source["koreaherald"]
    assert kh.articles == 3 and kh.fallback == 0
    assert kh.by_day == {"2023-04-19": 2, "2024-11-06": 1}
    assert set(yna.missing) == {"published_at", "updated_at", "section", "authors", "images"}
    assert yna.missing["published_at"] == 0

    cfg = write_config(tmp_path, "http://127.0.0.1:9")
    out = run_cli("--config", str(cfg), "stats", "--json")
    assert out.returncode == 0, out.stderr
    data = {s["source"]: s for s in json.loads(out.stdout)}
    assert data["yonhap"]["articles"] == 7
    text = run_cli("--config", str(cfg), "stats")
    assert "yonhap: 7 articles" in text.stdout and "fallback parser 1 (14.3%)" in text.stdout


def test_reparse_is_deterministic_and_restamps_changed_records(built: Path) -> None:
    before = {p: p.read_bytes() for p in (built / "articles").rglob("*.json")}
    with Archive(built) as archive:
        summary = reparse.reparse(archive, workers=1)
        assert (summary.checked, summary.changed, summary.failed) == (len(PAGES), 0, 0)
        assert {p: p.read_bytes() for p in before} == before  # nothing rewritten

        # an older parser's output: a stale body and parser name in file and index
        target = "yonhap:AEN20230419003800320"
        current = archive.get(target)
        assert current is not None
        stale = current.evolve(
            body=current.body + "\n\nRelated articles: …",
            parser="yonhap/y0",
            content_hash=content_hash(current.title, current.body + "\n\nRelated articles: …"),
        )
        archive.replace_record(stale)
        summary = reparse.reparse(archive, source="yonhap", workers=1)
        assert (summary.checked, summary.changed) == (6, 1)
        fixed = archive.get(target)
        assert fixed is not None
        assert fixed.body == current.body and fixed.parser == "yonhap/y1"
        assert fixed.revision == current.revision == 1  # a new stamp, not a new revision
        assert fixed.parsed_at is not None
        assert fixed.to_dict() == {**current.to_dict(), "parsed_at": fixed.parsed_at}
        row = archive.db.execute(
            "SELECT content_hash, parser FROM articles WHERE id = ?", (target,)
        ).fetchone()
        assert tuple(row) == (current.content_hash, "yonhap/y1")
        again = reparse.reparse(archive, workers=1)
        assert again.changed == 0


def test_reparse_in_worker_processes_gives_the_same_result(
    built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reparse, "POOL_MIN_JOBS", 1)  # use the pool even for a few articles
    with Archive(built) as archive:
        current = archive.get("koreaherald:10604071")
        assert current is not None
        archive.replace_record(current.evolve(title="Old headline"))
        summary = reparse.reparse(archive, workers=2)
        assert (summary.checked, summary.changed, summary.failed) == (len(PAGES), 1, 0)
        fixed = archive.get("koreaherald:10604071")
        assert fixed is not None and fixed.title == current.title
        assert reparse.reparse(archive, workers=2).changed == 0


def test_reparse_cli_reports_a_capture_that_no_longer_extracts(built: Path, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "http://127.0.0.1:9")
    with Archive(built) as archive:
        row = archive.db.execute(
            "SELECT warc_file, warc_offset FROM revisions WHERE article_id = 'koreaherald:10604071'"
        ).fetchone()
        # point the record at another article's capture: it extracts as a different id
        other = archive.db.execute(
            "SELECT warc_file, warc_offset FROM revisions WHERE article_id = ?",
            ("yonhap:AEN20230419003800320",),
        ).fetchone()
        archive.db.execute(
            "UPDATE revisions SET warc_file = ?, warc_offset = ? WHERE article_id = ?",
            (other[0], other[1], "koreaherald:10604071"),
        )
        assert row is not None
    result = run_cli("--config", str(cfg), "reparse")
    assert result.returncode == 1
    assert "koreaherald:10604071" in result.stderr
    assert result.stdout.strip() == "reparsed 9: changed 0, failed 1, without capture 0"


def _dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(proc.stdout)


def test_check_finds_and_repairs_what_a_crash_leaves(built: Path, tmp_path: Path) -> None:
    with Archive(built) as archive:
        assert check.check(archive).problems == []
        # 1. an interrupted WARC record at the end of a file nobody holds
        warc = sorted((built / "warc" / "yonhap").glob("*.warc.gz"))[0]
        good = warc.stat().st_size
        with warc.open("ab") as fh:
            fh.write(b"\x1f\x8b\x08\x00half a record")
        marker(warc).write_text("12345\n")
        # 2. a file saved just before a crash, never indexed
        extra = extract(yonhap(10).read_bytes())
        orphan = built / "articles/yonhap/2023/04/19/AEN20230419004700315.json"
        orphan.write_bytes(dump_article(extra.evolve(story_id=extra.id)))
        # 3. a file that went missing; 4. a temp file of a dead writer
        kh = archive.get("koreaherald:10604071")
        assert kh is not None
        missing = built / "articles/koreaherald/2023/04/19/10604071.json"
        missing.unlink()
        temp = missing.parent / f".10604071.json.{_dead_pid()}.abcd.tmp"
        temp.write_text("{")
        # 5. the search index out of step
        archive.db.execute("DELETE FROM articles_fts WHERE rowid = 1")

        report = check.check(archive)
        text = "\n".join(p.text for p in report.problems)
        assert not report.ok
        assert "bytes of an interrupted record at the end" in text
        assert "yonhap:AEN20230419004700315 is not in the index" in text
        assert "10604071.json: article file is missing" in text
        assert "temp file left by a dead writer" in text
        assert "search index" in text
        assert warc.stat().st_size > good  # checking alone changes nothing

        repaired = check.check(archive, repair=True)
        assert repaired.ok and len(repaired.problems) == 5
        assert all(p.line().startswith("repaired: ") for p in repaired.problems)
        assert warc.stat().st_size == good and not marker(warc).exists()
        assert scan(warc).damaged == 0
        assert archive.get("koreaherald:10604071") == kh
        assert archive.get(extra.id) is not None
        assert not temp.exists()
        assert check.check(archive).problems == []
    assert_consistent(built)
    cfg = write_config(tmp_path, "http://127.0.0.1:9")
    result = run_cli("--config", str(cfg), "check")
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip().endswith(": consistent")


def test_check_leaves_a_live_writers_file_alone(built: Path) -> None:
    warcs = WarcStore(built)
    try:
        with Archive(built) as archive:
            store(archive, warcs, yonhap(10).read_bytes(), extract(yonhap(10).read_bytes()).url)
            live = next(iter(warcs._open.values()))
            os.write(live.fd, b"\x1f\x8b\x08\x00 mid-write")  # a record being written right now
            report = check.check(archive, repair=True)
            assert report.problems == []
            # start-up recovery of another process skips it too
            WarcStore(built)
            assert marker(built / live.rel).exists()
    finally:
        warcs.close()


def test_search_of_a_very_common_word_ranks_the_most_recent_matches(
    built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Archive(built) as archive:
        everything = search.search(archive, "Korea", limit=50)
        assert len(everything) > 3
        newest = archive.db.execute(
            "SELECT a.id FROM articles_fts f JOIN articles a ON a.rowid = f.rowid "
            "WHERE articles_fts MATCH 'Korea' ORDER BY f.rowid DESC LIMIT 3"
        ).fetchall()
        monkeypatch.setattr(search, "RANK_WINDOW", 3)
        windowed = search.search(archive, "Korea", limit=50)
        assert {h.id for h in windowed} == {r[0] for r in newest}
        assert [h.score for h in windowed] == sorted(h.score for h in windowed)
        # a filtered query ranks all its matches: the window never hides an old article
        old = search.search(archive, "Korea", until="2020-01-01")
        assert [h.id for h in old] == ["yonhap:AEN20190820002300325"]


def test_a_warc_file_killed_before_its_first_record_is_removed(built: Path) -> None:
    stub = built / "warc" / "yonhap" / "2026-01-01-00099.warc.gz"
    stub.write_bytes(b"\x1f\x8b\x08")  # the process died inside its warcinfo write
    with Archive(built) as archive:
        assert check.check(archive).unrepaired == [
            "warc/yonhap/2026-01-01-00099.warc.gz: no complete record"
        ]
        assert check.check(archive, repair=True).ok
    assert not stub.exists()
    marker(stub).write_text("1\n")
    stub.write_bytes(b"")
    WarcStore(built)  # start-up recovery does the same for a file with a marker
    assert not stub.exists() and not marker(stub).exists()


def test_csv_keeps_null_and_empty_apart_for_duckdb(tmp_path: Path) -> None:
    import duckdb

    from scraper.export.table import write_csv

    raw = KH3.read_bytes()
    article = extract(raw).evolve(subtitle="", editor_note=None, tags=())
    out = tmp_path / "one.csv"
    with out.open("w", newline="") as fh:
        write_csv(fh, [article])
    rows = (
        duckdb.connect()
        .execute(f"SELECT * FROM read_csv('{out}', header = true, allow_quoted_nulls = false)")
        .fetchall()
    )
    assert len(rows) == 1
    row = rows[0]
    names = list(Article.__dataclass_fields__)
    got = dict(zip(names, row, strict=True))
    assert got["subtitle"] == ""  # an empty string stays one
    assert got["editor_note"] is None  # and a null stays null
    assert json.loads(got["tags"]) == []
    assert json.loads(got["images"]) == article.to_dict()["images"]


def test_check_names_an_index_row_that_points_at_the_wrong_record(built: Path) -> None:
    with Archive(built) as archive:
        db = archive.db
        total = sum(
            db.execute(f"SELECT count(*) FROM {t} WHERE warc_file IS NOT NULL").fetchone()[0]
            for t in ("captures", "revisions")
        )
        report = check.check(archive)
        assert report.problems == [] and report.counts["captures"] == total > 0
        capture = db.execute(
            "SELECT rowid AS rid, article_id, warc_file, warc_offset FROM captures ORDER BY rowid"
        ).fetchone()
        revision = db.execute(
            "SELECT rowid AS rid, article_id, warc_file, warc_offset FROM revisions ORDER BY rowid"
        ).fetchone()
        request = next(
            m.offset
            for m in scan(built / revision["warc_file"]).members
            if m.warc_type == "request"
        )
        with db:
            db.execute(
                "UPDATE captures SET warc_offset = warc_offset + 1 WHERE rowid = ?",
                (capture["rid"],),
            )
            db.execute(
                "UPDATE revisions SET warc_offset = ? WHERE rowid = ?", (request, revision["rid"])
            )
        report = check.check(archive)
        assert report.counts["captures"] == total
        assert report.unrepaired == [
            f"{capture['article_id']}: captures row points at {capture['warc_file']}"
            f"@{capture['warc_offset'] + 1}, which holds no record",
            f"{revision['article_id']}: revisions row points at {revision['warc_file']}"
            f"@{request}, which holds a request record",
        ]


def test_check_removes_a_second_copy_and_an_unreadable_stray_file(built: Path) -> None:
    with Archive(built) as archive:
        path = str(
            archive.db.execute(
                "SELECT path FROM articles WHERE id = 'koreaherald:10604071'"
            ).fetchone()[0]
        )
        # a second copy under another date (the publication date moved mid-save)
        copy = built / "articles/koreaherald/2023/04/20/10604071.json"
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes((built / path).read_bytes())
        stray = built / "articles/koreaherald/2023/04/20/broken.json"
        stray.write_text("{not json")
        found = check.check(archive)
        assert [p.line() for p in found.problems] == [
            "problem: articles/koreaherald/2023/04/20/10604071.json: second file of "
            f"koreaherald:10604071 (index: {path})",
            "problem: articles/koreaherald/2023/04/20/broken.json: unreadable article file "
            "not in the index",
        ]
        assert copy.exists() and stray.exists()  # checking alone changes nothing
        repaired = check.check(archive, repair=True)
        assert [p.repair for p in repaired.problems] == ["removed", "removed"]
        assert not copy.exists() and not stray.exists() and (built / path).exists()
        assert check.check(archive).problems == []


def test_check_reports_damage_inside_a_warc_and_what_the_repair_lost(built: Path) -> None:
    warc = sorted((built / "warc" / "yonhap").glob("*.warc.gz"))[0]
    rel = str(warc.relative_to(built))
    members = list(iter_members(warc.read_bytes()))
    hit = next(i for i, m in enumerate(members) if i > 2 and m.warc_type == "response")
    with Archive(built) as archive:
        lost = archive.db.execute(
            "SELECT article_id FROM captures WHERE warc_file = ? AND warc_offset = ?",
            (rel, members[hit].offset),
        ).fetchone()[0]
        with warc.open("r+b") as fh:
            fh.seek(members[hit].offset + 20)
            fh.write(b"\0" * 16)
        after = len(members) - hit - 1
        damage = re.compile(
            rf"{re.escape(rel)}: (\d+) unreadable bytes at offset {members[hit].offset} "
            rf"\(damaged; {after} readable records after it\)"
        )
        found = check.check(archive).problems
        assert damage.fullmatch(found[0].text) and found[0].repair is None
        size = damage.fullmatch(found[0].text).group(1)  # type: ignore[union-attr]
        repaired = check.check(archive, repair=True).problems[0]
        assert repaired.text == found[0].text
        assert re.fullmatch(
            rf"{size} bytes moved to quarantine/{re.escape(rel)}\.\d+-\d+\.bin; "
            rf"{len(members) - 1} records kept, \d+ catalog rows re-pointed; "
            rf"captures lost: {re.escape(lost)}",
            str(repaired.repair),
        ), repaired.repair
        assert check.check(archive).problems == []


def test_check_reads_on_after_an_unreadable_file_and_names_a_file_holding_another_id(
    built: Path,
) -> None:
    with Archive(built) as archive:
        rows = archive.db.execute("SELECT id, path FROM articles ORDER BY rowid").fetchall()
        first, second, third = rows[0], rows[1], rows[2]
        (built / first["path"]).write_text("{not json")
        (built / second["path"]).write_bytes((built / third["path"]).read_bytes())
        assert check.check(archive).unrepaired == [
            f"{first['path']}: unreadable article file",
            f"{second['path']}: holds {third['id']}, index says {second['id']}",
        ]


def test_pid_alive_only_looks() -> None:
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert check.pid_alive(child.pid)
        # asking sent the process no signal that stops it (signal 0 only checks it exists)
        with pytest.raises(subprocess.TimeoutExpired):
            child.wait(timeout=0.5)
    finally:
        child.kill()
        child.wait()
    assert not check.pid_alive(child.pid)
