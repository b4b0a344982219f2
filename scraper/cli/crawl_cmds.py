"""``scraper crawl``: one discovery + fetch pass."""

from __future__ import annotations

import argparse
import sys

from scraper.cli.common import EXIT_FAILED, EXIT_OK, config_from
from scraper.crawl import crawl
from scraper.errors import ConfigError
from scraper.pipeline import Context


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "crawl",
        help="one discovery + fetch pass over the enabled sources",
        description="Discover article URLs from each enabled source's feeds (then sitemaps, then "
        "section pages if a feed fails or is empty) and archive the ones not stored yet. Prints "
        "one summary line per source. Exit 1 if some articles failed (the rest are stored).",
        epilog="examples:\n  scraper crawl\n  scraper crawl --source koreaherald --limit 10",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--source",
        action="append",
        choices=("yonhap", "koreaherald"),
        help="only this source (repeatable)",
    )
    p.add_argument("--limit", type=int, metavar="N", help="at most N new articles per source")
    p.set_defaults(func=cmd_crawl)


def cmd_crawl(args: argparse.Namespace) -> int:
    config = config_from(args)
    if args.limit is not None and args.limit < 0:
        raise ConfigError("--limit must be 0 or more")
    for name in args.source or ():
        if name not in config.sources or not config.sources[name].enabled:
            raise ConfigError(f"source {name} is not enabled in the config")
    with Context.open(config) as ctx:
        summary = crawl(ctx, args.source, limit=args.limit)
    for s in summary.sources:
        print(s.line())
    sys.stdout.flush()
    return EXIT_FAILED if summary.failed else EXIT_OK
