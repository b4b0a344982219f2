"""``scraper import``: WARCs from warcio's capture_http and hand-made edge cases → articles,
revisions and copied records; idempotent, resumable after kill -9."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from scraper.config import Config, load_config
from scraper.history import reader
from scraper.history.importer import Importer, Summary
from scraper.store import Archive
from scraper.warc import WarcStore
from tests.archive_helpers import assert_consistent
from tests.conftest import ROOT, run_cli, write_config
from tests.history_warcs import (
    captured,
    header,
    response,
    revisit,
    write_warc,
    yonhap_page,
)

Y1 = "https://en.yna.co.kr/view/AEN20160301000100315"
Y2 = "http://m-en.yna.co.kr/view/AEN20160405000400315"
KH = "http://www.koreaherald.com/view.php?ud=20160301000123"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load_config(write_config(tmp_path, "https://en.yna.co.kr"))


def run_import(config: Config, *paths: Path) -> Summary:
    root = config.archive.path
    with Archive(root) as archive:
        warcs = WarcStore(root)
        try:
            return Importer(config, archive, warcs).run(list(paths))
        finally:
            warcs.close()


def our_records(root: Path) -> list[dict[str, str]]:
    found = []
    for path in sorted((root / "warc").glob("*/*.warc.gz")):
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type in ("response", "request", "revisit"):
                    found.append(dict(record.rec_headers.headers))
    return found


def rows(root: Path, sql: str) -> list[tuple[object, ...]]:
    with Archive(root) as archive:
        return [tuple(r) for r in archive.db.execute(sql)]


def test_capture_http_warc_is_imported_with_capture_times_and_copied_records(
    config: Config, tmp_path: Path
) -> None:
    warc = captured(tmp_path / "capture.warc.gz")
    originals = {
        dict(r.rec_headers.headers)["WARC-Record-ID"]: dict(r.rec_headers.headers)
        for r in ArchiveIterator(warc.open("rb"))
    }
    summary = run_import(config, warc)
    # 4 exchanges = 8 records; the list page is no article URL
    assert (summary.scanned, summary.matched, summary.new) == (8, 3, 3)
    root = config.archive.path
    articles = rows(root, "SELECT id, fetched_at FROM articles ORDER BY id")
    assert [a[0] for a in articles] == [
        "koreaherald:3100001",
        "yonhap:AEN20160301000100315",
        "yonhap:AEN20160302000200315",
    ]
    copies = our_records(root)
    assert len(copies) == 6  # three responses and their requests
    for copy in copies:
        original = originals[copy["WARC-Record-ID"]]
        assert copy["WARC-Date"] == original["WARC-Date"]
        assert copy["WARC-Source-URI"] == warc.resolve().as_uri()
        assert int(copy["WARC-Source-Offset"]) >= 0
    dates = {o["WARC-Target-URI"]: o["WARC-Date"] for o in originals.values()}
    for article_id, fetched_at in articles:
        uri = next(u for u in dates if str(article_id).split(":")[1] in u)
        assert str(fetched_at)[:19] == dates[uri][:19]
    # catalog offsets point at the copied response records
    for file, offset in rows(root, "SELECT warc_file, warc_offset FROM captures"):
        with (root / str(file)).open("rb") as fh:
            fh.seek(int(str(offset)))
            assert next(iter(ArchiveIterator(fh))).rec_type == "response"
    assert_consistent(root)


def test_edge_cases_uncompressed_chunked_gzip_revisit_non200_nonhtml_truncated(
    config: Config, tmp_path: Path
) -> None:
    first = response(Y1, yonhap_page("AEN20160301000100315"), is_chunked=True, is_gzip=True)
    records = [
        first,
        response(Y2, yonhap_page("AEN20160405000400315", 11), date="2016-04-05T01:00:00Z"),
        response(Y1.replace("0100315", "0900315"), b"gone", status="404 Not Found"),
        response(KH, b"{}", content_type="application/json"),
        response("https://example.com/view/AEN20160301000100315", b"<html>x</html>"),
        revisit(first, date="2016-06-01T00:00:00Z"),
    ]
    tail = response(Y1.replace("0100315", "0700315"), yonhap_page("AEN20160301000700315"))
    path = write_warc(tmp_path / "edge.warc", records, gzip=False)
    with path.open("ab") as fh:
        fh.write(tail[: len(tail) // 2])
    summary = run_import(config, path)
    assert summary.scanned == 6
    assert (summary.new, summary.unchanged, summary.revised) == (2, 1, 0)
    assert dict(summary.skipped) == {"status-404": 1, "not-html": 1, "truncated": 1}
    root = config.archive.path
    # the revisit moved fetched_at of the article to its date; the first capture stays
    assert rows(
        root, "SELECT first_fetched_at, fetched_at FROM articles WHERE id LIKE '%0100315'"
    ) == [("2016-03-01T09:00:00+00:00", "2016-06-01T00:00:00+00:00")]
    assert rows(root, "SELECT count(*) FROM captures") == [(3,)]
    kinds = [r["WARC-Type"] for r in our_records(root)]
    assert sorted(kinds) == ["response", "response", "revisit"]


def test_gzip_member_truncated_and_whole_file_gzip(config: Config, tmp_path: Path) -> None:
    a = response(Y1, yonhap_page("AEN20160301000100315"))
    b = response(Y2, yonhap_page("AEN20160405000400315", 11))
    path = write_warc(tmp_path / "cut.warc.gz", [a, b])
    path.write_bytes(path.read_bytes()[:-200])
    summary = run_import(config, path)
    assert (summary.new, summary.skipped["truncated"]) == (1, 1)
    import gzip

    whole = tmp_path / "whole.warc.gz"
    whole.write_bytes(gzip.compress(a + b))  # one member for the whole file
    summary = run_import(config, whole)
    assert (summary.new, summary.skipped["already-imported"]) == (1, 1)


def test_revised_and_duplicate_payloads(config: Config, tmp_path: Path) -> None:
    page = yonhap_page("AEN20160301000100315")
    at = page.index(b"<p>", page.index(b"story-news")) + 3
    changed = page[:at] + b"A correction was made. " + page[at:]
    records = [
        response(Y1, page, date="2016-03-01T09:00:00Z"),
        response(Y1, page, date="2016-03-02T09:00:00Z"),  # same payload: not stored again
        response(Y1, changed, date="2016-03-03T09:00:00Z"),
    ]
    summary = run_import(config, write_warc(tmp_path / "rev.warc.gz", records))
    assert (summary.new, summary.revised) == (1, 1)
    assert summary.skipped["duplicate"] == 1
    root = config.archive.path
    assert rows(root, "SELECT revision, fetched_at FROM revisions ORDER BY revision") == [
        (1, "2016-03-01T09:00:00+00:00"),
        (2, "2016-03-03T09:00:00+00:00"),
    ]
    assert len(our_records(root)) == 2


def test_wacz_and_directories(config: Config, tmp_path: Path) -> None:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as zf:
        zf.writestr(
            "archive/data.warc.gz",
            b"".join(
                __import__("gzip").compress(r)
                for r in [response(Y1, yonhap_page("AEN20160301000100315"))]
            ),
        )
        zf.writestr("datapackage.json", "{}")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "coll.wacz").write_bytes(data.getvalue())
    write_warc(
        folder / "b.warc", [response(Y2, yonhap_page("AEN20160405000400315", 11))], gzip=False
    )
    (folder / "notes.txt").write_text("not a warc")
    summary = run_import(config, folder)
    assert (summary.files, summary.new) == (2, 2)
    copies = our_records(config.archive.path)
    assert any(c["WARC-Source-URI"].endswith(".wacz#archive/data.warc.gz") for c in copies)


def test_reimport_is_idempotent(config: Config, tmp_path: Path) -> None:
    warc = captured(tmp_path / "capture.warc.gz")
    run_import(config, warc)
    root = config.archive.path
    before = (our_records(root), rows(root, "SELECT count(*) FROM captures"))
    again = run_import(config, warc)
    assert again.scanned == 0  # the file was read to its end before
    with Archive(root) as archive:
        archive.db.execute("DELETE FROM import_files")  # forget the cursors: read it all again
    third = run_import(config, warc)
    assert (third.scanned, third.new, third.skipped["already-imported"]) == (8, 0, 3)
    assert (our_records(root), rows(root, "SELECT count(*) FROM captures")) == before


def test_reader_offsets_resume_at_a_record(tmp_path: Path) -> None:
    records = [response(Y1, b"<html>%d</html>" % i) for i in range(3)]
    path = write_warc(tmp_path / "r.warc.gz", records)
    read = [r for r in reader.read(reader.WarcInput(path)) if isinstance(r, reader.RawRecord)]
    assert [r.data for r in read] == records
    resumed = list(reader.read(reader.WarcInput(path), read[1].offset))
    assert [r.data for r in resumed if isinstance(r, reader.RawRecord)] == records[1:]
    assert header(records[0], "WARC-Record-ID") == read[0].record_id


@pytest.mark.parametrize(
    ("crash_at", "rescanned", "recognised"),
    [
        ("import:3", 3, 0),  # after the 3rd article and its cursor: resumes right after it
        ("history-saved:3", 4, 1),  # 3rd saved, cursor not moved: re-read, known by record id
        ("index:3", 4, 0),  # inside the 3rd article's index transaction: stored again, once
    ],
)
def test_cli_import_kill_9_then_rerun(
    tmp_path: Path, crash_at: str, rescanned: int, recognised: int
) -> None:
    cfg = write_config(tmp_path, "https://en.yna.co.kr")
    ids = [f"AEN2016030{i}000{i}00315" for i in range(1, 7)]
    warc = write_warc(
        tmp_path / "many.warc.gz",
        [
            response(
                f"https://en.yna.co.kr/view/{n}", yonhap_page(n), date=f"2016-03-0{i + 1}T00:00:00Z"
            )
            for i, n in enumerate(ids)
        ],
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPER_")}
    env["SCRAPER_CRASH_AT"] = crash_at
    killed = subprocess.run(
        # with worker processes: they must not outlive the killed one (their inherited pipes
        # would keep this call waiting) nor change what the rerun finds
        [scraper_bin(), "--config", str(cfg), "import", "--jobs", "2", str(warc)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -9
    root = tmp_path / "archive"
    assert rows(root, "SELECT count(*) FROM articles") == [
        (3 if recognised or rescanned == 3 else 2,)
    ]
    done = run_cli("--config", str(cfg), "import", str(warc))
    assert done.returncode == 0, done.stderr
    assert f"scanned {rescanned} records" in done.stdout, done.stdout
    assert f"new {6 - 3 if rescanned == 3 or recognised else 4}" in done.stdout, done.stdout
    assert rows(root, "SELECT count(*) FROM articles") == [(6,)]
    assert rows(root, "SELECT count(*), count(DISTINCT record_id) FROM captures") == [(6, 6)]
    copies = our_records(root)
    assert len({c["WARC-Record-ID"] for c in copies}) == 6
    # killed inside the index transaction: the copy written before it stays as extra bytes
    # that nothing points at (as for a crawl, docs/archive-format.md "Crash safety")
    assert len(copies) == 6 + (crash_at == "index:3")
    assert_consistent(root)


def scraper_bin() -> str:
    return str(Path(sys.executable).parent / "scraper")


def test_cli_import_refuses_a_missing_path(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "https://en.yna.co.kr")
    result = run_cli("--config", str(cfg), "import", str(tmp_path / "nope.warc.gz"))
    assert result.returncode == 2
    assert result.stderr.startswith("error: no such file or directory (")


def test_a_revisit_without_refers_to_is_matched_by_digest_and_url(
    config: Config, tmp_path: Path
) -> None:
    # WARC-Refers-To is optional (WARC 1.1, 6.7.3): wget and older Heritrix name only the
    # payload digest and the target URI, which find the original just as well
    first = response(Y1, yonhap_page("AEN20160301000100315"))
    again = revisit(first, date="2016-06-01T00:00:00Z")
    lines = again.split(b"\r\n")
    stripped = b"\r\n".join(line for line in lines if not line.startswith(b"WARC-Refers-To:"))
    assert len(stripped) < len(again)
    summary = run_import(config, write_warc(tmp_path / "r.warc.gz", [first, stripped]))
    assert (summary.new, summary.unchanged) == (1, 1), summary
    assert rows(config.archive.path, "SELECT first_fetched_at, fetched_at FROM articles") == [
        ("2016-03-01T09:00:00+00:00", "2016-06-01T00:00:00+00:00")
    ]
