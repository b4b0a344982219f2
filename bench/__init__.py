"""Benchmarks: ``python -m bench NAME`` (or ``make bench`` for all). Never part of the tests."""

from __future__ import annotations

import signal
import sys
from types import FrameType


def exit_on_sigterm() -> None:
    """Turn SIGTERM into ``SystemExit`` (status 143), as Ctrl-C already is a ``KeyboardInterrupt``,
    so ``finally`` blocks and temporary directories clean up: an archive benchmark stopped
    with ``kill`` otherwise leaves gigabytes behind in the temp dir."""

    def stop(signum: int, frame: FrameType | None) -> None:
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
