"""Reading the archive back: ``show`` and ``export``."""

from __future__ import annotations

import argparse
import csv
import json
import sys

from scraper.cli.common import EXIT_OK, config_from
from scraper.errors import StoreError
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
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "show",
        help="print one stored article as JSON",
        description="Print the stored record of one article (its latest revision) as JSON.",
        epilog="example:\n  scraper show yonhap:AEN20230419000952325",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("id", metavar="ID", help="article id, e.g. yonhap:AEN20230419000952325")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser(
        "export",
        help="stream stored articles as JSON lines or CSV",
        description="Write every stored article (latest revision) to stdout, oldest first, one "
        "record at a time. JSON lines keep every field; CSV flattens lists with ' | '.",
        epilog="examples:\n  scraper export --format jsonl > all.jsonl\n"
        "  scraper export --format csv --source koreaherald --since 2024-01-01 > kh.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    p.add_argument("--source", choices=("yonhap", "koreaherald"))
    p.add_argument("--since", metavar="DATE", help="published on or after (YYYY-MM-DD or ISO)")
    p.add_argument("--until", metavar="DATE", help="published before (YYYY-MM-DD or ISO)")
    p.set_defaults(func=cmd_export)


def cmd_show(args: argparse.Namespace) -> int:
    config = config_from(args)
    with Archive(config.archive.path) as archive:
        article = archive.get(args.id)
        if article is None:
            raise StoreError("no such article", where=args.id)
        sys.stdout.write(json.dumps(article.to_dict(), ensure_ascii=False, indent=2) + "\n")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    config = config_from(args)
    out = sys.stdout
    with Archive(config.archive.path) as archive:
        records = archive.iter_articles(source=args.source, since=args.since, until=args.until)
        if args.format == "jsonl":
            for article in records:
                out.write(json.dumps(article.to_dict(), ensure_ascii=False) + "\n")
        else:
            writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore")
            writer.writeheader()
            for article in records:
                row = article.to_dict()
                row["authors"] = " | ".join(article.authors)
                row["tags"] = " | ".join(article.tags)
                writer.writerow(row)
    out.flush()
    return EXIT_OK
