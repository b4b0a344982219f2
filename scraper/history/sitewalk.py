"""``scraper backfill --via site``: walk a source's own paged listings back to ``--since``.

Only listings a source declares in ``Source.history_listings`` are walked (for the Korea
Herald the KH-1 era ``list.php?ct=<code>&np=<page>``); a source with none is refused by the
CLI with its ``history_note``. Two phases, both resumable from ``index.sqlite``:

  1. walk: for each listing and category code, pages 1, 2, … (newest first). A page's article
     links (``link_selector``, article URLs of the source, canonicalized as a crawl does) whose
     publication day (from the link, ``ud=YYYYMMDD…``) is inside the window go into
     ``site_walk_urls``; the cursor in ``site_walks`` (last page read, the oldest id seen) is
     saved with them in one transaction. The walk of a code ends, and is marked done, at
     the first of: a page whose newest article is before ``--since``; a page with no article
     links; two pages in a row whose oldest article is the oldest seen (the site repeats its
     last page); a pager (``HistoryListing.pager``) not linking to the next page; a 404/410.
  2. fetch: every URL found and not fetched yet, oldest day first, exactly as ``scraper fetch``
     does (``pipeline.archive_article``: WARC, extraction, store). A URL the archive already
     holds (``urls.state = 'done'``, set in the article's own transaction) is not fetched, so
     an article stored just before a kill -9 is not downloaded again.

Every request (list pages, articles, robots.txt) goes through ``polite.Polite`` for the source's
``base_url`` origin: robots.txt, Crawl-delay, the source's ``min_delay``, one request in flight.
List pages are archived in the WARC as discovery evidence is (``evidence.capture_endpoint``).
"""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from selectolax.lexbor import LexborHTMLParser, LexborNode

from scraper import crashpoints, frontier
from scraper.config import Config, SourceConfig
from scraper.dates import KST
from scraper.dom import parse_html
from scraper.errors import (
    FetchError,
    HttpStatusError,
    ParseError,
    RobotsDisallowed,
    StoreError,
    UsageError,
)
from scraper.evidence import capture_endpoint
from scraper.fetch import Fetcher
from scraper.filters import Window
from scraper.history.backfill import _duration
from scraper.pipeline import Context, archive_article
from scraper.polite import Polite, origin_of
from scraper.sources import HistoryListing, Source, by_name
from scraper.urls import absolutize, allowed_hosts, target_for

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int], None]

# pages in a row that reach no further back before a walk gives up: a resumed walk catches up
# over pages that filled with newer articles meanwhile (at ~20 links a page, days of news)
MAX_PAGES_BEHIND = 200


@dataclass
class SiteSummary:
    source: str
    dry_run: bool = False
    requests: int = 0
    pages: int = 0  # list pages read in this run
    walks: int = 0  # listings x codes
    walked: int = 0  # of which walked to their end (this run or before)
    found: int = 0  # article URLs in the window, all states
    todo: int = 0  # of which still to fetch (before this run's fetches)
    known: int = 0  # of which already in the archive (crawled or fetched before): not fetched
    fetched: int = 0
    new: int = 0
    revised: int = 0
    unchanged: int = 0
    failed: int = 0
    skipped_robots: int = 0
    eta_seconds: float = 0.0
    stopped: str | None = None
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        walks = f"{self.walked} of {self.walks} listings walked to the end"
        if self.dry_run:
            line = (
                f"{self.source}: dry run via site: {self.pages} listing pages read ({walks}), "
                f"{self.found} articles in the window, {self.todo} to fetch, "
                f"{self.known} already archived, about {_duration(self.eta_seconds)} at the "
                f"configured rate; {self.requests} requests made"
            )
        else:
            line = (
                f"{self.source}: backfill via site: {self.pages} listing pages read ({walks}), "
                f"{self.found} articles in the window, fetched {self.fetched}, new {self.new}, "
                f"revised {self.revised}, unchanged {self.unchanged}, failed {self.failed}, "
                f"skipped by robots {self.skipped_robots}, already archived {self.known}; "
                f"{self.requests} requests"
            )
        if self.stopped:
            line += f" (stopped: {self.stopped})"
        if self.problems:
            line += "; problems: " + "; ".join(self.problems)
        return line


