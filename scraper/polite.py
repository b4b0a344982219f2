"""Politeness: what a site operator expects of a well-behaved crawler, as a ``fetch.Gate``.

Before every exchange (each redirect hop and each retry) ``Polite.before``:
  1. checks robots.txt for the URL's origin (``scheme://host[:port]``) with protego, matching
     ``http.user_agent``. robots.txt is cached in memory for the run and in the ``robots`` table
     of ``index.sqlite``; it is read again (conditionally) once it is a day old. RFC 9309: a 4xx
     answer means "allow everything"; a 5xx or no answer at all means "disallow everything" for
     this run (not stored, so the next run asks again). That case is an outage, not a rule:
     it raises ``HostUnreachable`` with the reason (the OS's words for DNS failure or a refused
     connection, or the HTTP status), logged once per origin per run; only robots.txt that was
     read and disallows the URL gives ``RobotsDisallowed``;
  2. refuses a host that failed ``HOST_FAILURE_LIMIT`` exchanges in a row (timeouts, 429, 5xx):
     it is backed off for the rest of the run instead of hammered;
  3. takes the host's slot (one request in flight per host, process-wide) and waits until
     ``max(min_delay, Crawl-delay)`` seconds have passed since the last exchange with that host
     ended, and until any ``Retry-After`` the host gave has passed.
``after`` records the outcome and frees the slot. Waits use an injected ``sleep`` (the service
passes one that a shutdown interrupts) and end with ``Cancelled`` when ``stop`` is set.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from protego import Protego

from scraper.config import SourceConfig
from scraper.errors import (
    Cancelled,
    FetchError,
    HostBackedOff,
    HostUnreachable,
    HttpStatusError,
    RobotsDisallowed,
)
from scraper.evidence import capture_endpoint
from scraper.fetch import Fetcher, SleepFn
from scraper.store import Archive
from scraper.warc import WarcStore

log = logging.getLogger(__name__)

ROBOTS_TTL = 24 * 3600.0  # seconds before robots.txt is read again
ROBOTS_MAX_CHARS = 512 * 1024  # RFC 9309 asks parsers to read at least 500 KiB
HOST_FAILURE_LIMIT = 8  # consecutive failed exchanges before a host is left alone this run
_ROBOTS_OK = frozenset(range(200, 300)) | frozenset(range(400, 500)) | {304}


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{(parts.netloc or '').lower()}"


@dataclass(frozen=True)
class RobotsRules:
    """One origin's robots.txt as read: ``rules`` is ``None`` for "allow all" (4xx) and
    ``disallow_all`` is set when the file could not be read (5xx, network error)."""

    origin: str
    status: int
    rules: Protego | None
    fetched_at: float  # epoch seconds
    disallow_all: bool = False
    unreachable: str | None = None  # why robots.txt could not be read (with disallow_all)

    def allows(self, url: str, user_agent: str) -> bool:
        if self.disallow_all:
            return False
        if self.rules is None:
            return True
        return bool(self.rules.can_fetch(url, user_agent))

    def crawl_delay(self, user_agent: str) -> float:
        if self.rules is None:
            return 0.0
        delay = self.rules.crawl_delay(user_agent)
        return float(delay) if delay else 0.0


@dataclass
class _HostSlot:
    """Pacing state of one origin, shared by every crawl in the process."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    last_end: float = float("-inf")  # monotonic time the last exchange ended
    not_before: float = float("-inf")  # monotonic time a Retry-After expires


class HostSlots:
    """The process-wide table of host slots (the service crawls sources in parallel threads,
    possibly on one mirror host: they must share one slot)."""

    def __init__(self) -> None:
        self._slots: dict[str, _HostSlot] = {}
        self._guard = threading.Lock()

    def get(self, origin: str) -> _HostSlot:
        with self._guard:
            return self._slots.setdefault(origin, _HostSlot())


SHARED_SLOTS = HostSlots()


