"""``scraper fetch`` and ``scraper parse``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from scraper.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    Paragraphs,
    config_from,
    sigterm_as_interrupt,
)
from scraper.errors import FetchError, ParseError, ScraperError
from scraper.extract import extract
from scraper.pipeline import Context, archive_article
from scraper.polite import Polite
from scraper.urls import resolve


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "fetch",
        help="fetch, extract and store article URLs (one-off)",
        description="Fetch each article URL, keep the raw capture (WARC), extract and store it. "
        "Every URL is checked first: one that no enabled source accepts stops the command "
        "(exit 2) before any request is made. Fetching a stored article again adds no duplicate.",
        epilog="example:\n  scraper fetch https://en.yna.co.kr/view/AEN20230419000952325 \\\n"
        "                https://www.koreaherald.com/article/10604071",
        formatter_class=Paragraphs,
    )
    p.add_argument(
        "urls",
        nargs="+",
        metavar="URL",
        help="article URL (Yonhap /view/AEN…, Korea Herald /article/N or /view.php?ud=…)",
    )
    p.set_defaults(func=cmd_fetch)

    p = sub.add_parser(
        "parse",
        help="extract saved HTML offline, print one article JSON per line",
        description="Extract articles from saved HTML files and print one JSON record per line, "
        "in input order. Nothing is stored or fetched. A file that is not an article gives one "
        "line on stderr and exit status 1.",
        epilog="example:\n  scraper parse page.html --url https://en.yna.co.kr/view/AEN20230419000952325",
        formatter_class=Paragraphs,
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="saved HTML ('-' reads stdin)")
    p.add_argument("--url", help="the page's URL, when the page does not name its canonical URL")
    p.set_defaults(func=cmd_parse)


def cmd_fetch(args: argparse.Namespace) -> int:
    config = config_from(args)
    if not args.verbose:  # the stdout line below is the result; the same INFO line is noise
        logging.getLogger("scraper.pipeline").setLevel(logging.WARNING)
    targets = [resolve(url, config) for url in args.urls]  # refuse bad input before any request
    failed = 0
    with sigterm_as_interrupt(), Context.open(config) as ctx:
        gates: dict[str, Polite] = {}  # robots.txt and pacing, as in a crawl
        for target in targets:
            name = target.settings.name
            gate = gates.get(name) or Polite.for_source(ctx.fetcher, ctx.archive, target.settings)
            gate.warcs = ctx.warcs  # robots.txt is archived too
            gates[name] = gate
            try:
                with gate.attached():
                    result = archive_article(ctx, target)
            except (FetchError, ParseError) as exc:
                failed += 1
                print(f"error: {exc}", file=sys.stderr)
                continue
            print(f"{result.status}\t{result.article.id}\t{result.article.title}")
    return EXIT_FAILED if failed else EXIT_OK


def cmd_parse(args: argparse.Namespace) -> int:
    failed = 0
    for name in args.files:
        try:
            data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
        except OSError as exc:
            print(f"error: cannot read file: {exc.strerror} ({name})", file=sys.stderr)
            failed += 1
            continue
        try:
            article = extract(data, args.url, where=name)
        except ParseError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        except ScraperError as exc:  # any other clear error from the cascade
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        sys.stdout.write(json.dumps(article.to_dict(), ensure_ascii=False) + "\n")
    sys.stdout.flush()
    return EXIT_FAILED if failed else EXIT_OK
