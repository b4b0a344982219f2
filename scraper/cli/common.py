"""Pieces every command uses: loading the config once, logging set-up, exit statuses."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import FrameType

from scraper.config import Config, load_config

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def config_from(args: argparse.Namespace) -> Config:
    config = load_config(args.config, archive=args.archive)
    if getattr(args, "log_format", None) is None and config.service.log_format == "json":
        setup_logging(verbose=args.verbose, quiet=args.quiet, fmt="json")
    return config


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, plus any ``extra={…}`` fields."""

    _SKIP = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in self._SKIP:
                data[key] = value
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Let SIGTERM (``kill``, ``docker stop``) unwind like Ctrl-C, so the writers' cleanup runs
    (no temp file, no half record, the JSON put back when its index transaction did not
    commit) instead of the process vanishing mid-write."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def setup_logging(*, verbose: bool = False, quiet: bool = False, fmt: str | None = None) -> None:
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("scraper").setLevel(level)
    # httpx logs every request at INFO; ours already does, at DEBUG
    logging.getLogger("httpx").setLevel(logging.WARNING)
