"""One crawl pass: discover article URLs per source, archive the ones not stored yet."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from scraper.config import SourceConfig
from scraper.discover import Discovered, parse_feed, parse_list_page
from scraper.errors import FetchError, ParseError, ScraperError
from scraper.pipeline import Context, archive_article
from scraper.sources import Source, by_name
from scraper.urls import Target, allowed_hosts, on_base

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]  # (source, done, total)


@dataclass
class SourceSummary:
    source: str
    discovered: int = 0
    new: int = 0
    revised: int = 0
    unchanged: int = 0
    failed: int = 0
    skipped_robots: int = 0
    known: int = 0
    method: str | None = None  # the discovery method that produced the candidates
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"{self.source}: discovered {self.discovered}, new {self.new}, revised {self.revised}, "
            f"unchanged {self.unchanged + self.known}, failed {self.failed}, "
            f"skipped by robots {self.skipped_robots}"
            + (f" (via {self.method})" if self.method else "")
        )


@dataclass
class CrawlSummary:
    sources: list[SourceSummary] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(s.failed for s in self.sources)

    def line(self) -> str:
        return "; ".join(s.line() for s in self.sources) or "no sources enabled"


def _endpoints(source: Source) -> list[tuple[str, str]]:
    return (
        [("feed", p) for p in source.feeds]
        + [("sitemap", p) for p in source.sitemaps]
        + [("section", p) for p in source.section_pages]
    )


def discover(
    ctx: Context, source: Source, settings: SourceConfig, summary: SourceSummary
) -> list[Discovered]:
    """Walk the discovery chain (feeds → sitemaps → section pages) until one yields links."""
    hosts = allowed_hosts(source, settings)
    for kind, path in _endpoints(source):
        url = settings.base_url + path
        row = ctx.archive.url_row(url)
        headers = {}
        if row is not None and row["etag"]:
            headers["If-None-Match"] = row["etag"]
        if row is not None and row["last_modified"]:
            headers["If-Modified-Since"] = row["last_modified"]
        try:
            page = ctx.fetcher.get(url, allowed_hosts=hosts, source=source.name, headers=headers)
        except FetchError as exc:
            log.warning("%s %s failed: %s; trying the next discovery method", kind, url, exc)
            summary.errors.append(f"{kind} {path}: {exc}")
            continue
        if page.status == 304:
            ctx.archive.mark_url(url, source.name, kind=kind, state="done", http_status=304)
            summary.method = f"{kind} {path} (not modified)"
            return []
        if kind == "section":
            items = parse_list_page(page.text, page.final_url, source.list_link_selectors)
        else:
            items = parse_feed(page.body, page.final_url)
        ctx.archive.mark_url(
            url,
            source.name,
            kind=kind,
            state="done",
            http_status=page.status,
            etag=page.header("etag"),
            last_modified=page.header("last-modified"),
        )
        items = [i for i in items if source.match(i.url)]
        if items:
            summary.method = f"{kind} {path}"
            return items
        log.warning("%s %s listed no articles; trying the next discovery method", kind, url)
    return []


def _targets(source: Source, settings: SourceConfig, items: Iterable[Discovered]) -> list[Target]:
    seen: set[str] = set()
    targets = []
    for item in items:
        found = source.match(item.url)
        if found is None:
            continue
        canonical = found[0].canonical.format(id=found[1])
        if canonical in seen:
            continue
        seen.add(canonical)
        targets.append(
            Target(
                source=source,
                settings=settings,
                fetch_url=on_base(settings, canonical),
                canonical_url=canonical,
                native_id=found[1],
            )
        )
    return targets


def crawl_source(
    ctx: Context,
    settings: SourceConfig,
    *,
    limit: int | None = None,
    progress: ProgressFn | None = None,
    stop: threading.Event | None = None,
) -> SourceSummary:
    source = by_name(settings.name)
    summary = SourceSummary(source=source.name)
    targets = _targets(source, settings, discover(ctx, source, settings, summary))
    summary.discovered = len(targets)
    todo = []
    for target in targets:
        row = ctx.archive.url_row(target.canonical_url)
        if row is not None and row["state"] in ("done", "gone"):
            summary.known += 1
        else:
            todo.append(target)
    if limit is not None:
        todo = todo[:limit]
    for i, target in enumerate(todo, 1):
        if stop is not None and stop.is_set():
            break
        try:
            result = archive_article(ctx, target)
        except (FetchError, ParseError) as exc:
            summary.failed += 1
            summary.errors.append(str(exc))
            log.warning("failed %s: %s", target.canonical_url, exc)
        else:
            setattr(summary, result.status, getattr(summary, result.status) + 1)
        if progress is not None:
            progress(source.name, i, len(todo))
    return summary


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
        except ScraperError as exc:
            log.error("crawl of %s stopped: %s", settings.name, exc)
            failed = SourceSummary(source=settings.name, failed=1, errors=[str(exc)])
            summary.sources.append(failed)
    return summary
