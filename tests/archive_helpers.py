"""Shared by the archive tests: store a page the way the pipeline does (WARC, extract, save),
and assert that an archive directory is consistent from the outside."""

from __future__ import annotations

import gzip
import json
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


def assert_consistent(root: Path) -> None:
    """From outside the code under test: WARCs read to the end, files load, ids are unique,
    and the index lists exactly the files on disk."""
    for warc in (root / "warc").glob("*/*.warc.gz"):
        gzip.decompress(warc.read_bytes())  # raises on a truncated or corrupt member
        with warc.open("rb") as fh:
            records = list(ArchiveIterator(fh))
        assert records and records[0].rec_type == "warcinfo", warc
    files = sorted(p for p in (root / "articles").rglob("*") if p.is_file())
    assert all(p.suffix == ".json" for p in files), files  # no temp files left behind
    ids = [json.loads(p.read_text())["id"] for p in files]
    assert len(ids) == len(set(ids)), ids
    with Archive(root) as archive:
        rows = {r["id"]: r["path"] for r in archive.db.execute("SELECT id, path FROM articles")}
        assert sorted(rows.values()) == sorted(str(p.relative_to(root)) for p in files)
        assert archive.db.execute("SELECT count(*) FROM articles_fts").fetchone()[0] == len(rows)
