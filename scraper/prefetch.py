"""Fetch ahead: one thread downloads and extracts the next articles while the caller stores the
current one, so the network, the CPU work and the disk waits (fsync) overlap (bench/crawl.py
measures the gain).

Only the network and the pure extraction move to the thread. It never touches the archive (an
SQLite connection belongs to the thread that opened it): failures come back as values and the
caller records them. Politeness is unchanged: every request still passes the gate, so there is
still one request in flight per host, paced as before. At most ``PREFETCH_DEPTH`` pages wait
in memory.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from scraper.errors import FetchError, RobotsDisallowed, ScraperError
from scraper.fetch import Fetcher
from scraper.models import Article, FetchedPage
from scraper.pipeline import encode_capture, extract_page
from scraper.polite import Polite
from scraper.urls import Target, allowed_hosts
from scraper.warcrecord import Encoded

log = logging.getLogger(__name__)

PREFETCH_DEPTH = 4  # pages fetched ahead of the one being stored


@dataclass(frozen=True)
class Fetched:
    """One target's download: the page, or the error that stopped it."""

    target: Target
    page: FetchedPage | None = None
    error: ScraperError | None = None
    article: Article | None = None  # extracted here too; None if that failed (redone later)
    encoded: Encoded | None = None  # its WARC records, encoded here too


_END = object()


class Prefetcher:
    """Iterate to get ``Fetched`` items in target order; use as a context manager."""

    def __init__(
        self,
        fetcher: Fetcher,
        polite: Polite,
        targets: Sequence[Target],
        *,
        stop: threading.Event | None = None,
        depth: int = PREFETCH_DEPTH,
    ) -> None:
        self.fetcher = fetcher
        self.polite = polite
        self.targets = targets
        self.stop = stop
        self.halt = threading.Event()
        self.queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self.thread = threading.Thread(target=self._run, name="prefetch", daemon=True)

    def __enter__(self) -> Prefetcher:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.halt.set()
        while self.thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                self.queue.get(timeout=0.05)
            except queue.Empty:
                continue
        self.thread.join()

    def __iter__(self) -> Iterator[Fetched]:
        while True:
            item = self.queue.get()
            if not isinstance(item, Fetched):  # the end marker
                return
            yield item

    def _stopping(self, target: Target) -> bool:
        return (
            self.halt.is_set()
            or (self.stop is not None and self.stop.is_set())
            or self.polite.backed_off(target.fetch_url)
        )

    def _run(self) -> None:
        try:
            for target in self.targets:
                if self._stopping(target):
                    break
                if not self._put(self._fetch(target)):
                    return
        finally:
            self._put(_END)

    def _fetch(self, target: Target) -> Fetched:
        try:
            if not self.polite.allowed(target.fetch_url):
                error = RobotsDisallowed(
                    "disallowed by robots.txt", url=target.fetch_url, source=target.source.name
                )
                return Fetched(target, error=error)
            page = self.fetcher.get(
                target.fetch_url,
                allowed_hosts=allowed_hosts(target.source, target.settings),
                source=target.source.name,
                ok_statuses=frozenset({200}),
            )
        except ScraperError as exc:
            return Fetched(target, error=exc)
        except Exception as exc:  # a bug must not hang the crawl: hand it over as a failure
            log.exception("prefetch of %s failed unexpectedly", target.fetch_url)
            internal = FetchError(f"internal error: {exc!r}", url=target.fetch_url)
            return Fetched(target, error=internal)
        try:
            article: Article | None = extract_page(target, page)
        except Exception:  # the main thread extracts again: a ParseError is recorded there,
            article = None  # and anything else surfaces there rather than in this thread
        try:
            encoded: Encoded | None = encode_capture(target, page, article)
        except Exception:  # likewise: the main thread encodes again and reports it
            encoded = None
        return Fetched(target, page=page, article=article, encoded=encoded)

    def _put(self, item: object) -> bool:
        while True:
            try:
                self.queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                if self.halt.is_set():
                    return False
