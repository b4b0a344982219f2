"""A real HTTP server on 127.0.0.1 for end-to-end tests: fixture pages, feeds, robots.txt,
ETags / Last-Modified (answered with 304), and faults injected per path (status codes,
Retry-After, truncation, stalls).

Headers and body go out in one write with TCP_NODELAY, so loopback requests are fast.
The helpers at the end build feeds, sitemaps and list pages, and copies of a fixture article
under another id (the id rewritten in the canonical link and og:url too, so each copy extracts
to its own article).
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

from scraper.httpreply import write_response

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class Fault:
    """What to do instead of the normal answer, for the next ``times`` requests of a path."""

    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"fault"
    truncate: bool = False  # promise more bytes than sent, then close
    stall: float = 0.0  # seconds to wait before answering
    times: int = 1


@dataclass
class Route:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    etag: bool = True  # send an ETag and answer If-None-Match with 304
    headers: dict[str, str] = field(default_factory=dict)
    last_modified: str | None = None  # sent, and If-Modified-Since equal to it gets a 304


@dataclass(frozen=True)
class Hit:
    path: str
    headers: dict[str, str]
    status: int
    at: float


class FixtureServer:
    def __init__(self, port: int = 0) -> None:
        self.routes: dict[str, Route] = {}
        self.faults: dict[str, list[Fault]] = {}
        self.hits: list[Hit] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FixtureServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- configuration --------------------------------------------------------------------------
    def add(self, path: str, body: bytes | str, **kwargs: object) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = Route(body=data, **kwargs)  # type: ignore[arg-type]

    def fault(self, path: str, fault: Fault) -> None:
        self.faults.setdefault(path, []).append(fault)

    def requests_for(self, path: str) -> list[Hit]:
        with self.lock:
            return [h for h in self.hits if h.path == path]

    def paths(self) -> list[str]:
        """Every path requested so far, in order."""
        with self.lock:
            return [h.path for h in self.hits]

    # -- answering ------------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path
        req_headers = {k.lower(): v for k, v in h.headers.items()}
        with self.lock:
            queue = self.faults.get(path)
            fault = None
            if queue:
                fault = queue[0]
                fault.times -= 1
                if fault.times <= 0:
                    queue.pop(0)
        if fault is not None:
            self._record(path, req_headers, fault.status)
            if fault.stall:
                time.sleep(fault.stall)
            if fault.truncate:
                write_response(
                    h, fault.status, fault.headers, fault.body, length=len(fault.body) * 4
                )
                h.close_connection = True
                return
            write_response(h, fault.status, fault.headers, fault.body)
            return
        route = self.routes.get(path)
        if route is None:
            self._record(path, req_headers, 404)
            write_response(h, 404, {"Content-Type": "text/plain"}, b"not found")
            return
        headers = {"Content-Type": route.content_type, **route.headers}
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
            if req_headers.get("if-modified-since") == route.last_modified and (
                not route.etag or "if-none-match" not in req_headers
            ):
                self._record(path, req_headers, 304)
                write_response(h, 304, {"Last-Modified": route.last_modified}, b"")
                return
        if route.etag:
            tag = '"' + hashlib.sha1(route.body).hexdigest()[:16] + '"'
            headers["ETag"] = tag
            if req_headers.get("if-none-match") == tag:
                self._record(path, req_headers, 304)
                write_response(h, 304, {"ETag": tag}, b"")
                return
        self._record(path, req_headers, route.status)
        write_response(h, route.status, headers, route.body)

    def _record(self, path: str, headers: dict[str, str], status: int) -> None:
        with self.lock:
            self.hits.append(Hit(path, headers, status, time.monotonic()))


def yonhap_fixture(n: int) -> bytes:
    return (FIXTURES / "yonhap" / f"yna_article_{n}.html").read_bytes()


def serve(server: FixtureServer) -> Iterator[FixtureServer]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


YONHAP_FIXTURE_IDS = {15: "AEN20230419000952325"}
KH3_FIXTURE_ID = "10604071"


def yonhap_copy(n: int, native_id: str) -> bytes:
    """Fixture ``yna_article_<n>`` as if published under ``native_id`` (``AEN…``)."""
    html = yonhap_fixture(n)
    original = _yonhap_id(html)
    return html.replace(original.encode(), native_id.encode())


def _yonhap_id(html: bytes) -> str:
    marker = b'og:url" content="https://en.yna.co.kr/view/'
    start = html.index(marker) + len(marker)
    return html[start : html.index(b'"', start)].decode()


def kh3_copy(article_no: str) -> bytes:
    """The KH-3 fixture page as if it were ``/article/<article_no>``."""
    html = (FIXTURES / "koreaherald" / f"kh3_article_{KH3_FIXTURE_ID}.html").read_bytes()
    return html.replace(KH3_FIXTURE_ID.encode(), article_no.encode())


def rss(links: list[str], title: str = "feed") -> bytes:
    """An RSS 2.0 feed listing ``links`` (newest first, as the sites do)."""
    items = "".join(
        f"<item><title>item {i}</title><link>{escape(link)}</link>"
        f"<pubDate>Wed, 19 Apr 2023 11:{i % 60:02d}:00 +0900</pubDate></item>"
        for i, link in enumerate(links)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title>{items}</channel></rss>"
    ).encode()


def sitemap(locs: list[str], *, index: bool = False) -> bytes:
    """A sitemap (or, with ``index``, a sitemap index) of ``locs``."""
    outer, inner = ("sitemapindex", "sitemap") if index else ("urlset", "url")
    entries = "".join(f"<{inner}><loc>{escape(loc)}</loc></{inner}>" for loc in locs)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<{outer} xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</{outer}>'
    ).encode()


def list_page(hrefs: list[str], *, korea_herald: bool = False) -> bytes:
    """A section page: Korea Herald KH-3 markup or Yonhap's /news list."""
    if korea_herald:
        items = "".join(f'<li><a href="{escape(h)}">story</a></li>' for h in hrefs)
        body = f'<article class="recent_news"><ul class="news_list">{items}</ul></article>'
    else:
        items = "".join(
            f'<li><div class="tit"><a href="{escape(h)}">story</a></div></li>' for h in hrefs
        )
        body = f'<div class="smain-list-type01"><ul>{items}</ul></div>'
    return (
        f"<!doctype html><html><body><nav><a href='/'>home</a></nav>{body}</body></html>".encode()
    )
