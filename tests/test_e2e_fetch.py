"""`scraper fetch` through the CLI against a real server on 127.0.0.1 serving fixture pages."""

from __future__ import annotations

import gzip
import json
import sqlite3
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from tests.conftest import FIXTURES, run_cli, write_config
from tests.server import FixtureServer, yonhap_fixture

YNA_ID = "AEN20230419000952325"  # yna_article_15, "(2nd LD)"
KH3 = (FIXTURES / "koreaherald" / "kh3_article_10604071.html").read_bytes()
KH2 = (FIXTURES / "koreaherald" / "kh2_view_20241106050843.html").read_bytes()


def _serve_articles(server: FixtureServer) -> None:
    server.add(f"/view/{YNA_ID}", yonhap_fixture(15))
    server.add("/article/10604071", KH3)
    server.add("/view.php?ud=20241106050843", KH2)


def test_fetch_archives_both_sources(server: FixtureServer, tmp_path: Path) -> None:
    _serve_articles(server)
    cfg = write_config(tmp_path, server.url)
    urls = [
        f"https://en.yna.co.kr/view/{YNA_ID}?section=nk/nk&input=rss",
        "https://www.koreaherald.com/article/10604071",
        f"{server.url}/view.php?ud=20241106050843",
    ]
    result = run_cli("--config", str(cfg), "fetch", *urls)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.split("\t")[:2] for line in lines] == [
        ["new", f"yonhap:{YNA_ID}"],
        ["new", "koreaherald:10604071"],
        ["new", "koreaherald:20241106050843"],
    ]
    archive = tmp_path / "archive"

    # the record, at its contractual path
    record_path = archive / "articles/yonhap/2023/04/19" / f"{YNA_ID}.json"
    record = json.loads(record_path.read_text())
    assert record["id"] == f"yonhap:{YNA_ID}"
    assert record["url"] == f"https://en.yna.co.kr/view/{YNA_ID}"
    assert record["title"].startswith("(2nd LD) N. Korea's Kim orders launch")
    assert record["update_tag"] == "2nd LD"
    assert record["published_at"] == "2023-04-19T11:12:32+09:00"
    assert record["parser"] == "yonhap/y1"
    assert record["revision"] == 1
    assert record["fetched_at"]
    assert "(END)" not in record["body"] and "@yna.co.kr" not in record["body"]
    assert (archive / "articles/koreaherald/2023/04/19/10604071.json").exists()
    assert (archive / "articles/koreaherald/2024/11/06/20241106050843.json").exists()

    # the WARC: request + response + metadata, readable by warcio, body byte-identical
    warcs = sorted((archive / "warc").glob("*/*.warc.gz"))
    assert {w.parent.name for w in warcs} == {"yonhap", "koreaherald"}
    responses = {}
    types = []
    for w in warcs:
        with w.open("rb") as fh:
            for rec in ArchiveIterator(fh):
                types.append(rec.rec_type)
                if rec.rec_type == "response":
                    uri = rec.rec_headers.get_header("WARC-Target-URI")
                    responses[uri] = rec.content_stream().read()
    # the three pages and robots.txt (archived as the evidence of what was allowed)
    assert types.count("response") == 4 and types.count("request") == 4
    assert types.count("metadata") == 3
    assert f"{server.url}/robots.txt" in responses
    assert types.count("warcinfo") == len(warcs)
    assert responses[f"{server.url}/view/{YNA_ID}"] == yonhap_fixture(15)
    for w in warcs:  # every record is its own gzip member and the whole file decompresses
        gzip.decompress(w.read_bytes())

    # the index
    db = sqlite3.connect(archive / "index.sqlite")
    rows = db.execute("SELECT id, revision FROM articles ORDER BY id").fetchall()
    assert rows == [
        ("koreaherald:10604071", 1),
        ("koreaherald:20241106050843", 1),
        (f"yonhap:{YNA_ID}", 1),
    ]
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()

    # fetching again creates no duplicate
    again = run_cli("--config", str(cfg), "fetch", urls[0])
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("unchanged\t")
    db = sqlite3.connect(archive / "index.sqlite")
    assert db.execute("SELECT COUNT(*) FROM articles").fetchone()[0] == 3
    assert db.execute("SELECT COUNT(*) FROM revisions").fetchone()[0] == 3
    db.close()
    assert len(list((archive / "articles").rglob("*.json"))) == 3

    # show and export read it back
    shown = run_cli("--config", str(cfg), "show", f"yonhap:{YNA_ID}")
    assert shown.returncode == 0 and json.loads(shown.stdout)["id"] == f"yonhap:{YNA_ID}"
    exported = run_cli("--config", str(cfg), "export", "--format", "jsonl")
    assert exported.returncode == 0
    ids = [json.loads(line)["id"] for line in exported.stdout.splitlines()]
    assert sorted(ids) == sorted(r[0] for r in rows)


def test_fetch_refuses_foreign_urls_before_any_request(
    server: FixtureServer, tmp_path: Path
) -> None:
    _serve_articles(server)
    cfg = write_config(tmp_path, server.url)
    for bad in (
        "file:///etc/passwd",
        "https://example.com/view/AEN20230419000952325",
        "http://169.254.169.254/view/AEN20230419000952325",
        "https://en.yna.co.kr/news",
    ):
        # a good URL first: nothing at all may be fetched when any URL is refused
        result = run_cli("--config", str(cfg), "fetch", f"https://en.yna.co.kr/view/{YNA_ID}", bad)
        assert result.returncode == 2, (bad, result.stderr)
        assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
        assert "Traceback" not in result.stderr
    assert server.hits == []


def test_fetch_reports_http_failure_and_stores_the_rest(
    server: FixtureServer, tmp_path: Path
) -> None:
    server.add("/article/10604071", KH3)
    cfg = write_config(tmp_path, server.url)
    result = run_cli(
        "--config",
        str(cfg),
        "fetch",
        "https://en.yna.co.kr/view/AEN20230419000000001",  # 404 on the mirror
        "https://www.koreaherald.com/article/10604071",
    )
    assert result.returncode == 1
    assert "HTTP 404" in result.stderr
    assert "new\tkoreaherald:10604071" in result.stdout


def test_fetch_honours_robots_txt(server: FixtureServer, tmp_path: Path) -> None:
    _serve_articles(server)
    server.add(
        "/robots.txt", f"User-agent: *\nDisallow: /view/{YNA_ID}\n", content_type="text/plain"
    )
    cfg = write_config(tmp_path, server.url)
    result = run_cli(
        "--config",
        str(cfg),
        "fetch",
        f"https://en.yna.co.kr/view/{YNA_ID}",
        "https://www.koreaherald.com/article/10604071",
    )
    assert result.returncode == 1
    assert "disallowed by robots.txt" in result.stderr
    assert "new\tkoreaherald:10604071" in result.stdout
    assert server.requests_for(f"/view/{YNA_ID}") == []
    assert len(server.requests_for("/robots.txt")) == 1  # one origin, read once


def test_fetch_reports_each_article_once(server: FixtureServer, tmp_path: Path) -> None:
    _serve_articles(server)
    cfg = write_config(tmp_path, server.url)
    result = run_cli("--config", str(cfg), "fetch", f"https://en.yna.co.kr/view/{YNA_ID}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"new\tyonhap:{YNA_ID}\t")
    assert YNA_ID not in result.stderr  # no second, INFO copy of the same result
    verbose = run_cli("--config", str(cfg), "-v", "fetch", f"https://en.yna.co.kr/view/{YNA_ID}")
    assert f"unchanged yonhap:{YNA_ID}" in verbose.stderr  # -v still logs everything
