"""The raw captures checked with the archive world's own tools, for real and offline: pywb
replays every stored article byte for byte (and an old Korea Herald URL through its redirect),
warcio and FastWARC verify every file, cdxj-indexer agrees with our CDXJ, ``wacz validate``
accepts an exported package, datasette and sqlite-utils find the search table.

One archive is built from the mirror (tests/mirror.py) by two ``scraper fetch`` runs over the
same URLs (the second writes revisit records), and shared by the tests of this module."""

from __future__ import annotations

import base64
import gzip
import json
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from scraper.export.cdxj import surt
from tests.conftest import ROOT, run_cli, write_config
from tests.mirror import build_mirror
from tests.server import FixtureServer

BIN = Path(sys.executable).parent
OLD_KH = "/view.php?ud=20230419000999"  # an old link that now 301s to /article/10604071
OLD_KH_PUBLIC = f"https://www.koreaherald.com{OLD_KH}"


@dataclass(frozen=True)
class Built:
    root: Path
    base: str  # the mirror's URL, which the WARC records carry
    served: dict[str, bytes]  # path -> the bytes the mirror served
    bytes_after_first: int
    bytes_after_second: int
    articles: int


def _warc_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in (root / "warc").glob("*/*.warc.gz"))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    tmp = tmp_path_factory.mktemp("replay")
    server = FixtureServer()
    urls = build_mirror(server)
    server.add(OLD_KH, b"moved", status=301, headers={"Location": "/article/10604071"}, etag=False)
    server.start()
    try:
        cfg = write_config(tmp, server.url)
        every = [*urls["yonhap"], *urls["koreaherald"], OLD_KH_PUBLIC]
        first = run_cli("--config", str(cfg), "crawl")  # robots.txt, feeds, every article
        assert first.returncode == 0, first.stderr
        root = tmp / "archive"
        after_first = _warc_bytes(root)
        again = run_cli("--config", str(cfg), "crawl")  # feeds answer 304: nothing to archive
        assert again.returncode == 0, again.stderr
        assert _warc_bytes(root) == after_first
        second = run_cli("--config", str(cfg), "fetch", *every)  # the repeated fetch
        assert second.returncode == 0, second.stderr
        assert {line.split("\t")[0] for line in second.stdout.splitlines()} == {"unchanged"}
        served = {path: route.body for path, route in server.routes.items()}
    finally:
        server.stop()
    with sqlite3.connect(root / "index.sqlite") as db:
        articles = db.execute("SELECT count(*) FROM articles").fetchone()[0]
    yield Built(root, server.url, served, after_first, _warc_bytes(root), articles)


def _records(path: Path) -> list[tuple[Any, bytes]]:
    """Each record with its payload (content encoding undone)."""
    with path.open("rb") as fh:
        return [(record, record.content_stream().read()) for record in ArchiveIterator(fh)]


def _captures(root: Path) -> list[sqlite3.Row]:
    db = sqlite3.connect(root / "index.sqlite")
    db.row_factory = sqlite3.Row
    rows = db.execute(
        "SELECT c.*, a.id AS aid FROM captures c JOIN articles a ON a.id = c.article_id "
        "ORDER BY c.id"
    ).fetchall()
    db.close()
    return rows


def _path_of(url: str, base: str) -> str:
    assert url.startswith(base), url
    return url[len(base) :]


def _ts(fetched_at: str) -> str:
    return "".join(ch for ch in fetched_at if ch.isdigit())[:14]


