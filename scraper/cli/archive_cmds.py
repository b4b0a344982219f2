"""Reading and maintaining the archive: ``show``, ``search``, ``export``, ``stats``,
``reparse``, ``check`` and ``recheck``."""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from scraper import check, filters, lineage, reparse, revisions, search, stats
from scraper.cli.common import EXIT_FAILED, EXIT_OK, Paragraphs, config_from
from scraper.cli.rebuild_cmds import run_rebuild
from scraper.errors import StoreError
from scraper.export.table import write_csv
from scraper.export.wacz import cdxj_of_archive, write_wacz
from scraper.indexdb import damage_reason
from scraper.pipeline import Context
from scraper.polite import Polite
from scraper.sources import names as source_names
from scraper.store import Archive

_RAW = Paragraphs  # wraps the long one-line descriptions


def _at_least(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be {low} or more, got {value}")
        return value

    return parse


def _filters(p: argparse.ArgumentParser, *, until: bool = True, section: bool = True) -> None:
    p.add_argument("--source", choices=source_names(), help="only this source")
    p.add_argument(
        "--since",
        metavar="DATE",
        help="published on or after: YYYY-MM-DD (00:00 KST) or a date-time, e.g. "
        "2023-04-19T03:00Z (no offset = KST)",
    )
    if until:
        p.add_argument(
            "--until",
            metavar="DATE",
            help="published on or before: YYYY-MM-DD (through the end of that KST day) or a "
            "date-time",
        )
    if section:
        p.add_argument(
            "--section",
            help="only this section, any case, or the site's slug (e.g. nk, politics)",
        )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The archive commands, in the order --help lists them."""
    _register_show(sub)
    _register_search(sub)
    _register_export(sub)
    _register_stats(sub)
    _register_reparse(sub)
    _register_check(sub)
    _register_recheck(sub)


def _register_show(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "show",
        help="print one stored article as JSON, its revisions or its story",
        description="Print the stored record of one article (its latest revision) as JSON. "
        "--revisions lists every revision with a diff of title and body against the one "
        "before; --story lists the versions of the story (Yonhap (LEAD), (2nd LD) … updates "
        "published under new ids), oldest first.",
        epilog="examples:\n  scraper show yonhap:AEN20230419000952325\n"
        "  scraper show yonhap:AEN20230419003851320 --story\n"
        "  scraper show koreaherald:10604071 --revisions",
        formatter_class=_RAW,
    )
    p.add_argument("id", metavar="ID", help="article id, e.g. yonhap:AEN20230419000952325")
    view = p.add_mutually_exclusive_group()
    view.add_argument("--revisions", action="store_true", help="list revisions with diffs")
    view.add_argument("--story", action="store_true", help="list the story's versions")
    p.set_defaults(func=cmd_show)


def _register_search(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "search",
        help="full-text search over titles and bodies",
        description="Search titles and bodies (SQLite FTS5, bm25 ranking, headline hits "
        'weigh more). Every word must match; "a phrase" matches in order; OR and NOT work '
        'between terms; word* is a prefix; title:word or body:"a phrase" looks in that field '
        "only. One result per line: published date, id, title, then a snippet with the matches "
        "in [brackets]. Where the query cannot be read literally (an unbalanced quote, an "
        "unknown field, a dangling operator) a note on stderr says how it was read. No match: "
        "'no matches' on stderr and exit status 1 (as grep does).",
        epilog='examples:\n  scraper search "reconnaissance satellite"\n'
        "  scraper search 'title:satellite OR title:missile'\n"
        "  scraper search mpox --source yonhap --since 2023-04-01 --limit 5",
        formatter_class=_RAW,
    )
    p.add_argument(
        "query", metavar="QUERY", help='words, "phrases", OR, NOT, prefix*, title:, body:'
    )
    _filters(p)
    p.add_argument("--limit", type=_at_least(1), default=20, help="at most this many results (20)")
    p.add_argument("--json", action="store_true", help="one JSON object per result")
    p.set_defaults(func=cmd_search)


def _register_export(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "export",
        help="stream stored articles as JSON lines or CSV; a WACZ package; a CDXJ index",
        description="Write every stored article (latest revision) to stdout (or -o FILE), "
        "oldest first, one record at a time (constant memory). JSON lines and CSV (header row) "
        "carry every field; CSV cells hold lists as JSON arrays, a null as an empty cell and "
        'an empty string as "". Both load in pandas and duckdb. --format wacz writes a WACZ '
        "1.1.1 package (the WARC files, a CDXJ index, pages.jsonl) to -o FILE.wacz for "
        "pywb / ReplayWeb.page; --format cdxj prints the sorted CDXJ index of every WARC file "
        "(file names relative to the archive). An article whose file is missing or unreadable is "
        "reported on stderr and skipped; the rest are written, exit 1.",
        epilog="examples:\n  scraper export --format jsonl > all.jsonl\n"
        "  scraper export --format csv --source koreaherald --since 2024-01-01 > kh.csv\n"
        "  scraper export --format wacz --source yonhap -o yonhap.wacz\n"
        "  scraper export --format cdxj -o index.cdxj",
        formatter_class=_RAW,
    )
    p.add_argument("--format", choices=("jsonl", "csv", "wacz", "cdxj"), default="jsonl")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    _filters(p)
    p.set_defaults(func=cmd_export)


def _register_stats(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "stats",
        help="articles per source and day, fallback share, missing fields, failures",
        description="Per source: articles, revised articles, the share extracted by the "
        "generic fallback parser (layout drift), parsers used, fields missing, failed URLs "
        "with their most common errors, and articles per publication day (most recent days).",
        epilog="examples:\n  scraper stats\n  scraper stats --source yonhap --days 30 --json",
        formatter_class=_RAW,
    )
    _filters(p, section=False)
    p.add_argument("--days", type=_at_least(0), default=14, help="publication days listed (14)")
    p.add_argument("--json", action="store_true", help="one JSON document")
    p.set_defaults(func=cmd_stats)


def _register_reparse(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "reparse",
        help="re-extract stored articles from their WARC captures, offline",
        description="Re-run the current parsers on each article's raw capture (no network). "
        "Records whose output changes are rewritten with the new parser stamp (parser, "
        "parsed_at); their revision number does not change. Running it twice changes nothing "
        "the second time. A missing article file is rebuilt from its capture. A damaged capture "
        "is reported by article id and skipped. After adding a parser for a new layout, "
        "--parser fallback re-extracts only the records the fallback made. Exit 1 when some "
        "capture could not be re-extracted.",
        epilog="examples:\n  scraper reparse\n  scraper reparse --source koreaherald "
        "--since 2024-11-01\n  scraper reparse --parser fallback",
        formatter_class=_RAW,
    )
    _filters(p, until=False, section=False)
    p.add_argument(
        "--parser",
        metavar="NAME",
        help="only records made by this parser: a full name (koreaherald/kh1) or its first "
        "part (fallback = every fallback/<source> record)",
    )
    p.set_defaults(func=cmd_reparse)


def _register_check(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "check",
        help="verify articles, index and WARC files agree; --repair fixes what is safe",
        description="Verify that every WARC file reads to the end, every capture and revision "
        "points at a response record that exists, every index row has its article file (same "
        "id, revision and hash) and every file its row, no temp file of a dead writer is left, "
        "and the search index matches. Prints one line per problem. --repair salvages damaged "
        "WARC files (every readable record kept, unreadable bytes and interrupted tails moved "
        "to quarantine/, captures re-pointed), indexes files saved just before a crash, "
        "rewrites missing files from the revisions table, removes stray copies and temp "
        "files, and rebuilds the search index; a damaged index is rebuilt from the WARC and "
        "article files first (rebuild-index). "
        "Exit 0 when consistent (after repair), 1 otherwise.",
        epilog="examples:\n  scraper check\n  scraper check --repair",
        formatter_class=_RAW,
    )
    p.add_argument("--repair", action="store_true", help="repair what can be repaired safely")
    p.set_defaults(func=cmd_check)


def _register_recheck(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "recheck",
        help="check recent articles again for revisions (conditional GET)",
        description="Fetch again the articles whose next check is due: every 15 minutes in "
        "the first 3 hours after publication, hourly in the first day, daily for a week, then "
        "never. Conditional GET (ETag / Last-Modified): an unchanged page costs one 304. A "
        "changed title or body is stored as a new revision (see show --revisions); changes "
        "of whitespace or the updated time alone are not. Exit 1 when some check failed.",
        epilog="examples:\n  scraper recheck\n  scraper recheck --source yonhap",
        formatter_class=_RAW,
    )
    p.add_argument("--source", choices=source_names(), help="only this source")
    p.set_defaults(func=cmd_recheck)


def cmd_show(args: argparse.Namespace) -> int:
    config = config_from(args)
    out = sys.stdout
    with Archive(config.archive.path, readonly=True) as archive:
        article = archive.get(args.id)
        if article is None:
            raise StoreError(_no_such_article(archive, args.id), where=args.id)
        if args.revisions:
            history = archive.revisions(article.id)
            for i, rev in enumerate(history):
                out.write(f"revision {rev.revision}\t{rev.fetched_at}\t{rev.content_hash}\n")
                if i:
                    out.write(revisions.diff(history[i - 1], rev) + "\n")
        elif args.story:
            story = article.story_id or article.id
            out.write(f"story {story}\n")
            for row in lineage.chain(archive.db, story):
                mark = "*" if row["id"] == article.id else " "
                out.write(f"{mark} {row['published_at']}\t{row['id']}\t{row['title']}\n")
        else:
            out.write(json.dumps(article.to_dict(), ensure_ascii=False, indent=2) + "\n")
    return EXIT_OK


def _no_such_article(archive: Archive, wanted: str) -> str:
    """Ids are ``<source>:<native id>``; a bare native id gets the full id suggested."""
    if ":" in wanted:
        return "no such article"
    found = [f"{name}:{wanted}" for name in source_names() if archive.get(f"{name}:{wanted}")]
    if found:
        return f"no such article; ids start with the source: did you mean {' or '.join(found)}?"
    return "no such article; ids start with the source, e.g. yonhap:AEN20230419000952325"


def cmd_search(args: argparse.Namespace) -> int:
    config = config_from(args)
    filters.Window.parse(args.since, args.until)  # a bad date is an error before any work
    for note in search.read_query(args.query).notes:  # say how the query was read
        print(f"note: {note}", file=sys.stderr)
    with Archive(config.archive.path, readonly=True) as archive:
        hits = search.search(
            archive,
            args.query,
            source=args.source,
            since=args.since,
            until=args.until,
            section=args.section,
            limit=args.limit,
        )
    for hit in hits:
        if args.json:
            sys.stdout.write(json.dumps(asdict(hit), ensure_ascii=False) + "\n")
        else:
            day = (hit.published_at or "")[:10] or "----------"
            sys.stdout.write(f"{day}  {hit.id}  {hit.title}\n    {hit.snippet}\n")
    if not hits:  # like grep: exit 1, so a script can tell "nothing found" from results
        print(f"no matches for {args.query!r}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    config = config_from(args)
    filters.Window.parse(args.since, args.until)
    if args.format == "wacz":
        return _export_wacz(args, config.archive.path)
    skipped: list[StoreError] = []

    def skip(exc: StoreError) -> None:  # one lost file must not cost every record after it
        skipped.append(exc)
        print(f"error: {exc}", file=sys.stderr)

    out = (
        open(args.output, "w", encoding="utf-8", newline="")  # noqa: SIM115 (closed below)
        if args.output
        else sys.stdout
    )
    try:
        with Archive(config.archive.path, readonly=True) as archive:
            if args.format == "cdxj":
                out.writelines(line + "\n" for line in cdxj_of_archive(archive.root))
                return EXIT_OK
            records = archive.iter_articles(
                source=args.source,
                since=args.since,
                until=args.until,
                section=args.section,
                on_error=skip,
            )
            if args.format == "jsonl":
                for article in records:
                    out.write(json.dumps(article.to_dict(), ensure_ascii=False) + "\n")
            else:
                write_csv(out, records)
    finally:
        out.flush()
        if out is not sys.stdout:
            out.close()
    return EXIT_FAILED if skipped else EXIT_OK


def _export_wacz(args: argparse.Namespace, root: Path) -> int:
    if not args.output:
        raise StoreError("--format wacz needs -o FILE.wacz", where="export")
    if args.section:
        raise StoreError("--section is not supported with --format wacz", where="export")
    with Archive(root, readonly=True) as archive:
        summary = write_wacz(
            archive.root,
            archive.db,
            Path(args.output),
            source=args.source,
            since=args.since,
            until=args.until,
        )
    sys.stderr.write(
        f"wrote {args.output}: {summary.pages} pages, {summary.warc_files} WARC files, "
        f"{summary.bytes} bytes\n"
    )
    return EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    config = config_from(args)
    filters.Window.parse(args.since, args.until)
    with Archive(config.archive.path, readonly=True) as archive:
        result = stats.collect(
            archive, source=args.source, days=args.days, since=args.since, until=args.until
        )
    if args.json:
        data = [{**asdict(s), "fallback_share": s.fallback_share} for s in result.sources]
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write(stats.render(result) + "\n")
    return EXIT_OK


def cmd_reparse(args: argparse.Namespace) -> int:
    config = config_from(args)
    filters.Window.parse(args.since, None)
    with Archive(config.archive.path) as archive:
        summary = reparse.reparse(archive, source=args.source, since=args.since, parser=args.parser)
    for error in summary.errors:
        print(f"error: {error}", file=sys.stderr)
    print(summary.line())
    return EXIT_FAILED if summary.failed else EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    config = config_from(args)
    try:
        with Archive(config.archive.path) as archive:
            report = check.check(archive, repair=args.repair)
    except (StoreError, sqlite3.DatabaseError) as exc:
        reason = damage_reason(exc)
        if not args.repair or reason is None:
            raise
        # the index is a cache of the files: rebuild it, then check what it now says
        print(f"repairing: the index is damaged ({reason}); rebuilding it from the files")
        run_rebuild(Path(config.archive.path))
        with Archive(config.archive.path) as archive:
            report = check.check(archive, repair=True)
    for problem in report.problems:
        print(problem.line())
    counts = ", ".join(f"{v} {k}" for k, v in report.counts.items())
    n = len(report.unrepaired)
    state = "consistent" if report.ok else f"{n} problem{'s' if n != 1 else ''}"
    print(f"checked {counts}: {state}")
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_recheck(args: argparse.Namespace) -> int:
    config = config_from(args)
    failed = 0
    with Context.open(config) as ctx:
        for settings in config.enabled_sources():
            if args.source and settings.name != args.source:
                continue
            with Polite.for_source(ctx.fetcher, ctx.archive, settings).attached():
                summary = revisions.recheck(ctx, settings)
            failed += summary.failed
            for error in summary.errors:
                print(f"error: {error}", file=sys.stderr)
            print(summary.line())
    return EXIT_FAILED if failed else EXIT_OK
