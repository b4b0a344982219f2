"""``scraper failures`` and ``scraper retry``: the article URLs that did not make it into the
archive, with why and when they are tried again, and a way to put one back."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from scraper import failures
from scraper.cli.common import EXIT_FAILED, EXIT_OK, config_from
from scraper.sources import names as source_names
from scraper.store import Archive

_RAW = argparse.RawDescriptionHelpFormatter

FAILURES_DESCRIPTION = """\
List article URLs that are not in the archive: failed (tried again in a later run, after a
growing wait), rejected (positively not an article, e.g. a PDF: never retried), abandoned (failed
in 6 runs over about two days: never retried) and, with --state gone, 404/410 answers.
One line per URL: id, state, attempts, next retry, source, URL, last error. Put one back with
`scraper retry ID` (or `scraper fetch URL`)."""

RETRY_DESCRIPTION = """\
Put article URLs back in line: their state becomes "new" with no attempts counted, so the next
crawl (or the service's next run of the source) fetches them, whatever they failed with. Name
them by the id `scraper failures` prints or by URL. Exit status 1 when one is not known."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "failures",
        help="article URLs that failed, were rejected or abandoned, with reason and next retry",
        description=FAILURES_DESCRIPTION,
        epilog="examples:\n  scraper failures\n  scraper failures --source yonhap "
        "--state abandoned\n  scraper failures --json | jq '.[].url'",
        formatter_class=_RAW,
    )
    p.add_argument("--source", choices=source_names(), help="only this source")
    p.add_argument(
        "--state",
        action="append",
        choices=failures.STATES,
        help="only URLs in this state (repeatable; default: failed, rejected, abandoned)",
    )
    p.add_argument("--json", action="store_true", help="one JSON array")
    p.set_defaults(func=cmd_failures)

    p = sub.add_parser(
        "retry",
        help="put failed, rejected or abandoned article URLs back for the next crawl",
        description=RETRY_DESCRIPTION,
        epilog="examples:\n  scraper retry 42\n"
        "  scraper retry https://en.yna.co.kr/view/AEN20230419000952325",
        formatter_class=_RAW,
    )
    p.add_argument("keys", nargs="+", metavar="URL|ID", help="a URL, or an id from `failures`")
    p.set_defaults(func=cmd_retry)


def cmd_failures(args: argparse.Namespace) -> int:
    config = config_from(args)
    states = tuple(args.state) if args.state else failures.SHOWN_BY_DEFAULT
    with Archive(config.archive.path) as archive:
        found = failures.listing(archive, source=args.source, states=states)
    if args.json:
        rows = [{**asdict(f), "next": f.when()} for f in found]
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return EXIT_OK
    if not found:
        print("no " + ", ".join(states) + " article URLs")
        return EXIT_OK
    for f in found:
        print(
            f"{f.id}\t{f.state}\t{f.attempts} tries\tnext: {f.when()}\t{f.source}\t{f.url}\t"
            f"{f.error or '-'}"
        )
    return EXIT_OK


def cmd_retry(args: argparse.Namespace) -> int:
    config = config_from(args)
    unknown = 0
    with Archive(config.archive.path) as archive:
        for key in args.keys:
            found = failures.find(archive, config, key)
            if found is None:
                print(f"error: no article URL known as {key} (scraper failures)", file=sys.stderr)
                unknown += 1
                continue
            failures.put_back(archive, found)
            print(f"queued\t{found.url}\t(was {found.state}: {found.error or '-'})")
    return EXIT_FAILED if unknown else EXIT_OK
