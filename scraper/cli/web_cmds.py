"""``scraper web``: the read-only reading room over the archive (scraper/web/)."""

from __future__ import annotations

import argparse
import sys

from scraper.cli.common import EXIT_OK, config_from
from scraper.errors import ConfigError

WEB_HELP = """\
Serve a read-only web view of the archive: an overview per source (articles per day, fallback
share, failures, last and next run), full-text search with filters, each article's clean record,
its revisions with a word-level diff, its story timeline (Yonhap LEAD, 2nd LD … updates) and the
raw page as captured (sandboxed: no script of the archived page runs). /healthz answers JSON;
search, article, revisions and story pages also answer JSON (add .json, or send
Accept: application/json).

It only reads the archive and creates nothing. It listens on 127.0.0.1 by default: to reach it
from other machines pass --host 0.0.0.0 (and put a proxy with authentication in front). Port 0
picks a free port; the address is printed on stdout. Ctrl-C or SIGTERM stops it."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "web",
        help="the read-only reading room: search, read and compare in a browser",
        description=WEB_HELP,
        epilog="examples:\n  scraper web\n  scraper --archive /srv/archive web --port 9000",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port, 0 for any free one (8080)")
    p.set_defaults(func=cmd_web)


def cmd_web(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be 0 to 65535, got {args.port}")
    config = config_from(args)
    # Starlette, Jinja2 and uvicorn load only for the command that needs them
    from scraper.web.server import serve

    def ready(url: str) -> None:
        sys.stdout.write(f"reading room at {url} (Ctrl-C stops)\n")
        sys.stdout.flush()

    serve(config.archive.path, tuple(config.sources), args.host, args.port, ready=ready)
    return EXIT_OK
