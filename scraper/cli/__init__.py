"""The ``scraper`` command: global options, logging, error → exit status. Commands live in
sibling modules, each with ``register(subparsers)``; the registry is the ``COMMANDS`` tuple."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from scraper import __version__
from scraper.cli import archive_cmds, crawl_cmds, fetch_cmds, history_cmds, service_cmds
from scraper.cli.common import EXIT_FAILED, EXIT_USAGE, setup_logging
from scraper.errors import ConfigError, ScraperError, UrlRefused, UsageError

COMMANDS = (fetch_cmds, crawl_cmds, service_cmds, archive_cmds, history_cmds)

EPILOG = """\
examples:
  scraper fetch https://en.yna.co.kr/view/AEN20230419000952325
  scraper crawl --source yonhap --limit 20
  scraper show yonhap:AEN20230419000952325
  scraper export --format jsonl > articles.jsonl
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scraper",
        description="Archive Yonhap English and The Korea Herald: fetch, extract, store, search.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="TOML config file (default: config/scraper.toml; env SCRAPER_CONFIG)",
    )
    parser.add_argument(
        "--archive",
        metavar="DIR",
        help="archive directory, overrides archive.path (env SCRAPER_ARCHIVE)",
    )
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        help="log line format (default: service.log_format, text)",
    )
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="store_true", help="debug logs, tracebacks")
    verbosity.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(verbose=args.verbose, quiet=args.quiet, fmt=args.log_format)
    try:
        status: int = args.func(args)
        return status
    except ConfigError as exc:  # every problem on its own line, before anything ran
        for line in exc.lines():
            print(f"error: {line}", file=sys.stderr)
        return EXIT_USAGE
    except ScraperError as exc:
        if args.verbose:
            logging.getLogger("scraper").exception("failed")
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, ConfigError | UrlRefused | UsageError) else EXIT_FAILED
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the last line of defence: one line, traceback only with -v
        if args.verbose:
            logging.getLogger("scraper").exception("internal error")
        print(f"error: internal error: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED


def run() -> None:
    sys.exit(main())