class _Budget(Exception):
    """--max-requests reached (a control-flow signal inside ``run``)."""


@dataclass(frozen=True)
class _Link:
    url: str  # canonical
    native_id: str
    day: str  # YYYYMMDD


def window_days(window: Window) -> tuple[str, str]:
    """The window as first and last publication day (KST, ``YYYYMMDD``, both inclusive)."""
    if window.since is None or window.until is None:
        raise UsageError("--since and --until are required", where="--via site")
    last = window.until - timedelta(seconds=1)
    return window.since.astimezone(KST).strftime("%Y%m%d"), last.astimezone(KST).strftime("%Y%m%d")


def _page_param(template: str) -> str:
    """The query parameter that carries the page number (``np`` in ``…&np={page}``)."""
    m = re.search(r"[?&]([^=&?]+)=\{page\}", template)
    return m.group(1) if m else "page"


class SiteWalk:
    def __init__(
        self,
        ctx: Context,
        settings: SourceConfig,
        window: Window,
        *,
        max_requests: int | None = None,
        dry_run: bool = False,
    ) -> None:
        self.ctx = ctx
        self.settings = settings
        self.source: Source = by_name(settings.name)
        self.since, self.until = window_days(window)
        self.max_requests = max_requests
        self.summary = SiteSummary(source=self.source.name, dry_run=dry_run)
        self.hosts = allowed_hosts(self.source, settings)
        self.gate = Polite.for_source(ctx.fetcher, ctx.archive, settings)
        self.gate.warcs = ctx.warcs  # robots.txt is archived too, as in a crawl

    def _spend(self) -> None:
        if self.max_requests is not None and self.summary.requests >= self.max_requests:
            raise _Budget
        self.summary.requests += 1

    # -- phase 1 --------------------------------------------------------------------------------
    def walk_all(self) -> None:
        for listing in self.source.history_listings:
            for code in listing.codes:
                self.summary.walks += 1
                if self._walk(listing, listing.url.replace("{code}", code)):
                    self.summary.walked += 1

    def _cursor(self, key: str) -> sqlite3.Row:
        db = self.ctx.archive.db
        args = (self.source.name, self.since, self.until, key)
        db.execute(
            "INSERT OR IGNORE INTO site_walks (source, since, until, listing) VALUES (?, ?, ?, ?)",
            args,
        )
        row: sqlite3.Row = db.execute(
            "SELECT last_page, oldest, done FROM site_walks WHERE source = ? AND since = ? "
            "AND until = ? AND listing = ?",
            args,
        ).fetchone()
        return row

    def _walk(self, listing: HistoryListing, key: str) -> bool:
        """Walk one listing (its code filled in) from its cursor; True once it is done."""
        cursor = self._cursor(key)
        if cursor["done"]:
            return True
        page, oldest = cursor["last_page"] + 1, cursor["oldest"]
        behind = repeats = 0  # pages in a row reaching no further back; of which exactly as far
        param = _page_param(listing.url)
        while True:
            url = self.settings.base_url.rstrip("/") + key.replace("{page}", str(page))
            self._spend()
            try:
                fetched = self.ctx.fetcher.get(
                    url,
                    allowed_hosts=self.hosts,
                    source=self.source.name,
                    ok_statuses=frozenset({200}),
                )
            except HttpStatusError as exc:
                if exc.status not in (404, 410):
                    return self._trouble(url, exc)
                if page == 1:  # gone, or never here: said again by every run
                    self.summary.problems.append(f"{url} answered {exc.status}")
                    return False
                self._end(key, f"{exc.status} on page {page}")
                return True
            except RobotsDisallowed:
                self.summary.problems.append(f"robots.txt disallows {url}")
                self.summary.requests -= 1  # refused before any request was made
                return False  # robots.txt may change: the next run asks again
            except frontier.NOT_THE_URLS_FAULT:
                raise  # the host, not the page: stop the run
            except FetchError as exc:
                return self._trouble(url, exc)
            self.summary.pages += 1
            capture_endpoint(self.ctx.archive, self.ctx.warcs, self.source.name, fetched)
            tree = parse_html(fetched.text)
            links = self._links(listing, tree.css(listing.link_selector), fetched.final_url)
            end: str | None = None
            if not links and page == 1:  # not a list page (any more?): said again by every run
                self.summary.problems.append(f"{url} lists no article links")
                return False
            if not links:
                end = f"no article links on page {page}"
            else:
                low = min(link.native_id for link in links)
                if max(link.day for link in links) < self.since:
                    end = f"page {page} is before --since"
                elif oldest is not None and low >= oldest:
                    # the site repeating its last page for a number past the end (twice in a
                    # row: once is also what a listing shifted by exactly a page shows), or
                    # newer articles having pushed the ones read into later pages (catch up)
                    behind += 1
                    repeats = repeats + 1 if low == oldest else 0
                    if repeats >= 2:
                        end = f"pages {page - 1} and {page} repeat the last one"
                    elif behind >= MAX_PAGES_BEHIND:
                        end = f"{behind} pages in a row reach no further back"
                else:
                    behind = repeats = 0
                oldest = low if oldest is None else min(oldest, low)
                if (
                    end is None
                    and listing.pager
                    and not _links_to(tree, listing.pager, param, page)
                ):
                    end = f"the pager ends at page {page}"
            self._save(key, page, oldest, links, end)
            crashpoints.crash_if("sitewalk-page")
            if end is not None:
                log.info("walk of %s ended: %s", key, end)
                return True
            page += 1

    def _links(self, listing: HistoryListing, anchors: list[LexborNode], base: str) -> list[_Link]:
        found: dict[str, _Link] = {}
        for a in anchors:
            href = (a.attributes.get("href") or "").strip()
            day = listing.day.search(href)
            target = target_for(self.source, self.settings, absolutize(base, href))
            if target is None or day is None or target.canonical_url in found:
                continue
            found[target.canonical_url] = _Link(
                target.canonical_url, target.native_id, day.group("day")
            )
        return list(found.values())

    def _trouble(self, url: str, exc: FetchError) -> bool:
        """A list page that could not be read: the walk stops here for this run."""
        self.summary.problems.append(f"{url}: {exc.message}")
        log.warning("list page %s failed: %s", url, exc)
        return False

    def _end(self, key: str, why: str) -> None:
        self.ctx.archive.db.execute(
            "UPDATE site_walks SET done = ? WHERE source = ? AND since = ? AND until = ? "
            "AND listing = ?",
            (why, self.source.name, self.since, self.until, key),
        )

    def _save(
        self, key: str, page: int, oldest: str | None, links: list[_Link], end: str | None
    ) -> None:
        db = self.ctx.archive.db
        rows = [
            (self.source.name, link.url, link.day, key, page)
            for link in links
            if self.since <= link.day <= self.until
        ]
        try:
            db.execute("BEGIN IMMEDIATE")
            db.executemany(
                "INSERT OR IGNORE INTO site_walk_urls (source, url, day, listing, page) "
                "VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            db.execute(
                "UPDATE site_walks SET last_page = ?, oldest = ?, done = ? WHERE source = ? "
                "AND since = ? AND until = ? AND listing = ?",
                (page, oldest, end, self.source.name, self.since, self.until, key),
            )
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            db.execute("ROLLBACK")
            raise StoreError(f"cannot save the site walk: {exc}") from exc

    # -- phase 2 --------------------------------------------------------------------------------
    def count(self) -> list[str]:
        """Count what is in the window; return the URLs still to fetch, oldest day first."""
        db = self.ctx.archive.db
        args = (self.source.name, self.since, self.until)
        self.summary.found = db.execute(
            "SELECT count(*) FROM site_walk_urls WHERE source = ? AND day >= ? AND day <= ?",
            args,
        ).fetchone()[0]
        rows = db.execute(
            "SELECT url FROM site_walk_urls WHERE source = ? AND day >= ? AND day <= ? "
            "AND state IN ('todo', 'failed', 'robots') ORDER BY day, url",
            args,
        ).fetchall()
        urls = [r["url"] for r in rows]
        archived = {u for u, s in frontier.states(self.ctx.archive, urls).items() if s == "done"}
        self.summary.known = len(archived)
        todo = [u for u in urls if u not in archived]
        self.summary.todo = len(todo)
        self.summary.eta_seconds = len(todo) * self._delay()
        return todo

    def _delay(self) -> float:
        """Seconds per request at the configured rate (robots.txt Crawl-delay if larger)."""
        origin = origin_of(self.settings.base_url)
        crawl_delay = 0.0
        if self.gate.unreachable(self.settings.base_url + "/") is None:
            try:
                rules = self.gate.robots(origin)
                crawl_delay = rules.crawl_delay(self.gate.user_agent)
            except FetchError:
                pass  # no robots.txt to read now: the configured delay alone
        return max(self.settings.min_delay, crawl_delay)

    def fetch_all(self, todo: list[str], progress: ProgressFn | None = None) -> None:
        for i, url in enumerate(todo):
            self._fetch(url)
            if progress:
                progress(i + 1, len(todo))

    def _mark(self, url: str, state: str, error: str | None = None) -> None:
        self.ctx.archive.db.execute(
            "UPDATE site_walk_urls SET state = ?, error = ? WHERE source = ? AND url = ?",
            (state, error, self.source.name, url),
        )

    def _fetch(self, url: str) -> None:
        target = target_for(self.source, self.settings, url)
        if target is None:  # cannot happen: only article URLs are saved
            self._mark(url, "rejected", "not an article URL")
            return
        if frontier.states(self.ctx.archive, [url]).get(url) == "done":
            self._mark(url, "done")  # stored just before a kill -9: not again
            self.summary.known += 1
            return
        self._spend()
        try:
            result = archive_article(self.ctx, target)
        except RobotsDisallowed:
            self.summary.requests -= 1  # refused before any request was made
            self.summary.skipped_robots += 1
            frontier.mark(self.ctx.archive, url, self.source.name, "robots")
            self._mark(url, "robots")  # checked again by the next run (robots.txt is cached)
            log.info("robots.txt disallows %s; skipped", target.fetch_url)
            return
        except frontier.NOT_THE_URLS_FAULT:
            raise
        except (FetchError, ParseError) as exc:
            self.summary.failed += 1
            self._mark(url, frontier.failure_state(exc), str(exc))
            log.warning("article %s failed: %s", url, exc)
            return
        crashpoints.crash_if("sitewalk")
        self._mark(url, "done")
        self.summary.fetched += 1
        setattr(self.summary, result.status, getattr(self.summary, result.status) + 1)


