"""Whether another process holds an ``flock`` on a file: the one probe behind "is the archive
served" (``serve.lock``, scraper/state.py) and "is this WARC file being written" (scraper/warc.py).

The probe takes the lock without waiting and drops it at once by closing its descriptor; a lock
taken by this same process through another descriptor counts as held too (flock is per open
file), which is what both callers want.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


def held(path: Path, *, shared: bool = False) -> bool:
    """True when another open file holds an ``flock`` on ``path`` that excludes our probe.

    ``shared=True`` probes with a shared lock, so only an exclusive holder counts (and the
    probe itself never blocks a writer for longer than the instant it holds it). A missing file
    is not held; other ``OSError`` propagate."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the probe's lock
    return False
