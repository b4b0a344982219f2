"""The WARC records of one exchange, from ``httpx.MockTransport`` answers: every redirect hop,
the status line and header names as received, revisits, metadata, catalog offsets."""

from __future__ import annotations

import gzip
import io
import os
import sqlite3
from pathlib import Path

import httpx
import pytest
from warcio.archiveiterator import ArchiveIterator

from scraper.check import check
from scraper.config import HttpConfig
from scraper.fetch import Fetcher
from scraper.revisit import fix_legacy_captures
from scraper.store import Archive
from scraper.warc import WarcStore
from scraper.warcrecord import METADATA_URN, Original, encode_exchange
from tests.archive_helpers import page, store, yonhap

YNA = "https://en.yna.co.kr/view/"


def _fetch(answers: dict[str, httpx.Response]) -> Fetcher:
    def handler(request: httpx.Request) -> httpx.Response:
        return answers[str(request.url)]

    return Fetcher(HttpConfig(max_retries=0), transport=httpx.MockTransport(handler))


def _records(data: bytes) -> list[tuple[str, str, bytes]]:
    out = []
    for record in ArchiveIterator(io.BytesIO(data)):
        head = record.http_headers.to_str() if record.http_headers else ""
        out.append((record.rec_type, record.rec_headers.get_header("WARC-Target-URI"), head))
    return [(t, u, h.encode()) for t, u, h in out]


def test_every_redirect_hop_is_its_own_exchange() -> None:
    old = "https://www.koreaherald.com/view.php?ud=20230419000999"
    new = "https://www.koreaherald.com/article/10604071"
    fetcher = _fetch(
        {
            old: httpx.Response(301, headers={"Location": "/article/10604071"}, content=b"moved"),
            new: httpx.Response(200, content=b"<html>page</html>"),
        }
    )
    got = fetcher.get(old, allowed_hosts={"www.koreaherald.com"})
    assert [hop.final_url for hop in got.redirects] == [old]
    encoded = encode_exchange(got, {"article_id": "koreaherald:10604071"})
    kinds = [(t, u) for t, u, _ in _records(encoded.data)]
    assert kinds == [
        ("response", old),
        ("request", old),
        ("response", new),
        ("request", new),
        ("metadata", f"{METADATA_URN}koreaherald:10604071"),
    ]
    # the offset/length locate the final response's own gzip member
    member = encoded.data[encoded.offset : encoded.offset + encoded.length]
    assert b"WARC-Type: response" in gzip.decompress(member)
    assert new.encode() in gzip.decompress(member)


def test_status_line_and_header_names_as_received() -> None:
    url = YNA + "AEN1"
    answer = httpx.Response(
        203,
        headers=[(b"X-Odd-Case", b"v1"), (b"x-lower", b"caf\xe9")],
        content=b"<html/>",
        extensions={"reason_phrase": b"Fine By Us"},
    )
    got = _fetch({url: answer}).get(url, allowed_hosts={"en.yna.co.kr"}, ok_statuses={203})
    assert got.reason == "Fine By Us"
    data = gzip.decompress(encode_exchange(got).data)
    assert b"HTTP/1.1 203 Fine By Us\r\n" in data
    assert b"\r\nX-Odd-Case: v1\r\n" in data
    assert b"\r\nx-lower: caf\xe9\r\n" in data  # the received byte, not %-encoded


def test_metadata_has_no_payload_digest_and_revisit_refers_to_the_original() -> None:
    first = page(yonhap(11).read_bytes(), YNA + "AEN1")
    encoded = encode_exchange(first, {"article_id": "yonhap:AEN1"})
    records = list(ArchiveIterator(io.BytesIO(encoded.data)))
    meta = records[-1]
    assert meta.rec_type == "metadata"
    assert meta.rec_headers.get_header("WARC-Payload-Digest") is None
    assert meta.rec_headers.get_header("WARC-Concurrent-To") == encoded.record_id
    original = Original(encoded.record_id, first.final_url, "2026-01-01T00:00:00Z")
    again = encode_exchange(first, {"article_id": "yonhap:AEN1"}, revisit_of=original)
    revisit = next(ArchiveIterator(io.BytesIO(again.data)))
    assert revisit.rec_type == "revisit" and again.record_type == "revisit"
    assert revisit.rec_headers.get_header("WARC-Refers-To") == encoded.record_id
    assert revisit.rec_headers.get_header("WARC-Payload-Digest") == encoded.payload_digest
    assert len(again.data) < len(encoded.data)


def test_file_names_carry_the_source(tmp_path: Path) -> None:
    warcs = WarcStore(tmp_path)
    a = warcs.append("yonhap", page(b"<html/>", YNA + "AEN1"))
    b = warcs.append("koreaherald", page(b"<html/>", "https://www.koreaherald.com/article/1"))
    warcs.close()
    assert Path(a.file).name.startswith("yonhap-") and Path(b.file).name.startswith("koreaherald-")
    assert Path(a.file).name != Path(b.file).name


def test_legacy_capture_rows_get_the_response_length(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    with Archive(root) as archive:
        warcs = WarcStore(root)
        result = store(archive, warcs, yonhap(11).read_bytes(), YNA + "AEN20230419003800320")
        warcs.close()
        row = archive.db.execute("SELECT * FROM captures").fetchone()
        right = row["warc_length"]
        # as rows were before migration 5: no record type, the length of the whole exchange
        archive.db.execute(
            "UPDATE captures SET record_type = NULL, warc_length = warc_length + 999"
        )
        assert fix_legacy_captures(archive.db, root) == 1
        fixed = archive.db.execute("SELECT * FROM captures").fetchone()
        assert (fixed["warc_length"], fixed["record_type"]) == (right, "response")
        # an archive from before migration 5: check names the rows, --repair converts them
        archive.db.execute(
            "UPDATE captures SET record_type = NULL, warc_length = warc_length + 999"
        )
        report = check(archive)
        assert [p.text for p in report.problems] == [
            "captures: 1 rows from before migration 5 span the whole exchange"
        ]
        check(archive, repair=True)
        assert check(archive).ok
        fixed = archive.db.execute("SELECT * FROM captures").fetchone()
        assert (fixed["warc_length"], fixed["record_type"]) == (right, "response")
    assert result.status == "new"
    assert isinstance(archive.db, sqlite3.Connection)


def test_copied_records_are_cataloged_as_written_and_synced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # scraper import / backfill copy other tools' records: the refs name each record's own
    # type, URI and payload digest, and the bytes are on disk before the index points at them
    from tests.history_warcs import response, revisit

    original = response("https://en.yna.co.kr/view/AEN20160301000100315", b"<html>x</html>")
    records = [original, revisit(original, date="2016-03-02T09:00:00Z")]
    synced: list[int] = []
    real = os.fdatasync
    monkeypatch.setattr(os, "fdatasync", lambda fd: (synced.append(os.fstat(fd).st_size), real(fd)))
    store = WarcStore(tmp_path)
    refs = store.append_records("yonhap", records)
    store.close()
    assert [r.record_type for r in refs] == ["response", "revisit"]
    assert {r.uri for r in refs} == {"https://en.yna.co.kr/view/AEN20160301000100315"}
    assert refs[0].payload_digest and refs[0].payload_digest == refs[1].payload_digest
    assert synced and synced[-1] >= refs[1].offset + refs[1].length
    data = (tmp_path / refs[1].file).read_bytes()
    for ref, raw in zip(refs, records, strict=True):
        assert gzip.decompress(data[ref.offset : ref.offset + ref.length]) == raw