def _links_to(tree: LexborHTMLParser, selector: str, param: str, page: int) -> bool:
    """Whether a pager is absent, or links to the page after ``page``."""
    nodes = tree.css(selector)
    if not nodes:
        return True  # no pager on this page: nothing to say
    wanted = re.compile(rf"[?&]{re.escape(param)}={page + 1}(?:&|$)")
    return any(wanted.search(n.attributes.get("href") or "") for n in nodes)


def run(
    config: Config,
    source: str,
    window: Window,
    *,
    dry_run: bool = False,
    max_requests: int | None = None,
    progress: ProgressFn | None = None,
    fetcher: Fetcher | None = None,
) -> SiteSummary:
    """One ``scraper backfill --via site`` run."""
    settings = config.sources[source]
    started = time.monotonic()
    with Context.open(config, fetcher) as ctx:
        walk = SiteWalk(ctx, settings, window, max_requests=max_requests, dry_run=dry_run)
        listed = False
        with walk.gate.attached():
            try:
                walk.walk_all()
                todo, listed = walk.count(), True
                if not dry_run:
                    walk.fetch_all(todo, progress)
            except (_Budget, *frontier.NOT_THE_URLS_FAULT) as exc:
                why = f"--max-requests {max_requests} reached" if isinstance(exc, _Budget) else ""
                walk.summary.stopped = why or str(exc)
                if not listed:  # what the walk found so far
                    walk.count()
    log.info("site walk of %s took %.1f s", source, time.monotonic() - started)
    return walk.summary
