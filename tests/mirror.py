"""A local mirror of every registered source, built from its fixture pages, with RSS feeds.

    .venv/bin/python -m tests.mirror --port 8765     # --port 0: any free port

It prints its URL (and pid); point ``sources.<name>.base_url`` at it (or set
``SCRAPER_<NAME>_BASE_URL`` for each source, e.g. ``SCRAPER_YONHAP_BASE_URL``) and run
``make run`` or ``scraper crawl``. The end-to-end tests use ``build_mirror`` the same way.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from scraper import sources
from tests.server import FIXTURES, FixtureServer

RSS = "application/rss+xml"

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


def _tracked(url: str) -> str:
    """The URL with the tracking query news feeds add (Yonhap: ``?section=news&input=rss``);
    crawling must canonicalize it away."""
    return url + ("&" if "?" in url else "?") + "section=news&input=rss"


def build_mirror(server: FixtureServer, root: Path = FIXTURES) -> dict[str, list[str]]:
    """For every registered source: serve each article page of ``root/<source name>/`` at the
    path of its canonical URL, list them all in the source's first feed (its other feeds exist
    but are empty); robots.txt allows everything. Returns the canonical URLs per source.

    A registered source without fixture pages is an error: the mirror, the end-to-end tests and
    the offline tour would silently leave it out."""
    urls: dict[str, list[str]] = {}
    for source in sources.SOURCES:
        items = []
        for page_path in sorted((root / source.name).glob("*.html")):
            page = page_path.read_bytes()
            url = source.canonical_url(_canonical(page))
            if url is None:
                continue  # not an article page of this source
            parts = urlsplit(url)
            server.add(parts.path + (f"?{parts.query}" if parts.query else ""), page)
            urls.setdefault(source.name, []).append(url)
            items.append((_tracked(url), page_path.stem))
        if not items:
            raise ValueError(f"no article pages for source {source.name} in {root / source.name}")
        for feed in source.feeds:
            server.add(feed, rss(items if feed == source.feeds[0] else []), content_type=RSS)
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
