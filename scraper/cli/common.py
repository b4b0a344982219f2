"""Pieces every command uses: loading the config once, logging set-up, exit statuses."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import signal
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from rich.console import Console

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


class Paragraphs(argparse.RawDescriptionHelpFormatter):
    """Wraps each paragraph of a description or epilog to the terminal (at most 100 columns),
    keeping blank lines between paragraphs and indented lines (examples) exactly as written,
    so a description can be one long string and still read like the hand-wrapped ones."""

    def __init__(self, prog: str, **kwargs: Any) -> None:
        width = kwargs.pop("width", None) or min(shutil.get_terminal_size().columns - 2, 98)
        super().__init__(prog, width=width, **kwargs)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        out: list[str] = []
        for block in text.split("\n\n"):
            if not block.strip():
                continue
            kept: list[str] = []
            words: list[str] = []
            for line in block.splitlines():
                if line[:1].isspace():  # an example: verbatim
                    if words:
                        kept.append(
                            textwrap.fill(
                                " ".join(words),
                                width,
                                initial_indent=indent,
                                subsequent_indent=indent,
                            )
                        )
                        words = []
                    kept.append(indent + line)
                else:
                    words.append(line.strip())
            if words:
                kept.append(
                    textwrap.fill(
                        " ".join(words), width, initial_indent=indent, subsequent_indent=indent
                    )
                )
            out.append("\n".join(kept))
        return "\n\n".join(out)


class ConsoleHandler(logging.Handler):
    """Log records printed through a rich ``Console``: while a live progress bar is shown, rich
    prints them above the bar and redraws it, so the bar stays one line at the bottom instead
    of being interleaved with (and left behind by) lines written straight to stderr."""

    def __init__(self, console: Console, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
            # soft_wrap: no newlines inserted into long lines (a JSON log line stays one line)
            self.console.print(message, markup=False, highlight=False, emoji=False, soft_wrap=True)
        except Exception:  # logging must never take the command down
            self.handleError(record)


@contextmanager
def logs_through(console: Console) -> Iterator[None]:
    """Route the root logger's output through ``console`` (same format and level) for the
    duration; the handler set up by ``setup_logging`` is put back afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:]
    handler = ConsoleHandler(console)
    if saved:
        handler.setFormatter(saved[0].formatter)
        handler.setLevel(saved[0].level)
    root.handlers[:] = [handler]
    try:
        yield
    finally:
        root.handlers[:] = saved
