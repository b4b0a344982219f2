"""One crawl pass: discover article URLs per source, archive the ones not stored yet.

Per source: discovery (``scraper.discover``: feeds → sitemaps → section pages) → the frontier
(``scraper.frontier``: what is new, what an earlier run left to do) → robots.txt → one article
at a time through ``pipeline.archive_article``, all under the politeness gate
(``scraper.polite``). An article already archived is never downloaded again by a crawl, except
for the re-check of recently published ones (``scraper.revisions``: conditional GETs on a
decaying schedule) that ends each source's pass.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from scraper import frontier
from scraper.config import SourceConfig
from scraper.discover import Discovered, Discovery, discover
from scraper.errors import (
    Cancelled,
    DiskFull,
    FetchError,
    HostUnreachable,
    ParseError,
    RobotsDisallowed,
    ScraperError,
)
from scraper.pipeline import Context, archive_page
from scraper.polite import Polite
from scraper.prefetch import Fetched, Prefetcher
from scraper.revisions import recheck
from scraper.sources import Source, by_name
from scraper.urls import Target, target_for

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]  # (source, done, total)


@dataclass
class SourceSummary:
    source: str
    discovered: int = 0  # distinct article URLs listed by discovery this run
    new: int = 0
    revised: int = 0
    unchanged: int = 0  # fetched again and found identical
    failed: int = 0
    skipped_robots: int = 0
    known: int = 0  # listed again but already archived: not fetched
    given_up: int = 0  # listed again but settled as gone, rejected or abandoned: not fetched
    waiting: int = 0  # failed before and not due for another try yet (frontier.RETRY_DELAYS)
    resumed: int = 0  # left over from an earlier run and done in this one
    deferred: int = 0  # not tried: the host was backed off or the run was stopped
    not_modified: int = 0  # discovery endpoints that answered 304
    rechecked: int = 0  # stored articles due for a re-check (scraper.revisions) this run
    method: str | None = None  # the discovery tier that produced the candidates
    errors: list[str] = field(default_factory=list)
    endpoints: int = 0  # discovery endpoints tried
    endpoints_failed: int = 0  # of which failed (no answer, or an error status)
    unreachable: str | None = None  # why the host could not be reached (robots.txt unreadable)

    def problem(self) -> str | None:
        """One line on why the whole source failed this run, if it did: its host was
        unreachable, or every discovery endpoint failed."""
        if self.unreachable:
            return f"host unreachable: {self.unreachable}"
        if self.endpoints and self.endpoints_failed == self.endpoints:
            last = self.errors[-1] if self.errors else "no answer"
            return f"every discovery endpoint failed ({self.endpoints}; last: {last})"
        return None

    def line(self) -> str:
        extra = f", deferred {self.deferred}" if self.deferred else ""
        extra += f", rechecked {self.rechecked}" if self.rechecked else ""
        extra += f", retry later {self.waiting}" if self.waiting else ""
        extra += f", given up {self.given_up}" if self.given_up else ""
        return (
            f"{self.source}: discovered {self.discovered}, new {self.new}, revised {self.revised}, "
            f"unchanged {self.unchanged + self.known}, failed {self.failed}, "
            f"skipped by robots {self.skipped_robots}{extra}"
            + (f" (via {self.method})" if self.method else "")
            + (f"; {problem}" if (problem := self.problem()) else "")
        )

    @property
    def ok(self) -> bool:
        """Everything that was due is archived (robots skips are not due), and the source
        could be reached."""
        return self.failed == 0 and self.deferred == 0 and self.problem() is None


@dataclass
class CrawlSummary:
    sources: list[SourceSummary] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(s.failed for s in self.sources)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.sources)

    def line(self) -> str:
        return "; ".join(s.line() for s in self.sources) or "no sources enabled"


def _targets(source: Source, settings: SourceConfig, items: Iterable[Discovered]) -> list[Target]:
    """Canonical, de-duplicated targets in discovery order."""
    seen: set[str] = set()
    targets = []
    for item in items:
        target = target_for(source, settings, item.url)
        if target is None or target.canonical_url in seen:
            continue
        seen.add(target.canonical_url)
        targets.append(target)
    return targets


def _work_list(
    ctx: Context,
    source: Source,
    settings: SourceConfig,
    found: list[Target],
    summary: SourceSummary,
) -> list[Target]:
    """Discovered targets not settled yet, then what earlier runs left pending."""
    known = frontier.states(ctx.archive, (t.canonical_url for t in found))
    later = frontier.waiting(ctx.archive, source.name)
    todo = []
    for target in found:
        state = known.get(target.canonical_url)
        if state == "done":
            summary.known += 1
        elif state in frontier.SETTLED_STATES:
            summary.given_up += 1
        elif target.canonical_url in later:
            summary.waiting += 1
        else:
            todo.append(target)
    listed = {t.canonical_url for t in found}
    summary.waiting += len(later - listed)  # not listed again, still waiting: say so
    for url in frontier.pending(ctx.archive, source.name):
        if url not in listed and (left := target_for(source, settings, url)) is not None:
            todo.append(left)
    return todo


def _note_discovery(summary: SourceSummary, found: Discovery, unreachable: str | None) -> None:
    """How discovery went, into the summary; ``unreachable`` says why the site's host could
    not be reached (its robots.txt), if it could not."""
    summary.method = found.method
    summary.not_modified = found.not_modified
    summary.endpoints, summary.endpoints_failed = len(found.endpoints), len(found.failed)
    summary.unreachable = unreachable
    if summary.unreachable:  # one line for the source, not one per feed
        summary.errors.append(f"host unreachable: {summary.unreachable}")
    else:
        summary.errors.extend(f"{e.kind} {e.path}: {e.error}" for e in found.failed)


def crawl_source(
    ctx: Context,
    settings: SourceConfig,
    *,
    limit: int | None = None,
    progress: ProgressFn | None = None,
    stop: threading.Event | None = None,
) -> SourceSummary:
    """One pass over one source; see the module docstring."""
    source = by_name(settings.name)
    summary = SourceSummary(source=source.name)
    polite = Polite.for_source(ctx.fetcher, ctx.archive, settings, stop=stop)
    polite.warcs = ctx.warcs

    def seen(items: list[Discovered]) -> None:
        frontier.record_seen(
            ctx.archive, source.name, (t.canonical_url for t in _targets(source, settings, items))
        )

    with polite.attached():
        try:
            found = discover(ctx.fetcher, ctx.archive, source, settings, seen, ctx.warcs)
        except Cancelled:
            return summary
        _note_discovery(summary, found, polite.unreachable(settings.base_url + "/"))
        targets = _targets(source, settings, found.items)
        summary.discovered = len(targets)
        listed = {t.canonical_url for t in targets}
        todo = _work_list(ctx, source, settings, targets, summary)
        if limit is not None:
            todo = todo[:limit]
        try:
            if todo:  # read robots.txt here, on the thread that owns the index connection
                polite.allowed(todo[0].fetch_url)
        except (Cancelled, HostUnreachable) as exc:
            summary.deferred, todo = len(todo), []
            if isinstance(exc, HostUnreachable) and not summary.unreachable:
                summary.unreachable = polite.unreachable(exc.url)
                summary.errors.append(str(exc.message))
        handled = 0
        with Prefetcher(ctx.fetcher, polite, todo, stop=stop) as ahead:
            for item in ahead:
                resumed = item.target.canonical_url not in listed
                _settle(ctx, item, summary, resumed=resumed)
                handled += 1
                if progress is not None:
                    progress(source.name, handled, len(todo))
                # on a stop the prefetcher sends nothing more; what it already fetched is
                # stored rather than thrown away and downloaded again next run
        summary.deferred += len(todo) - handled
        if not (stop is not None and stop.is_set()) and not summary.unreachable:
            _recheck(ctx, settings, summary, stop)
    if summary.deferred:
        log.warning("%s: %d articles left for the next run", source.name, summary.deferred)
    return summary


def _recheck(
    ctx: Context, settings: SourceConfig, summary: SourceSummary, stop: threading.Event | None
) -> None:
    """Recently published articles due for another look (conditional GET), same politeness."""
    checked = recheck(ctx, settings, stop=stop)
    summary.rechecked = checked.due
    summary.revised += checked.revised
    summary.errors.extend(checked.errors)
    if checked.due:
        log.info("recheck %s", checked.line())


def _settle(ctx: Context, item: Fetched, summary: SourceSummary, *, resumed: bool) -> None:
    """Store a fetched page, or record why there is none."""
    target, name = item.target, item.target.source.name
    try:
        if item.page is None:
            raise item.error or FetchError("nothing fetched", url=target.fetch_url)
        result = archive_page(ctx, target, item.page, item.article, item.encoded)
    except frontier.NOT_THE_URLS_FAULT:
        summary.deferred += 1
        frontier.mark(ctx.archive, target.canonical_url, name, "new")  # not the URL's fault
        return
    except RobotsDisallowed:
        summary.skipped_robots += 1
        frontier.mark(ctx.archive, target.canonical_url, name, "robots")
        log.info("robots.txt disallows %s; skipped", target.fetch_url)
        return
    except (FetchError, ParseError) as exc:
        summary.failed += 1
        summary.errors.append(str(exc))
        state = frontier.record_failure(ctx.archive, target.canonical_url, name, exc)
        log.warning("failed %s (%s): %s", target.canonical_url, state, exc)
        return
    setattr(summary, result.status, getattr(summary, result.status) + 1)
    if resumed:
        summary.resumed += 1


def crawl(
    ctx: Context,
    names: list[str] | None = None,
    *,
    limit: int | None = None,
    progress: ProgressFn | None = None,
    stop: threading.Event | None = None,
) -> CrawlSummary:
    """One pass over the enabled sources (or the ``names`` given)."""
    summary = CrawlSummary()
    for settings in ctx.config.enabled_sources():
        if names and settings.name not in names:
            continue
        try:
            summary.sources.append(
                crawl_source(ctx, settings, limit=limit, progress=progress, stop=stop)
            )
        except DiskFull:
            raise  # every other source would fail the same way: stop with one clear line
        except ScraperError as exc:
            log.error("crawl of %s stopped: %s", settings.name, exc)
            failed = SourceSummary(source=settings.name, failed=1, errors=[str(exc)])
            summary.sources.append(failed)
    return summary
