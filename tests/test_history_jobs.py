"""``scraper import --jobs N``: extraction in worker processes stores exactly what the
in-process import stores (article files, index rows, WARC records), and a page that is no
article is reported the same way."""

from __future__ import annotations

import dataclasses
import logging
import os
import sqlite3
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest

from scraper.config import Config, load_config
from scraper.extract import extract
from scraper.history import ingest
from scraper.history.importer import Importer, Summary
from scraper.models import Article
from scraper.store import Archive
from scraper.warc import WarcStore
from tests.archive_helpers import assert_consistent
from tests.conftest import ROOT, run_cli, write_config
from tests.history_warcs import captured, response, revisit, write_warc, yonhap_page
from tests.test_history_import import scraper_bin

Y1 = "https://en.yna.co.kr/view/AEN20160301000100315"
Y2 = "http://m-en.yna.co.kr/view/AEN20160405000400315"
BAD = "https://en.yna.co.kr/view/AEN20160301000500315"  # a Yonhap URL, a page with no headline
# columns set from the clock at import time, not from the input
CLOCK = {"urls": {"first_seen", "last_checked"}, "import_files": {"updated_at"}}


def mixed_warc(tmp_path: Path) -> list[Path]:
    """Revisions, a duplicate payload, a revisit, a failure, non-article records, and a
    capture_http WARC (request + response pairs)."""
    page = yonhap_page("AEN20160301000100315")
    at = page.index(b"<p>", page.index(b"story-news")) + 3
    changed = page[:at] + b"A correction was made. " + page[at:]
    first = response(Y1, page, date="2016-03-01T09:00:00Z", is_chunked=True, is_gzip=True)
    records = [
        first,
        response(Y1, page, date="2016-03-02T09:00:00Z"),  # duplicate payload
        response(BAD, b"<html><body><p>x</p></body></html>"),  # ParseError
        response(Y2, yonhap_page("AEN20160405000400315", 11), date="2016-04-05T01:00:00Z"),
        response("https://example.com/page", b"<html>not ours</html>"),
        response(Y1, changed, date="2016-03-03T09:00:00Z"),  # revision 2
        revisit(first, date="2016-06-01T00:00:00Z"),  # the original payload: revision 3
        response(Y1.replace("0100315", "0900315"), b"gone", status="404 Not Found"),
        response(Y2, yonhap_page("AEN20160405000400315", 11), date="2016-04-06T01:00:00Z"),
    ]
    return [write_warc(tmp_path / "mixed.warc.gz", records), captured(tmp_path / "cap.warc.gz")]


def config_in(folder: Path) -> Path:
    folder.mkdir()
    return write_config(folder, "https://en.yna.co.kr")


def run_import(config: Config, paths: list[Path], jobs: int) -> Summary:
    root = config.archive.path
    with Archive(root) as archive:
        warcs = WarcStore(root)
        try:
            return Importer(config, archive, warcs, jobs=jobs).run(paths)
        finally:
            warcs.close()


def snapshot(root: Path) -> dict[str, object]:
    """Everything an import stored: article files (bytes), every index table's rows (less
    the clock's columns) and every copied WARC member (bytes; each file's warcinfo aside)."""
    files = {str(p.relative_to(root)): p.read_bytes() for p in (root / "articles").rglob("*.json")}
    members, info = {}, {}
    for path in sorted((root / "warc").glob("*/*.warc.gz")):
        data, found = path.read_bytes(), []
        while data:
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            d.decompress(data)
            found.append(data[: len(data) - len(d.unused_data)])
            data = d.unused_data
        members[path.name] = found[1:]
        info[str(path.relative_to(root))] = len(found[0])
    db = sqlite3.connect(root / "index.sqlite")
    # offsets in our WARC files count from the end of the file's warcinfo record, whose
    # length varies with its creation time
    db.create_function("rel", 2, lambda file, offset: offset - info.get(file, 0))
    tables = {}
    for (name,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'articles_fts%'"
    ):
        cols = [r[1] for r in db.execute(f"PRAGMA table_info({name})")]
        keep = [
            "rel(warc_file, warc_offset)" if c == "warc_offset" else c
            for c in cols
            if c not in CLOCK.get(name, set())
        ]
        tables[name] = sorted(
            db.execute(f"SELECT {', '.join(keep)} FROM {name}").fetchall(), key=repr
        )
    db.close()
    return {"files": files, "tables": tables, "warc": members}


