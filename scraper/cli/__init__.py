"""The ``scraper`` command: global options, logging, error → exit status. Commands live in
sibling modules, each with ``register(subparsers)``; the registry is the ``COMMANDS`` tuple."""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
from collections.abc import Sequence

from scraper import __version__, errors
from scraper.cli import (
    archive_cmds,
    crawl_cmds,
    failure_cmds,
    fetch_cmds,
    history_cmds,
    rebuild_cmds,
    service_cmds,
    web_cmds,
)
from scraper.cli.common import EXIT_FAILED, EXIT_USAGE, setup_logging
from scraper.errors import ConfigError, IndexDamaged, ScraperError, UrlRefused, UsageError
from scraper.indexdb import REBUILD_HINT, damage_reason

COMMANDS = (
    fetch_cmds,
    crawl_cmds,
    service_cmds,
    archive_cmds,
    failure_cmds,
    rebuild_cmds,
    web_cmds,
    history_cmds,
)

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
        print(f"error: {_damage_line(exc) or exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, ConfigError | UrlRefused | UsageError) else EXIT_FAILED
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except (OSError, sqlite3.Error) as exc:
        if args.verbose:
            logging.getLogger("scraper").exception("failed")
        if errors.is_disk_full(exc):  # a write outside the store's own translation (robots, state)
            what = getattr(exc, "filename", None) or "the index"
            print(f"error: disk full while writing {what}", file=sys.stderr)
        else:
            print(f"error: internal error: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # the last line of defence: one line, traceback only with -v
        if damage := _damage_line(exc):  # a query deep in a command met a damaged index
            print(f"error: {damage}", file=sys.stderr)
            return EXIT_FAILED
        if args.verbose:
            logging.getLogger("scraper").exception("internal error")
        print(f"error: internal error: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _damage_line(exc: BaseException) -> str | None:
    """What to say when ``exc`` comes from a damaged index: what to run."""
    if isinstance(exc, IndexDamaged):
        return None  # says so itself
    reason = damage_reason(exc)
    return f"the index is damaged ({reason}); {REBUILD_HINT}" if reason else None


def run() -> None:
    sys.exit(main())
