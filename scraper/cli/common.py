"""Pieces every command uses: loading the config once, logging set-up, exit statuses."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import textwrap
from datetime import UTC, datetime
from typing import Any

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
