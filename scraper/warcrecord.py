"""Encoding one HTTP exchange as WARC records (response or revisit, request, metadata), each a
gzip member, exactly as httpx received it; the writer that appends them is ``scraper.warc``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from scraper import __version__
from scraper.models import FetchedPage

# hop-by-hop or already-undone framing: the payload we store is de-chunked
_DROP_HEADERS = frozenset({"transfer-encoding"})
_REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    304: "Not Modified",
    404: "Not Found",
}


class _RawHeaders(StatusAndHeaders):  # type: ignore[misc]  # warcio is untyped
    """Headers written back byte for byte: warcio would %-encode any non-ASCII value, while
    our values are the received bytes decoded 1:1 as latin-1."""

    def compute_headers_buffer(self, header_filter: Any = None) -> None:
        self.headers_buff = self.to_str(header_filter).encode("latin-1") + b"\r\n"


class _Writer(WARCWriter):  # type: ignore[misc]  # warcio is untyped
    # WARC 1.1 (5.9) gives WARC-Payload-Digest a meaning only where the block has a well-defined
    # payload; a metadata record's JSON block has none, and `fastwarc check -p` rejects it
    NO_PAYLOAD_DIGEST_TYPES = ("warcinfo", "revisit", "metadata")


def _http_headers(page: FetchedPage) -> StatusAndHeaders:
    headers = []
    for key, value in page.response_headers:
        if key.lower() in _DROP_HEADERS:
            headers.append((f"X-Archive-Orig-{key}", value))
        else:
            headers.append((key, value))
    protocol = page.http_version if page.http_version.startswith("HTTP/") else "HTTP/1.1"
    # the reason phrase as received; the table only stands in for pages made without one
    reason = page.reason or _REASONS.get(page.status, "")
    return _RawHeaders(f"{page.status} {reason}".strip(), headers, protocol=protocol)


def _request_headers(page: FetchedPage) -> StatusAndHeaders:
    parts = urlsplit(page.final_url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _RawHeaders(
        f"{page.method} {target} HTTP/1.1", list(page.request_headers), is_http_request=True
    )


# warcio gzips each record at zlib level 9; level 6 makes members within 0.5 % of that size in
# two thirds of the time (a 120 KB Yonhap page: 19,012 vs 18,947 bytes, 2.4 vs 3.7 ms), and
# compression was the largest single cost of a crawl (bench/crawl.py --profile).
GZIP_LEVEL = 6


def _gzip_member(record: Any) -> bytes:
    """One record as its own gzip member, so a reader can seek to any record's offset."""
    plain = io.BytesIO()
    _Writer(plain, gzip=False, warc_version="WARC/1.1").write_record(record)
    packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return packer.compress(plain.getvalue()) + packer.flush()


def payload_digest(raw_body: bytes) -> str:
    """``WARC-Payload-Digest`` of a response body as received (the form warcio writes)."""
    return "sha1:" + base64.b32encode(hashlib.sha1(raw_body).digest()).decode("ascii")


def warc_date(fetched_at: str) -> str:
    return fetched_at.replace("+00:00", "Z")


@dataclass(frozen=True)
class Original:
    """An earlier response record with the same payload, which a revisit record refers to."""

    record_id: str
    uri: str
    date: str  # its WARC-Date


@dataclass(frozen=True)
class Encoded:
    """One exchange as WARC bytes, ready to append (encoding is pure: any thread may do it).

    ``offset``/``length`` locate the final response (or revisit) record inside ``data``: what
    the catalog points at, as a CDX line would."""

    data: bytes
    record_id: str  # of the response record
    offset: int = 0
    length: int = 0
    record_type: str = "response"  # or "revisit"
    payload_digest: str = ""
    uri: str = ""


METADATA_URN = "urn:x-scraper:article:"


def _one_exchange(
    writer: WARCWriter, page: FetchedPage, original: Original | None
) -> tuple[Any, Any]:
    """The response (or revisit) record of one HTTP exchange, and its request record."""
    date = warc_date(page.fetched_at)
    if original is None:
        response = writer.create_warc_record(
            page.final_url,
            "response",
            payload=io.BytesIO(page.raw_body),
            length=len(page.raw_body),
            http_headers=_http_headers(page),
            warc_headers_dict={"WARC-Date": date},
        )
    else:  # same payload as a stored response: headers only (WARC 1.1, 6.7.2)
        response = writer.create_revisit_record(
            page.final_url,
            payload_digest(page.raw_body),
            original.uri,
            original.date,
            http_headers=_http_headers(page),
            warc_headers_dict={"WARC-Date": date, "WARC-Refers-To": original.record_id},
        )
    request = writer.create_warc_record(
        page.final_url,
        "request",
        payload=io.BytesIO(b""),
        length=0,
        http_headers=_request_headers(page),
        warc_headers_dict={
            "WARC-Date": date,
            "WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID"),
        },
    )
    return response, request


def encode_exchange(
    page: FetchedPage,
    metadata: dict[str, Any] | None = None,
    *,
    revisit_of: Original | None = None,
) -> Encoded:
    """Every redirect hop (response + request), then the final response, or a revisit record
    when ``revisit_of`` holds the same payload, its request, and a metadata record; each
    record its own gzip member.

    The metadata record's target is ``urn:x-scraper:article:<id>``, never the page URL: replay
    tools index every record by its target URI and would serve the JSON instead of the page
    (pywb did); ``WARC-Concurrent-To`` links it to the response."""
    writer = _Writer(io.BytesIO(), gzip=False, warc_version="WARC/1.1")
    members: list[bytes] = []
    for hop in page.redirects:
        members.extend(_gzip_member(record) for record in _one_exchange(writer, hop, None))
    response, request = _one_exchange(writer, page, revisit_of)
    response_id = response.rec_headers.get_header("WARC-Record-ID")
    offset = sum(len(m) for m in members)
    response_member = _gzip_member(response)
    members += [response_member, _gzip_member(request)]
    if metadata:
        body = json.dumps(metadata, ensure_ascii=False, sort_keys=True).encode()
        ident = metadata.get("article_id") or response_id.strip("<>").rsplit(":", 1)[-1]
        meta = writer.create_warc_record(
            f"{METADATA_URN}{ident}",
            "metadata",
            payload=io.BytesIO(body),
            length=len(body),
            warc_content_type="application/json",
            warc_headers_dict={
                "WARC-Date": warc_date(page.fetched_at),
                "WARC-Concurrent-To": response_id,
            },
        )
        members.append(_gzip_member(meta))
    return Encoded(
        data=b"".join(members),
        record_id=response_id,
        offset=offset,
        length=len(response_member),
        record_type="response" if revisit_of is None else "revisit",
        payload_digest=payload_digest(page.raw_body),
        uri=page.final_url,
    )


def warcinfo(filename: str) -> bytes:
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True, warc_version="WARC/1.1")
    record = writer.create_warcinfo_record(
        filename,
        {
            "software": f"kr-news-archiver/{__version__}",
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        },
    )
    writer.write_record(record)
    return buf.getvalue()
