"""Fault injection for the kill -9 tests: ``SCRAPER_CRASH_AT=<point>[:<n>]`` makes the process
SIGKILL itself the n-th time (default 1st) it reaches ``point``.

Points (docs/archive-format.md, "Crash safety"):
    warc    half of one exchange written to the WARC file
    file    article JSON written to its temp file, not yet renamed into place
    index   inside the index transaction, before COMMIT
    renumber  an older capture's save: article file renamed into place, ``revisions`` rows
            renumbered, not yet committed (scraper/revorder.py)
    rebuild ``rebuild-index`` has built the new index, not yet renamed it into place
    import  ``scraper import``: an article stored and the file's cursor saved
    history-saved  import/backfill: an article saved, its payload not yet recorded
    backfill  ``scraper backfill``: a capture stored, not yet marked done
    sitewalk  ``scraper backfill --via site``: an article stored, not yet marked fetched
    sitewalk-page  ``scraper backfill --via site``: a list page's links and cursor saved

``SCRAPER_CRASH_SIGNAL=INT|TERM`` sends that signal instead of SIGKILL (the Ctrl-C and
``kill`` tests: the process must clean up after itself).

The variables are read once at import; when unset ``reached`` is one dict lookup.
"""

from __future__ import annotations

import os
import signal

_SPEC = os.environ.get("SCRAPER_CRASH_AT", "")
_POINT, _, _NTH = _SPEC.partition(":")
_remaining = {_POINT: int(_NTH) if _NTH.isdigit() else 1} if _POINT else {}
_SIGNAL = getattr(signal, "SIG" + os.environ.get("SCRAPER_CRASH_SIGNAL", "KILL"), signal.SIGKILL)


def reached(point: str) -> bool:
    """True when the process should die at ``point`` now (the caller may do a partial write
    first and then call ``die``); counts down otherwise."""
    if point not in _remaining:
        return False
    _remaining[point] -= 1
    return _remaining[point] == 0


def die() -> None:
    os.kill(os.getpid(), _SIGNAL)


def crash_if(point: str) -> None:
    if reached(point):
        die()
