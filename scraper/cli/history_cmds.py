"""``scraper import``, ``scraper backfill`` and ``scraper coverage``: the archive's history."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from scraper import filters
from scraper.cli.archive_cmds import _at_least
from scraper.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    Paragraphs,
    config_from,
    sigterm_as_interrupt,
)
from scraper.errors import UsageError
from scraper.history import backfill, coverage, sitewalk
from scraper.history.importer import Importer
from scraper.history.workers import default_jobs
from scraper.sources import by_name
from scraper.sources import names as source_names
from scraper.store import Archive
from scraper.warc import WarcStore

_RAW = Paragraphs  # wraps the long one-line descriptions

IMPORT_DESCRIPTION = """\
Ingest WARC files made by other tools (.warc, .warc.gz, .wacz; files or directories, walked).
Every response record whose URL is an article URL of an enabled source (any URL form, http or
https, m. hosts) is extracted with the source's parsers (the fallback stamped as usual) and
stored as an ordinary article or revision, with the capture time (WARC-Date) as fetched_at.
The original request and response records are copied into the archive's WARC store with their
own WARC-Record-ID and WARC-Date, plus WARC-Source-URI / WARC-Source-Offset headers saying
where they came from. A payload already stored for the same URL is not copied again; revisit
records are resolved against their original; non-200 and non-HTML records and a truncated
last record are skipped and counted.

Articles are extracted in --jobs worker processes (default: one per CPU available) while this
process reads, dedupes and stores them in the files' order, so what is stored does not depend
on --jobs. Resumable and idempotent: a cursor per file lives in index.sqlite, so an
interrupted import (Ctrl-C, kill, kill -9) continues where it stopped, and importing the same
files again stores nothing twice.
Output: a progress bar on stderr (a terminal), one summary line on stdout. Exit status 0, or
1 when some article records could not be extracted (their raw records are kept)."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "import",
        help="ingest .warc/.warc.gz/.wacz files made by other tools",
        description=IMPORT_DESCRIPTION,
        epilog="examples:\n  scraper import crawls/yonhap-2016.warc.gz\n"
        "  scraper import crawls/ my-archive.wacz\n"
        "  scraper import --jobs 1 crawls/   # extract in this process only",
        formatter_class=_RAW,
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="WARC/WACZ file or directory")
    p.add_argument(
        "--jobs",
        type=_at_least(1),
        metavar="N",
        help="processes extracting articles (default: as many as CPUs available); 1 "
        "extracts in the main process",
    )
    p.set_defaults(func=cmd_import)
    backfill_register(sub)
    coverage_register(sub)


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar with ETA on stderr when it is a terminal; nothing otherwise."""
    if not sys.stderr.isatty():
        yield None
        return
    bar = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(file=sys.stderr),
    )
    task = bar.add_task(label, total=None)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    with bar:
        yield update


def cmd_import(args: argparse.Namespace) -> int:
    config = config_from(args)
    paths = [Path(p) for p in args.paths]
    for path in paths:
        if not path.exists():
            raise UsageError("no such file or directory", where=str(path))
    root = Path(config.archive.path)
    with (
        sigterm_as_interrupt(),  # stop like Ctrl-C: the worker processes are shut down too
        Archive(root) as archive,
        progress_bar("import") as progress,
    ):
        warcs = WarcStore(root, max_bytes=config.archive.warc_max_bytes)
        try:
            summary = Importer(config, archive, warcs, jobs=args.jobs or default_jobs()).run(
                paths, progress
            )
        finally:
            warcs.close()
    print(summary.line())
    sys.stdout.flush()
    return EXIT_FAILED if summary.failed else EXIT_OK


BACKFILL_DESCRIPTION = """\
Fill in the years before the archive started. --via wayback (the default) lists the source's
article captures on a Wayback-style CDX server (backfill.cdx_url: the Internet Archive, or your
own pywb) within the capture dates --since..--until (KST days), status 200 and HTML only, one
per URL and content digest, then fetches each capture's raw bytes (backfill.replay_url, the
id_ form) and stores it as `scraper import` does: capture time = fetched_at, records in the
WARC store with WARC-Source-URI pointing at the replay URL.

