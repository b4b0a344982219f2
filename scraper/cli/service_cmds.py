"""``scraper serve``: the scheduled background service."""

from __future__ import annotations

import argparse

from scraper.cli.common import EXIT_OK, config_from
from scraper.service import Service


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "serve",
        help="run the scheduled archiver until SIGTERM/SIGINT",
        description="Crawl every enabled source on its interval (sources.<name>.interval), the "
        "first run at start-up. SIGTERM or Ctrl-C stops it cleanly.",
        epilog="example:\n  scraper --config config/scraper.toml serve",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    config = config_from(args)
    Service(config).serve_forever()
    return EXIT_OK
