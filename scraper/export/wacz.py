"""A WACZ 1.1.1 package of the stored articles (https://specs.webrecorder.net/wacz/1.1.1/):

    archive/<file>.warc.gz     the WARC files holding the selected articles' captures
                               (zip method "store", as the spec asks), unchanged
    indexes/index.cdxj         CDXJ of their response and revisit records (scraper.export.cdxj)
    pages/pages.jsonl          one page per article: its latest capture's URL, time and title
    datapackage.json           every file with its sha256 and size
    datapackage-digest.json    the sha256 of datapackage.json

Whole WARC files go in (the records of other articles in them too): a file is the unit of
evidence, and a revisit record needs the earlier response it refers to, which is included.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scraper import __version__
from scraper.export.cdxj import write_index

WACZ_VERSION = "1.1.1"


@dataclass(frozen=True)
class WaczSummary:
    pages: int
    warc_files: int
    bytes: int


def _selection(
    db: sqlite3.Connection, source: str | None, since: str | None, until: str | None
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    where, args = "1=1", []
    for clause, value in (
        ("a.source = ?", source),
        ("a.published_at >= ?", since),
        ("a.published_at < ?", until),
    ):
        if value:
            where += f" AND {clause}"
            args.append(value)
    pages = []
    files: dict[str, str] = {}
    rows = db.execute(
        "SELECT a.id, a.source, a.title, c.url, c.fetched_at, c.warc_file, c.record_type, "
        "c.payload_digest FROM articles a JOIN captures c ON c.article_id = a.id "
        f"WHERE {where} ORDER BY a.published_at, a.id, c.id",
        args,
    ).fetchall()
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        files[row["warc_file"]] = row["source"]
        latest[row["id"]] = {
            "id": row["id"],
            "url": row["url"],
            "ts": row["fetched_at"].replace("+00:00", "Z"),
            "title": row["title"],
        }
        if row["record_type"] == "revisit":  # the response it refers to must come along
            original = db.execute(
                "SELECT warc_file FROM captures WHERE url = ? AND payload_digest = ? "
                "AND record_type = 'response' ORDER BY id DESC LIMIT 1",
                (row["url"], row["payload_digest"]),
            ).fetchone()
            if original is not None:
                files[original["warc_file"]] = row["source"]
    pages = list(latest.values())
    return pages, sorted(files.items())


def _entry_name(rel: str, source: str) -> str:
    """The name inside ``archive/``: files from before source-prefixed names get the prefix,
    so two sources' ``2026-11-29-00001.warc.gz`` cannot collide."""
    name = Path(rel).name
    return name if name.startswith(f"{source}-") else f"{source}-{name}"


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return "sha256:" + digest.hexdigest(), size


def write_wacz(
    root: Path,
    db: sqlite3.Connection,
    out: Path,
    *,
    source: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> WaczSummary:
    pages, files = _selection(db, source, since, until)
    entries = [(root / rel, _entry_name(rel, src)) for rel, src in files]
    resources: list[dict[str, Any]] = []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for path, name in entries:
            zf.write(path, f"archive/{name}", compress_type=zipfile.ZIP_STORED)
            digest, size = _file_sha256(path)
            resources.append(
                {"name": name.lower(), "path": f"archive/{name}", "hash": digest, "bytes": size}
            )
        small = {
            "indexes/index.cdxj": "".join(
                line + "\n" for line in write_index((p, n) for p, n in entries)
            ).encode(),
            "pages/pages.jsonl": _pages_jsonl(pages),
        }
        for path_in_zip, data in small.items():
            zf.writestr(path_in_zip, data, compress_type=zipfile.ZIP_DEFLATED)
            resources.append(
                {
                    "name": Path(path_in_zip).name,
                    "path": path_in_zip,
                    "hash": _sha256(data),
                    "bytes": len(data),
                }
            )
        package = {
            "profile": "data-package",
            "resources": resources,
            "title": "kr-news-archiver export",
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "wacz_version": WACZ_VERSION,
            "software": f"kr-news-archiver/{__version__}",
        }
        package_bytes = json.dumps(package, indent=2).encode()
        zf.writestr("datapackage.json", package_bytes)
        package_digest = {"path": "datapackage.json", "hash": _sha256(package_bytes)}
        zf.writestr("datapackage-digest.json", json.dumps(package_digest, indent=2))
    return WaczSummary(pages=len(pages), warc_files=len(entries), bytes=out.stat().st_size)


def _pages_jsonl(pages: Iterable[dict[str, Any]]) -> bytes:
    header = {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}
    lines = [json.dumps(header)] + [json.dumps(p, ensure_ascii=False) for p in pages]
    return ("\n".join(lines) + "\n").encode()


def cdxj_of_archive(root: Path) -> list[str]:
    """The sorted CDXJ index of every WARC file of an archive, file names relative to root."""
    files = sorted((root / "warc").glob("*/*.warc.gz"))
    return write_index((p, str(p.relative_to(root))) for p in files)