Politeness: one request at a time, backfill.min_delay seconds apart (1 s by default), the
archive's robots.txt obeyed, 429 and Retry-After honoured, the configured User-Agent sent.
Resumable: the listing cursor (pattern, resume key) and every capture's state live in
index.sqlite; the same command run again continues and never fetches a capture twice.
--dry-run lists (paging through the CDX server) and reports the captures and new articles it
would fetch and how long that takes at the configured rate, fetching no capture.
--via site walks the site's own paged listings back to --since, only for a source whose listings
are evidenced to page back by date (the Korea Herald's KH-1 era list.php?ct=CODE&np=N; Yonhap
has none and is refused with exit 2): every category from page 1 (newest) until a page is
older than --since, lists no articles, repeats the last page or the pager ends; then fetches
each article of the window as `scraper fetch` does (the site's robots.txt, Crawl-delay and
min_delay). Its cursor (listing, last page read, URLs found and fetched) lives in index.sqlite:
rerun, it continues and never fetches an article twice. Whether the old listings still answer
today is not known (docs/backfill.md)."""


def backfill_register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "backfill",
        help="history from a Wayback-style archive or the site's own listings; resumable",
        description=BACKFILL_DESCRIPTION,
        epilog="examples:\n"
        "  scraper backfill --source yonhap --since 2016-01-01 --until 2016-01-31 --dry-run\n"
        "  scraper backfill --source koreaherald --since 2015-01-01 --until 2015-12-31 "
        "--max-requests 500\n"
        "  scraper backfill --source koreaherald --via site --since 2019-01-01 "
        "--until 2019-01-31 --dry-run",
        formatter_class=_RAW,
    )
    p.add_argument("--source", required=True, choices=source_names())
    p.add_argument(
        "--since",
        required=True,
        metavar="DATE",
        help="first capture day (KST); publication day with --via site",
    )
    p.add_argument(
        "--until",
        required=True,
        metavar="DATE",
        help="last capture day (KST); publication day with --via site",
    )
    p.add_argument("--via", choices=("wayback", "site"), default="wayback")
    p.add_argument(
        "--dry-run", action="store_true", help="count and estimate; fetch no capture or article"
    )
    p.add_argument(
        "--max-requests",
        type=int,
        metavar="N",
        help="stop after N requests to the archive (or the site)",
    )
    p.set_defaults(func=cmd_backfill)


def cmd_backfill(args: argparse.Namespace) -> int:
    config = config_from(args)
    window = filters.Window.parse(args.since, args.until)
    if args.max_requests is not None and args.max_requests < 1:
        raise UsageError("--max-requests must be 1 or more", where=str(args.max_requests))
    settings = config.sources.get(args.source)
    if settings is None or not settings.enabled:
        raise UsageError(f"source {args.source} is not enabled in the config", where=args.source)
    run: Callable[..., backfill.Summary | sitewalk.SiteSummary] = backfill.run
    label = f"backfill {args.source}"
    if args.via == "site":
        _refuse_without_listings(args.source)
        run, label = sitewalk.run, f"backfill {args.source} via site"
    with progress_bar(label) as progress:
        summary = run(
            config,
            args.source,
            window,
            dry_run=args.dry_run,
            max_requests=args.max_requests,
            progress=progress,
        )
    print(summary.line())
    sys.stdout.flush()
    problems = isinstance(summary, sitewalk.SiteSummary) and summary.problems
    return EXIT_FAILED if summary.failed or problems else EXIT_OK


def _refuse_without_listings(name: str) -> None:
    """``--via site`` for a source with no listing evidenced to page back: refused before any
    request, naming what is and is not evidenced."""
    source = by_name(name)
    if not source.history_listings:
        raise UsageError(
            f"{source.name} has no listing evidenced to page back by date "
            f"({source.history_note}); use --via wayback",
            where="--via site",
        )


def coverage_register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "coverage",
        help="per source and month: articles, parser shares, days without articles",
        description="Where history is thin: per source and publication month (KST, as printed), "
        "the number of articles, the share extracted by each parser (the fallback included: an "
        "old layout our parsers do not know shows up there) and the days of the month with no "
        "article at all.",
        epilog="examples:\n  scraper coverage\n"
        "  scraper coverage --source yonhap --since 2016-01-01 --json",
        formatter_class=_RAW,
    )
    p.add_argument("--source", choices=source_names())
    p.add_argument("--since", metavar="DATE")
    p.add_argument("--until", metavar="DATE")
    p.add_argument("--json", action="store_true", help="one JSON document")
    p.set_defaults(func=cmd_coverage)


def cmd_coverage(args: argparse.Namespace) -> int:
    config = config_from(args)
    filters.Window.parse(args.since, args.until)
    root = Path(config.archive.path)
    if not (root / "index.sqlite").exists():
        print(f"error: no archive here ({root})", file=sys.stderr)
        return EXIT_FAILED
    with Archive(root) as archive:
        months = coverage.collect(archive, source=args.source, since=args.since, until=args.until)
    if args.json:
        sys.stdout.write(json.dumps([m.to_dict() for m in months], indent=2) + "\n")
    else:
        sys.stdout.write(coverage.render(months) + "\n")
    return EXIT_OK
