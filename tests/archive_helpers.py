"""Shared by the archive tests: store a page the way the pipeline does (WARC, extract, save),
and assert that an archive directory is consistent from the outside."""

from __future__ import annotations

import gzip
import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from scraper.extract import extract
from scraper.models import FetchedPage
from scraper.store import Archive, SaveResult
from scraper.warc import WarcStore
from tests.conftest import FIXTURES

KH1 = FIXTURES / "koreaherald" / "kh1_view_20230419000612.html"
KH2 = FIXTURES / "koreaherald" / "kh2_view_20241106050843.html"
KH3 = FIXTURES / "koreaherald" / "kh3_article_10604071.html"


def yonhap(n: int) -> Path:
    return FIXTURES / "yonhap" / f"yna_article_{n}.html"


def page(raw: bytes, url: str, fetched_at: str = "2026-01-01T00:00:00+00:00") -> FetchedPage:
    return FetchedPage(
        url=url,
        final_url=url,
        status=200,
        http_version="HTTP/1.1",
        request_headers=(("User-Agent", "test"),),
        response_headers=(("Content-Type", "text/html; charset=utf-8"), ("ETag", '"x"')),
        raw_body=raw,
        body=raw,
        encoding="utf-8",
        fetched_at=fetched_at,
    )


def store(
    archive: Archive,
    warcs: WarcStore,
    raw: bytes,
    url: str,
    fetched_at: str = "2026-01-01T00:00:00+00:00",
) -> SaveResult:
    """What ``pipeline.archive_page`` does, without the network."""
    fetched = page(raw, url, fetched_at)
    article = extract(raw, url, fetched_at=fetched_at)
    ref = warcs.append(article.source, fetched)
    return archive.save(article, ref, url=url, etag='"x"')


def build_archive(root: Path, pages: Iterable[Path]) -> Path:
    """An archive at ``root`` holding ``pages``, each stored from its own canonical URL."""
    with Archive(root) as archive:
        warcs = WarcStore(root)
        for path in pages:
            raw = path.read_bytes()
            store(archive, warcs, raw, extract(raw).url)
        warcs.close()
    return root


def assert_consistent(root: Path) -> None:
    """From outside the code under test (sqlite3, gzip and warcio only, no ``scraper`` code):
    the index is sound and lists exactly the article files on disk, ids are unique, every
    file loads with an id and a body, every capture points at a WARC record, every WARC file
    reads to the end, no run is left open and no temp file is left behind."""
    offsets = set()
    for warc in sorted((root / "warc").glob("*/*.warc.gz")):
        gzip.decompress(warc.read_bytes())  # raises on a truncated or corrupt member
        rel = str(warc.relative_to(root))
        with warc.open("rb") as fh:
            it = ArchiveIterator(fh)
            types = []
            for record in it:
                offsets.add((rel, it.get_record_offset()))
                types.append(record.rec_type)
                record.content_stream().read()
        assert types and types[0] == "warcinfo", warc
    files = sorted(p for p in (root / "articles").rglob("*") if p.is_file())
    assert all(p.suffix == ".json" for p in files), files  # no temp files left behind
    records = [json.loads(p.read_text()) for p in files]
    assert all(r["id"] and r["body"] for r in records)
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)), ids
    assert not list(root.rglob("*.tmp")), "a temp file was left behind"
    db = sqlite3.connect(root / "index.sqlite")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = dict(db.execute("SELECT id, path FROM articles").fetchall())
        assert sorted(rows.values()) == sorted(str(p.relative_to(root)) for p in files)
        assert db.execute("SELECT count(*) FROM articles_fts").fetchone()[0] == len(rows)
        captures = set(db.execute("SELECT warc_file, warc_offset FROM captures").fetchall())
        running = db.execute("SELECT count(*) FROM runs WHERE result = 'running'").fetchone()
        assert running[0] == 0
    finally:
        db.close()
    assert captures <= offsets, captures - offsets
