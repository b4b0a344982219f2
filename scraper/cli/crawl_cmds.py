"""``scraper crawl``: one discovery + fetch pass, with a progress bar on a terminal."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from scraper.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    config_from,
    logs_through,
    sigterm_as_interrupt,
)
from scraper.crawl import ProgressFn, crawl
from scraper.errors import ConfigError
from scraper.pipeline import Context
from scraper.sources import names as source_names

DESCRIPTION = """\
Make one pass over the enabled sources: discover article URLs, fetch only what is new, archive it.

Discovery reads every RSS feed of a source (the all-news feed and the per-section ones) with a
conditional GET; only if all of them fail or list nothing does it fall back to the news sitemap,
then to the section pages. URLs are canonicalized (tracking query strings dropped), so an article
has one identity. Articles already archived, gone (404/410) or rejected (positively not an
article: not HTML) are not requested again; articles that failed (timeouts, 5xx, an empty page,
a redirect loop ...), or that an interrupted run left over, are tried again.

At the end of each source's pass, recently published articles that are due are checked again
for revisions, as `scraper recheck` does (conditional GET: an unchanged page costs one 304; a
changed title or body becomes a new revision).

Politeness: robots.txt is obeyed (Disallow; Crawl-delay when larger than min_delay), one request
is in flight per host, min_delay seconds apart; timeouts, dropped connections, truncated bodies,
429 and 5xx are retried with exponential backoff and jitter (Retry-After honoured), and a host
that keeps failing is left alone for the rest of the run.

Output: one summary line per source on stdout (discovered / new / revised / unchanged / failed /
skipped by robots, rechecked, and the discovery method used); on a terminal, a progress bar at
the bottom of stderr with the log lines scrolling above it; otherwise log lines only.
Exit status 0 when everything due was archived, 1 when some articles failed or were left for
the next run (the rest are stored), or when a source failed as a whole (its host unreachable,
or every feed, sitemap and section page failed): then one "error: SOURCE: why" line per such
source on stderr.

Failed articles are tried again in later runs, each time after a longer wait, and abandoned after
about two days; `scraper failures` lists them, `scraper retry` puts one back."""

EPILOG = """\
examples:
  scraper crawl
  scraper crawl --source koreaherald --limit 10
  scraper --log-format json crawl --source yonhap 2> crawl.log"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "crawl",
        help="one discovery + fetch pass over the enabled sources",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--source",
        action="append",
        choices=source_names(),
        help="only this source (repeatable)",
    )
    p.add_argument("--limit", type=int, metavar="N", help="at most N articles fetched per source")
    p.set_defaults(func=cmd_crawl)


@contextmanager
def _progress_bar() -> Iterator[ProgressFn | None]:
    """A rich progress bar on stderr when it is a terminal; nothing otherwise (logs suffice)."""
    if not sys.stderr.isatty():
        yield None
        return
    console = Console(file=sys.stderr)  # stdout carries the summary lines
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=False,
    )
    tasks: dict[str, TaskID] = {}

    def update(source: str, done: int, total: int) -> None:
        if source not in tasks:
            tasks[source] = bar.add_task(source, total=total)
        bar.update(tasks[source], completed=done, total=total)

    with logs_through(console), bar:  # log lines print above the bar, never into it
        yield update


def cmd_crawl(args: argparse.Namespace) -> int:
    config = config_from(args)
    if args.limit is not None and args.limit < 0:
        raise ConfigError("--limit must be 0 or more")
    for name in args.source or ():
        if name not in config.sources or not config.sources[name].enabled:
            raise ConfigError(f"source {name} is not enabled in the config")
    with sigterm_as_interrupt(), Context.open(config) as ctx, _progress_bar() as progress:
        summary = crawl(ctx, args.source, limit=args.limit, progress=progress)
    for s in summary.sources:
        print(s.line())
    sys.stdout.flush()
    for s in summary.sources:  # a source that failed as a whole: one line saying why
        if (problem := s.problem()) is not None:
            print(f"error: {s.source}: {problem}", file=sys.stderr)
    return EXIT_OK if summary.ok else EXIT_FAILED
