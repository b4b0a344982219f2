"""A local mirror of both sites built from the fixture pages, with their RSS feeds.

    .venv/bin/python -m tests.mirror --port 8765     # --port 0: any free port

It prints its URL (and pid); point ``sources.<name>.base_url`` at it (or set
``SCRAPER_YONHAP_BASE_URL`` / ``SCRAPER_KOREAHERALD_BASE_URL``) and run ``make run`` or
``scraper crawl``. The end-to-end tests use ``build_mirror`` the same way.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import sys
import threading
from xml.sax.saxutils import escape

from scraper.sources import SOURCES
from tests.server import FIXTURES, FixtureServer

_CANONICAL = re.compile(rb'<link[^>]+rel="canonical"[^>]+href="([^"]+)"')


def _canonical(page: bytes) -> str:
    m = _CANONICAL.search(page)
    if m is None:
        raise ValueError("fixture without a canonical link")
    return m.group(1).decode()


def rss(items: list[tuple[str, str]]) -> str:
    """An RSS 2.0 feed of (url, title) items, with the tracking query Yonhap's feeds carry."""
    body = "".join(
        f"<item><title><![CDATA[{title}]]></title><link>{escape(url)}</link></item>"
        for url, title in items
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>{body}</channel></rss>'
    )


def build_mirror(server: FixtureServer) -> dict[str, list[str]]:
    """Serve every fixture page at its own path, and each source's main feed; returns the
    canonical article URLs per source."""
    urls: dict[str, list[str]] = {"yonhap": [], "koreaherald": []}
    yonhap_items = []
    for page_path in sorted((FIXTURES / "yonhap").glob("yna_article_*.html")):
        page = page_path.read_bytes()
        url = _canonical(page)
        path = url.split("en.yna.co.kr", 1)[1]
        server.add(path, page)
        urls["yonhap"].append(url)
        yonhap_items.append((f"https://en.yna.co.kr{path}?section=news&input=rss", page_path.stem))
    kh_items = []
    for page_path in sorted((FIXTURES / "koreaherald").glob("kh*.html")):
        page = page_path.read_bytes()
        url = _canonical(page).replace("http://", "https://")
        path = url.split("koreaherald.com", 1)[1]
        server.add(path, page)
        urls["koreaherald"].append(url)
        kh_items.append((url, page_path.stem))
    # the main feeds list every page; the sources' other (section) feeds exist but are empty
    for source in SOURCES:
        for feed in source.feeds:
            server.add(feed, rss([]), content_type="application/rss+xml")
    server.add("/RSS/news.xml", rss(yonhap_items), content_type="application/rss+xml")
    server.add("/rss/newsAll", rss(kh_items), content_type="application/rss+xml")
    server.add("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
    return urls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.mirror",
        description="Serve the fixture pages and feeds of both sources as a local mirror on "
        "127.0.0.1, until Ctrl-C or SIGTERM.",
    )
    parser.add_argument(
        "--port", type=int, default=8765, help="TCP port (default 8765; 0 picks a free one)"
    )
    args = parser.parse_args(argv)
    try:
        server = FixtureServer(port=args.port)
    except OSError as exc:  # a busy port is a user's problem, not a traceback
        print(f"error: cannot listen on 127.0.0.1:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    build_mirror(server)
    server.start()
    print(
        f"mirror of {len(server.routes)} paths at {server.url} "
        f"(pid {os.getpid()}; Ctrl-C or `kill {os.getpid()}` stops it)",
        flush=True,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is the documented way to stop
        stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