class Polite:
    """The politeness gate for one crawl run of one source (see the module docstring)."""

    def __init__(
        self,
        fetcher: Fetcher,
        archive: Archive,
        *,
        min_delay: float,
        source: str | None = None,
        sleep: SleepFn | None = None,
        stop: threading.Event | None = None,
        slots: HostSlots = SHARED_SLOTS,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.fetcher = fetcher
        self.archive = archive
        self.min_delay = min_delay
        self.source = source
        self.user_agent = fetcher.config.user_agent
        self.respect_robots = fetcher.config.respect_robots
        self.sleep = sleep or fetcher.sleep
        self.stop = stop
        self.slots = slots
        self.clock = clock
        self.wall = wall
        self._owner = threading.get_ident()  # the thread that may use the archive's connection
        self._robots: dict[str, RobotsRules] = {}
        self._robots_lock = threading.Lock()
        self._loading = threading.local()
        self._failures: dict[str, int] = {}
        self._backed_off: set[str] = set()
        self._state_lock = threading.Lock()
        # set by the crawl and ``scraper fetch``: robots.txt answers are archived (evidence.py)
        self.warcs: WarcStore | None = None

    @classmethod
    def for_source(
        cls,
        fetcher: Fetcher,
        archive: Archive,
        settings: SourceConfig,
        *,
        stop: threading.Event | None = None,
    ) -> Polite:
        """The gate for one source's requests, paced by its ``min_delay``."""
        return cls(fetcher, archive, min_delay=settings.min_delay, source=settings.name, stop=stop)

    @contextmanager
    def attached(self) -> Iterator[Polite]:
        """Install this gate on the fetcher for the duration of a ``with`` block."""
        previous = self.fetcher.gate
        self.fetcher.gate = self
        try:
            yield self
        finally:
            self.fetcher.gate = previous

    # -- robots.txt -----------------------------------------------------------------------------
    def allowed(self, url: str) -> bool:
        """Whether robots.txt lets us fetch ``url`` (reads robots.txt first if needed)."""
        if not self.respect_robots or self._reading_robots() or urlsplit(url).path == "/robots.txt":
            return True
        rules = self.robots(origin_of(url))
        if rules.unreachable is not None:
            raise HostUnreachable(
                f"host unreachable: {rules.unreachable}", url=url, source=self.source
            )
        return rules.allows(url, self.user_agent)

    def unreachable(self, url: str) -> str | None:
        """Why the host of ``url`` could not be reached this run (robots.txt unreadable), if
        it was tried and could not be."""
        with self._robots_lock:
            rules = self._robots.get(origin_of(url))
        return rules.unreachable if rules is not None else None

    def _reading_robots(self) -> bool:
        """Whether this thread is inside ``_load_robots``: the hops of a redirected robots.txt
        (pywb answers ``/robots.txt`` with a 307 to ``/robots.txt/``) are not checked against
        the robots.txt being read, which would wait for itself."""
        return bool(getattr(self._loading, "active", False))

    def robots(self, origin: str) -> RobotsRules:
        with self._robots_lock:  # one reader at a time; the others wait for its answer
            cached = self._robots.get(origin)
            if cached is not None and self.wall() - cached.fetched_at < ROBOTS_TTL:
                return cached
            self._loading.active = True
            try:
                rules = self._load_robots(origin)
            finally:
                self._loading.active = False
            self._robots[origin] = rules
            return rules

    def _load_robots(self, origin: str) -> RobotsRules:
        # SQLite connections belong to their thread: elsewhere (the prefetch thread meeting a new
        # host after a redirect) robots.txt is read from the network and kept in memory only
        on_owner = threading.get_ident() == self._owner
        row = (
            self.archive.db.execute("SELECT * FROM robots WHERE origin = ?", (origin,)).fetchone()
            if on_owner
            else None
        )
        stored_at = datetime.fromisoformat(row["fetched_at"]).timestamp() if row else None
        if row is not None and stored_at is not None and self.wall() - stored_at < ROBOTS_TTL:
            return _rules(origin, row["status"], row["body"], stored_at)
        headers = {}
        if row is not None and row["status"] == 200:
            if row["etag"]:
                headers["If-None-Match"] = row["etag"]
            if row["last_modified"]:
                headers["If-Modified-Since"] = row["last_modified"]
        url = origin + "/robots.txt"
        host = (urlsplit(origin).hostname or "").lower()
        try:
            page = self.fetcher.get(
                url,
                allowed_hosts={host},
                source=self.source,
                headers=headers,
                ok_statuses=_ROBOTS_OK,
            )
        except Cancelled:
            raise
        except FetchError as exc:
            # RFC 9309 §2.3.1.4: an unreachable robots.txt means "disallow everything"; logged
            # here once per origin and run (the result is cached for the run)
            status = exc.status if isinstance(exc, HttpStatusError) else 0
            reason = f"robots.txt answered HTTP {status}" if status else exc.message
            log.warning("%s unreachable (%s): not crawling it this run", origin, reason)
            return RobotsRules(
                origin, status, None, self.wall(), disallow_all=True, unreachable=reason
            )
        if on_owner and self.warcs is not None and self.source:
            capture_endpoint(self.archive, self.warcs, self.source, page)
        if page.status == 304 and row is not None:
            status, body = row["status"], row["body"]
            etag, modified = row["etag"], row["last_modified"]
        else:
            status, body = page.status, page.text[:ROBOTS_MAX_CHARS] if page.status < 300 else ""
            etag, modified = page.header("etag"), page.header("last-modified")
        if on_owner:
            self.archive.db.execute(  # one statement: autocommit is atomic
                "INSERT OR REPLACE INTO robots VALUES (?, ?, ?, ?, ?, ?)",
                (origin, status, body, etag, modified, _iso(self.wall())),
            )
        log.info("robots.txt of %s: HTTP %d, %d bytes", origin, page.status, len(body))
        return _rules(origin, status, body, self.wall())

    # -- the gate -------------------------------------------------------------------------------
    def backed_off(self, url: str) -> bool:
        with self._state_lock:
            return origin_of(url) in self._backed_off

    def before(self, url: str, source: str | None) -> None:
        origin = origin_of(url)
        if not self.allowed(url):
            raise RobotsDisallowed("disallowed by robots.txt", url=url, source=source)
        if self.backed_off(url):
            raise HostBackedOff(
                f"{origin} failed {HOST_FAILURE_LIMIT} times in a row; left alone this run",
                url=url,
                source=source,
            )
        delay = self.min_delay
        if (
            self.respect_robots
            and not self._reading_robots()
            and urlsplit(url).path != "/robots.txt"
        ):
            delay = max(delay, self.robots(origin).crawl_delay(self.user_agent))
        slot = self.slots.get(origin)
        slot.lock.acquire()
        try:
            while True:
                self._check_stop(url, source)
                wait = max(slot.last_end + delay, slot.not_before) - self.clock()
                if wait <= 0:
                    break
                self.sleep(wait)
        except BaseException:
            slot.lock.release()
            raise

    def _check_stop(self, url: str, source: str | None) -> None:
        if self.stop is not None and self.stop.is_set():
            raise Cancelled("stopping", url=url, source=source)

    def after(
        self, url: str, status: int | None, *, failed: bool, retry_after: float | None
    ) -> None:
        origin = origin_of(url)
        slot = self.slots.get(origin)
        now = self.clock()
        slot.last_end = now
        if retry_after:
            slot.not_before = now + retry_after
        with self._state_lock:
            if not failed:
                self._failures[origin] = 0
            else:
                count = self._failures.get(origin, 0) + 1
                self._failures[origin] = count
                if count >= HOST_FAILURE_LIMIT and origin not in self._backed_off:
                    self._backed_off.add(origin)
                    log.warning(
                        "%s failed %d exchanges in a row (last: %s); backing off for this run",
                        origin,
                        count,
                        status if status is not None else "no response",
                    )
        slot.lock.release()


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def _rules(origin: str, status: int, body: str, fetched_at: float) -> RobotsRules:
    if 200 <= status < 300:
        return RobotsRules(origin, status, Protego.parse(body), fetched_at)
    return RobotsRules(origin, status, None, fetched_at)  # 4xx: no rules, allow all
