"""Reading and maintaining the archive: ``show``, ``search``, ``export``, ``stats``,
``reparse``, ``check`` and ``recheck``."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import asdict

from scraper import check, lineage, reparse, revisions, search, stats
from scraper.cli.common import EXIT_FAILED, EXIT_OK, config_from
from scraper.errors import StoreError
from scraper.pipeline import Context
from scraper.polite import Polite
from scraper.store import Archive

CSV_FIELDS = (
    "id",
    "source",
    "url",
    "title",
    "subtitle",
    "authors",
    "published_at",
    "updated_at",
    "section",
    "tags",
    "body",
    "editor_note",
    "fetched_at",
    "content_hash",
    "parser",
    "revision",
    "update_tag",
    "story_id",
    "urls",
)
SOURCES = ("yonhap", "koreaherald")
_RAW = argparse.RawDescriptionHelpFormatter


def _filters(p: argparse.ArgumentParser, *, until: bool = True, section: bool = True) -> None:
    p.add_argument("--source", choices=SOURCES, help="only this source")
    p.add_argument("--since", metavar="DATE", help="published on or after (YYYY-MM-DD or ISO)")
    if until:
        p.add_argument("--until", metavar="DATE", help="published before (YYYY-MM-DD or ISO)")
    if section:
        p.add_argument("--section", help="only this section, as stored (e.g. nk, politics)")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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

    p = sub.add_parser(
        "search",
        help="full-text search over titles and bodies",
        description="Search titles and bodies (SQLite FTS5, bm25 ranking, headline hits "
        'weigh more). Every word must match; "a phrase" matches in order; OR and NOT work '
        "between terms; word* is a prefix. One result per line: published date, id, title, "
        "then a snippet with the matches in [brackets].",
        epilog='examples:\n  scraper search "reconnaissance satellite"\n'
        "  scraper search mpox --source yonhap --since 2023-04-01 --limit 5",
        formatter_class=_RAW,
    )
    p.add_argument("query", metavar="QUERY", help='words, "phrases", OR, NOT, prefix*')
    _filters(p)
    p.add_argument("--limit", type=int, default=20, help="at most this many results (20)")
    p.add_argument("--json", action="store_true", help="one JSON object per result")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser(
        "export",
        help="stream stored articles as JSON lines or CSV",
        description="Write every stored article (latest revision) to stdout, oldest first, one "
        "record at a time (constant memory). JSON lines keep every field; CSV (with a header "
        "row) flattens lists with ' | '. Both load directly in pandas (read_json(lines=True), "
        "read_csv) and duckdb (read_json_auto, read_csv_auto).",
        epilog="examples:\n  scraper export --format jsonl > all.jsonl\n"
        "  scraper export --format csv --source koreaherald --since 2024-01-01 > kh.csv",
        formatter_class=_RAW,
    )
    p.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    _filters(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "stats",
        help="articles per source and day, fallback share, missing fields, failures",
        description="Per source: articles, revised articles, the share extracted by the "
        "generic fallback parser (layout drift), parsers used, fields missing, failed URLs "
        "with their most common errors, and articles per publication day (most recent days).",
        epilog="examples:\n  scraper stats\n  scraper stats --source yonhap --days 30 --json",
        formatter_class=_RAW,
    )
    p.add_argument("--source", choices=SOURCES, help="only this source")
    p.add_argument("--days", type=int, default=14, help="publication days listed (14)")
    p.add_argument("--json", action="store_true", help="one JSON document")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser(
        "reparse",
        help="re-extract stored articles from their WARC captures, offline",
        description="Re-run the current parsers on each article's raw capture (no network). "
        "Records whose output changes are rewritten with the new parser stamp (parser, "
        "parsed_at); their revision number does not change. Running it twice changes nothing "
        "the second time. After adding a parser for a new layout, --parser fallback "
        "re-extracts only the records the fallback made. Exit 1 when some capture could not "
        "be re-extracted.",
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

    p = sub.add_parser(
        "check",
        help="verify articles, index and WARC files agree; --repair fixes what is safe",
        description="Verify that every WARC file reads to the end, every capture and revision "
        "points at a response record that exists, every index row has its article file (same "
        "id, revision and hash) and every file its row, no temp file of a dead writer is left, "
        "and the search index matches. Prints one line per problem. --repair cuts interrupted "
        "WARC tails, indexes files saved just before a crash, rewrites missing files from the "
        "revisions table, removes stray copies and temp files, and rebuilds the search index. "
        "Exit 0 when consistent (after repair), 1 otherwise.",
        epilog="examples:\n  scraper check\n  scraper check --repair",
        formatter_class=_RAW,
    )
    p.add_argument("--repair", action="store_true", help="repair what can be repaired safely")
    p.set_defaults(func=cmd_check)

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
    p.add_argument("--source", choices=SOURCES, help="only this source")
    p.set_defaults(func=cmd_recheck)


def cmd_show(args: argparse.Namespace) -> int:
    config = config_from(args)
    out = sys.stdout
    with Archive(config.archive.path) as archive:
        article = archive.get(args.id)
        if article is None:
            raise StoreError("no such article", where=args.id)
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


def cmd_search(args: argparse.Namespace) -> int:
    config = config_from(args)
    with Archive(config.archive.path) as archive:
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
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    config = config_from(args)
    out = sys.stdout
    with Archive(config.archive.path) as archive:
        records = archive.iter_articles(
            source=args.source, since=args.since, until=args.until, section=args.section
        )
        if args.format == "jsonl":
            for article in records:
                out.write(json.dumps(article.to_dict(), ensure_ascii=False) + "\n")
        else:
            writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore")
            writer.writeheader()
            for article in records:
                row = article.to_dict()
                for name in ("authors", "tags", "urls"):
                    row[name] = " | ".join(row[name])
                writer.writerow(row)
    out.flush()
    return EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    config = config_from(args)
    with Archive(config.archive.path) as archive:
        result = stats.collect(archive, source=args.source, days=args.days)
    if args.json:
        data = [{**asdict(s), "fallback_share": s.fallback_share} for s in result.sources]
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write(stats.render(result) + "\n")
    return EXIT_OK


def cmd_reparse(args: argparse.Namespace) -> int:
    config = config_from(args)
    with Archive(config.archive.path) as archive:
        summary = reparse.reparse(archive, source=args.source, since=args.since, parser=args.parser)
    for error in summary.errors:
        print(f"error: {error}", file=sys.stderr)
    print(summary.line())
    return EXIT_FAILED if summary.failed else EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    config = config_from(args)
    with Archive(config.archive.path) as archive:
        report = check.check(archive, repair=args.repair)
    for problem in report.problems:
        print(problem.line())
    counts = ", ".join(f"{v} {k}" for k, v in report.counts.items())
    state = "consistent" if report.ok else f"{len(report.unrepaired)} problems"
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