def test_jobs_2_stores_exactly_what_jobs_1_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = mixed_warc(tmp_path)
    in_main: list[str] = []

    def counted(*args: Any, **kwargs: Any) -> Article:
        in_main.append(str(args[1]))
        return extract(*args, **kwargs)

    monkeypatch.setattr(ingest, "extract", counted)
    runs = {}
    for jobs in (1, 2):
        in_main.clear()
        config = load_config(config_in(tmp_path / f"j{jobs}"))
        summary = run_import(config, inputs, jobs)
        runs[jobs] = (summary, snapshot(config.archive.path), list(in_main))
        assert_consistent(config.archive.path)
    one, two = runs[1], runs[2]
    # with workers, the main process extracts only the revisit (its payload is in our store)
    assert len(one[2]) == 7
    assert two[2] == [Y1]
    assert (one[0].new, one[0].revised, one[0].unchanged, one[0].failed) == (4, 2, 0, 1)
    assert dict(one[0].skipped) == {"duplicate": 3, "status-404": 1}
    assert two[0] == one[0]
    assert one[1]["files"] and one[1]["warc"]
    assert two[1] == one[1]


def test_a_parse_error_in_a_worker_is_reported_as_in_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    warc = write_warc(
        tmp_path / "bad.warc.gz",
        [
            response(BAD, b"<html><body><p>x</p></body></html>"),
            response(Y1, yonhap_page("AEN20160301000100315")),
        ],
    )
    reports = {}
    for jobs in (1, 2):
        cfg = config_in(tmp_path / f"j{jobs}")
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="scraper.history.importer"):
            summary = run_import(load_config(cfg), [warc], jobs)
        assert (summary.new, summary.failed) == (1, 1)
        reports[jobs] = [r.getMessage() for r in caplog.records]
        with Archive(tmp_path / f"j{jobs}" / "archive") as archive:
            row = archive.url_row(BAD)
            assert row is not None and row["state"] == "failed"
    assert (
        reports[2]
        == reports[1]
        == [f"no article in {BAD}: not an article page (no headline) ({BAD})"]
    )
    # the command: the same summary line and exit status 1
    cfg = config_in(tmp_path / "cli")
    done = run_cli("--config", str(cfg), "import", "--jobs", "2", str(warc))
    assert done.returncode == 1, done.stderr
    assert "new 1, revised 0, unchanged 0, failed 1" in done.stdout


def test_jobs_must_be_positive(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "https://en.yna.co.kr")
    warc = write_warc(tmp_path / "a.warc.gz", [response(Y1, yonhap_page("AEN20160301000100315"))])
    result = run_cli("--config", str(cfg), "import", "--jobs", "0", str(warc))
    assert result.returncode == 2
    assert "must be 1 or more" in result.stderr


def test_to_dict_is_asdict_with_lists() -> None:
    """The JSON written for an article is what ``dataclasses.asdict`` gave before the faster
    ``to_dict`` (same keys, order, values and types)."""
    from scraper.models import Image

    article = Article(
        id="yonhap:AEN1", source="yonhap", url="https://en.yna.co.kr/view/AEN1", title="T",
        subtitle=None, authors=("A", "B"), published_at="2016-03-01T09:00:00+09:00",
        updated_at=None, section="nation", tags=("x",), language="en", body="b",
        editor_note=None, images=(Image("https://i/1.jpg", "c"), Image("https://i/2.jpg")),
        fetched_at="2016-03-01T00:00:00+00:00", content_hash="h", parser="yonhap/v1",
        urls=("https://m-en.yna.co.kr/view/AEN1",),
    )  # fmt: skip
    old = dataclasses.asdict(article)
    for key in ("authors", "tags", "urls"):
        old[key] = list(old[key])
    old["images"] = [dataclasses.asdict(i) for i in article.images]
    new = article.to_dict()
    assert list(new) == list(old)
    assert new == old
    assert [type(v) for v in new.values()] == [type(v) for v in old.values()]


@pytest.mark.parametrize("signal_name", ["INT", "TERM"])
def test_ctrl_c_or_sigterm_with_workers_stops_cleanly_and_resumes(
    tmp_path: Path, signal_name: str
) -> None:
    cfg = write_config(tmp_path, "https://en.yna.co.kr")
    ids = [f"AEN2016030{i}000{i}00315" for i in range(1, 7)]
    warc = write_warc(
        tmp_path / "many.warc.gz",
        [response(f"https://en.yna.co.kr/view/{n}", yonhap_page(n)) for n in ids],
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPER_")}
    env |= {"SCRAPER_CRASH_AT": "import:3", "SCRAPER_CRASH_SIGNAL": signal_name}
    stopped = subprocess.run(
        [scraper_bin(), "--config", str(cfg), "import", "--jobs", "2", str(warc)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert stopped.returncode == 130, stopped.stderr
    assert "Traceback" not in stopped.stderr and "error: interrupted" in stopped.stderr
    root = tmp_path / "archive"
    assert_consistent(root)
    done = run_cli("--config", str(cfg), "import", str(warc))
    assert done.returncode == 0, done.stderr
    assert "scanned 3 records" in done.stdout and "new 3" in done.stdout, done.stdout
    with Archive(root) as archive:
        captures = archive.db.execute("SELECT count(DISTINCT record_id), count(*) FROM captures")
        assert tuple(captures.fetchone()) == (6, 6)
    assert_consistent(root)