def _replay(collections: Path, paths: list[str]) -> list[dict[str, Any]]:
    out = collections / "replies.json"
    result = subprocess.run(
        [sys.executable, "-m", "tests.pywb_replay", str(collections), str(out)],
        input=json.dumps(paths),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    replies: list[dict[str, Any]] = json.loads(out.read_text())
    assert len(replies) == len(paths)
    return replies


def test_pywb_replays_every_stored_article_byte_for_byte(built: Built, tmp_path: Path) -> None:
    init = subprocess.run(
        [BIN / "wb-manager", "init", "coll"], capture_output=True, text=True, cwd=tmp_path
    )
    assert init.returncode == 0, init.stderr
    files = sorted(str(p) for p in (built.root / "warc").glob("*/*.warc.gz"))
    add = subprocess.run(
        [BIN / "wb-manager", "add", "coll", *files], capture_output=True, text=True, cwd=tmp_path
    )
    assert add.returncode == 0, add.stderr
    # one name per file in the collection: no file was renamed for colliding with another
    assert sorted(p.name for p in (tmp_path / "collections/coll/archive").iterdir()) == sorted(
        Path(f).name for f in files
    )
    rows = _captures(built.root)
    old = f"{built.base}{OLD_KH}"
    target = f"{built.base}/article/10604071"
    paths = [f"/coll/{_ts(row['fetched_at'])}id_/{row['url']}" for row in rows]
    paths += [f"/coll/id_/{built.base}/RSS/news.xml", f"/coll/id_/{built.base}/robots.txt"]
    paths += [f"/coll/id_/{old}", f"/coll/id_/{target}"]
    replies = _replay(tmp_path, paths)

    replayed = 0
    rows = _captures(built.root)
    # every capture: the first run's responses and the second run's revisits
    for row, reply in zip(rows, replies, strict=False):
        assert reply["status"] == 200, row["url"]
        assert reply["headers"]["Content-Type"].startswith("text/html")  # not the metadata
        body = base64.b64decode(reply["body"])
        assert body == built.served[_path_of(row["url"], built.base)], row["url"]
        replayed += 1
    stored = len({row["aid"] for row in rows})
    assert stored == built.articles
    assert replayed == len(rows) >= 2 * stored

    # the discovery evidence: the feed that listed the articles, and robots.txt
    feed, robots = replies[-4:-2]
    assert base64.b64decode(feed["body"]) == built.served["/RSS/news.xml"]
    assert base64.b64decode(robots["body"]) == built.served["/robots.txt"]
    # the old Korea Herald URL replays through its archived redirect
    hop, page = replies[-2:]
    assert hop["status"] == 301
    assert hop["headers"]["Location"].endswith("/article/10604071")
    assert base64.b64decode(page["body"]) == built.served["/article/10604071"]
    print(f"pywb replayed {replayed} captures of {stored} stored articles byte for byte")


def test_every_warc_file_passes_warcio_and_fastwarc(built: Built) -> None:
    from fastwarc.warc import ArchiveIterator as FastIterator
    from fastwarc.warc import WarcRecordType

    files = sorted((built.root / "warc").glob("*/*.warc.gz"))
    response_digests: set[tuple[str, str]] = set()
    revisits: list[tuple[str, str]] = []
    for path in files:
        check = subprocess.run([BIN / "warcio", "check", str(path)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        with path.open("rb") as fh:
            for record in FastIterator(fh, parse_http=False):
                assert record.verify_block_digest(), (path, record.record_id)
                digest = record.headers.get("WARC-Payload-Digest")
                uri = record.headers.get("WARC-Target-URI")
                if record.record_type == WarcRecordType.revisit:
                    # FastWARC checks a revisit's digest against its own (empty) payload;
                    # the identical-payload-digest profile makes it the original's digest
                    revisits.append((uri, digest))
                    continue
                if record.record_type == WarcRecordType.response:
                    response_digests.add((uri, digest))
                if digest is not None:
                    record.parse_http()
                    assert record.verify_payload_digest(), (path, record.record_id)
    assert revisits and all(r in response_digests for r in revisits)
    # the CLI too, on every file without revisit records
    for path in files:
        result = subprocess.run(
            [BIN / "fastwarc", "check", "-p", "-q", str(path)], capture_output=True, text=True
        )
        has_revisit = b"WARC-Type: revisit" in gzip.decompress(path.read_bytes())
        assert (result.returncode == 0) is not has_revisit, (path, result.stdout)


def test_record_layout_metadata_links_names_and_headers(built: Built) -> None:
    for path in sorted((built.root / "warc").glob("*/*.warc.gz")):
        source = path.parent.name
        assert path.name.startswith(f"{source}-")
        records = [r for r, _ in _records(path)]
        info = records[0]
        assert info.rec_type == "warcinfo"
        assert info.rec_headers.get_header("WARC-Filename") == path.name
        ids = {r.rec_headers.get_header("WARC-Record-ID"): r for r in records}
        for record in records:
            headers = record.rec_headers
            if record.rec_type == "metadata":
                assert headers.get_header("WARC-Payload-Digest") is None
                assert headers.get_header("WARC-Target-URI").startswith("urn:x-scraper:article:")
                linked = ids[headers.get_header("WARC-Concurrent-To")]
                assert linked.rec_type in ("response", "revisit")
            if record.rec_type in ("response", "revisit"):
                names = [k for k, _ in record.http_headers.headers]
                assert "Content-Type" in names  # header names as the server sent them
                assert record.http_headers.statusline in ("200 OK", "301 Moved Permanently")
            if record.rec_type == "revisit":
                assert headers.get_header("WARC-Profile").endswith(
                    "/warc/1.1/revisit/identical-payload-digest"
                )
                assert headers.get_header("WARC-Refers-To")
                assert headers.get_header("WARC-Refers-To-Target-URI")
                assert headers.get_header("WARC-Refers-To-Date")


def test_redirect_hops_are_archived_and_metadata_names_the_stored_article(built: Built) -> None:
    pairs = [
        pair
        for path in sorted((built.root / "warc" / "koreaherald").glob("*.warc.gz"))
        for pair in _records(path)
    ]
    records = [r for r, _ in pairs]
    uris = [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI")) for r in records]
    old, new = f"{built.base}{OLD_KH}", f"{built.base}/article/10604071"
    hop = uris.index(("response", old))
    assert uris[hop + 1] == ("request", old)
    assert uris[hop + 2] == ("revisit", new) and uris[hop + 3] == ("request", new)
    meta, payload = pairs[hop + 4]
    assert meta.rec_type == "metadata"
    data = json.loads(payload)
    assert data["article_id"] == "koreaherald:10604071"  # not the id the old URL suggests
    assert data["requested_url"] == OLD_KH_PUBLIC.replace("https://www.koreaherald.com", built.base)


def test_catalog_rows_point_at_the_response_record(built: Built) -> None:
    rows = _captures(built.root)
    for row in rows:
        data = (built.root / row["warc_file"]).read_bytes()
        member = data[row["warc_offset"] : row["warc_offset"] + row["warc_length"]]
        head = gzip.decompress(member)  # exactly one whole gzip member
        assert f"WARC-Type: {row['record_type']}".encode() in head
        assert row["record_type"] in ("response", "revisit")
        assert f"WARC-Record-ID: {row['record_id']}".encode() in head
        assert f"WARC-Target-URI: {row['url']}\r\n".encode() in head
    assert {row["record_type"] for row in rows} == {"response", "revisit"}


def test_repeated_fetch_writes_revisits_not_copies(built: Built) -> None:
    per_article_first = built.bytes_after_first / built.articles
    per_article_after = built.bytes_after_second / built.articles
    print(
        f"WARC bytes per article: {per_article_first:.0f} after the first crawl, "
        f"{per_article_after:.0f} after a repeated fetch ({built.articles} articles)"
    )
    # a repeated fetch costs headers and metadata, not another copy of every page
    assert built.bytes_after_second - built.bytes_after_first < built.bytes_after_first / 5


def test_cdxj_export_agrees_with_cdxj_indexer(built: Built, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, built.base)
    cfg.write_text(cfg.read_text().replace(str(tmp_path / "archive"), str(built.root)))
    ours = run_cli("--config", str(cfg), "export", "--format", "cdxj")
    assert ours.returncode == 0, ours.stderr
    lines = ours.stdout.splitlines()
    assert lines == sorted(lines)
    files = sorted((built.root / "warc").glob("*/*.warc.gz"))
    theirs = subprocess.run(
        [BIN / "cdxj-indexer", "--dir-root", str(built.root), *map(str, files)],
        capture_output=True,
        text=True,
    )
    assert theirs.returncode == 0, theirs.stderr

    def keyed(text: str, *, pages_only: bool) -> dict[tuple[str, str, str], dict[str, str]]:
        out = {}
        for line in text.splitlines():
            key, ts, blob = line.split(" ", 2)
            fields = json.loads(blob)
            if pages_only and key.startswith("urn:"):
                continue  # our index lists pages only; cdxj-indexer also lists metadata
            out[(key, ts, fields["offset"])] = {
                k: fields.get(k) for k in ("url", "status", "digest", "length", "filename")
            }
        return out

    assert keyed(ours.stdout, pages_only=False) == keyed(theirs.stdout, pages_only=True)
    import surt as surt_package

    for line in lines:
        url = json.loads(line.split(" ", 2)[2])["url"]
        assert surt(url) == surt_package.surt(url)


def test_wacz_export_validates(built: Built, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, built.base)
    cfg.write_text(cfg.read_text().replace(str(tmp_path / "archive"), str(built.root)))
    out = tmp_path / "all.wacz"
    result = run_cli("--config", str(cfg), "export", "--format", "wacz", "-o", str(out))
    assert result.returncode == 0, result.stderr
    check = subprocess.run(
        [BIN / "wacz", "validate", "-f", str(out)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "Validation succeeded" in check.stdout
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        assert len(names) == len(set(names))  # no duplicate entries
        pages = [json.loads(x) for x in zf.read("pages/pages.jsonl").splitlines()]
        for info in zf.infolist():
            if info.filename.startswith("archive/"):
                assert info.compress_type == zipfile.ZIP_STORED
    assert pages[0]["format"] == "json-pages-1.0"
    assert len(pages) - 1 == built.articles
    assert all(p["title"] and p["ts"] and p["url"] for p in pages[1:])
    print(check.stdout.strip().splitlines()[-1])


def test_datasette_and_sqlite_utils_find_the_search_table(built: Built) -> None:
    db = built.root / "index.sqlite"
    got = subprocess.run(
        [BIN / "datasette", str(db), "--get", "/index/articles.json?_search=mpox&_shape=array"],
        capture_output=True,
        text=True,
    )
    assert got.returncode == 0, got.stderr
    ids = {row["id"] for row in json.loads(got.stdout)}
    assert ids == {"yonhap:AEN20230419005000320", "koreaherald:20230419000612"}
    found = subprocess.run(
        [BIN / "sqlite-utils", "search", str(db), "articles", "mpox", "-c", "id", "--csv"],
        capture_output=True,
        text=True,
    )
    assert found.returncode == 0, found.stderr
    assert set(found.stdout.split()[1:]) == ids
    with sqlite3.connect(db) as conn:
        keys = conn.execute("SELECT \"table\" FROM pragma_foreign_key_list('captures')")
        assert [k[0] for k in keys] == ["articles"]
