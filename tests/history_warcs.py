"""WARC files for the history tests, written with warcio: hand-made records (chunked bodies,
gzip content-encoding, revisits, non-200, non-HTML, a truncated tail) and real captures made
with warcio's ``capture_http`` through a local proxy that answers for the real hosts."""

from __future__ import annotations

import gzip as gziplib
import io
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.capture_http import capture_http
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from tests.server import kh3_copy, yonhap_copy


def yonhap_page(native_id: str, n: int = 15) -> bytes:
    return yonhap_copy(n, native_id)


def chunked(body: bytes, size: int = 1000) -> bytes:
    out = b""
    for i in range(0, len(body), size):
        piece = body[i : i + size]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    return out + b"0\r\n\r\n"


def response(
    uri: str,
    body: bytes,
    *,
    date: str = "2016-03-01T09:00:00Z",
    status: str = "200 OK",
    content_type: str = "text/html; charset=utf-8",
    is_chunked: bool = False,
    is_gzip: bool = False,
) -> bytes:
    """One uncompressed response record (bytes), its HTTP body encoded as asked."""
    headers = [("Content-Type", content_type)]
    payload = body
    if is_gzip:
        payload = gziplib.compress(payload)
        headers.append(("Content-Encoding", "gzip"))
    if is_chunked:
        payload = chunked(payload)
        headers.append(("Transfer-Encoding", "chunked"))
    else:
        headers.append(("Content-Length", str(len(payload))))
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=False, warc_version="WARC/1.0")
    record = writer.create_warc_record(
        uri,
        "response",
        payload=io.BytesIO(payload),
        length=len(payload),
        http_headers=StatusAndHeaders(status, headers, protocol="HTTP/1.1"),
        warc_headers_dict={"WARC-Date": date},
    )
    writer.write_record(record)
    return out.getvalue()


def header(record: bytes, name: str) -> str:
    for parsed in ArchiveIterator(io.BytesIO(record)):
        return str(parsed.rec_headers.get_header(name))
    raise AssertionError("no record")


def revisit(original: bytes, *, date: str) -> bytes:
    """A revisit (identical-payload-digest) of ``original``, as Heritrix/pywb write them."""
    uri = header(original, "WARC-Target-URI")
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=False, warc_version="WARC/1.0")
    record = writer.create_revisit_record(
        uri,
        digest=header(original, "WARC-Payload-Digest"),
        refers_to_uri=uri,
        refers_to_date=header(original, "WARC-Date"),
        http_headers=StatusAndHeaders("200 OK", [("Content-Type", "text/html")], "HTTP/1.1"),
    )
    record.rec_headers.replace_header("WARC-Date", date)
    record.rec_headers.add_header("WARC-Refers-To", header(original, "WARC-Record-ID"))
    writer.write_record(record)
    return out.getvalue()


def write_warc(path: Path, records: list[bytes], *, gzip: bool = True) -> Path:
    """Records into a file: each its own gzip member (``.warc.gz``) or plain (``.warc``)."""
    with path.open("wb") as fh:
        for record in records:
            fh.write(gziplib.compress(record) if gzip else record)
    return path


PAGES = {
    "http://en.yna.co.kr/view/AEN20160301000100315": yonhap_page("AEN20160301000100315"),
    "https://en.yna.co.kr/view/AEN20160302000200315": yonhap_page("AEN20160302000200315", 11),
    "http://www.koreaherald.com/article/3100001": kh3_copy("3100001"),
    "http://en.yna.co.kr/news/index": b"<html><body>a list page</body></html>",
}


@contextmanager
def _proxy(pages: dict[str, bytes]) -> Iterator[str]:
    """An HTTP proxy on 127.0.0.1 that answers for the real hosts from ``pages``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            key = next((u for u in pages if urlsplit(u).path == parts.path), None)
            body = pages[key] if key else b"not here"
            self.send_response(200 if key else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def captured(path: Path, pages: dict[str, bytes] = PAGES) -> Path:
    """A WARC written by warcio's ``capture_http`` while fetching ``pages`` (over plain HTTP
    through the proxy, so the records carry the real URLs)."""
    with _proxy(pages) as proxy:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy}))
        with capture_http(str(path)):
            for url in pages:
                opener.open(url.replace("https://", "http://")).read()
    return path
