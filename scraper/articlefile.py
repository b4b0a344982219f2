"""Article JSON files on disk: where one goes (``article_relpath``), its bytes
(``dump_article``) and the atomic write (temp file beside it, fsync, rename) whose temp names
carry the writer's pid so ``scraper check`` can tell a dead writer's leftover (``temp_owner``).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

from scraper import crashpoints
from scraper.dates import now_iso
from scraper.errors import DiskFull, StoreError, is_disk_full
from scraper.models import Article

TEMP_SUFFIX = ".tmp"


def temp_owner(name: str) -> int | None:
    """The writer's pid encoded in a temp file name ``.<file>.<pid>.<random>.tmp``."""
    parts = name.split(".")
    return int(parts[-3]) if len(parts) >= 4 and parts[-3].isdigit() else None


def atomic_write(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write to a temp file beside ``path``, fsync, rename: readers see old or new, never half.
    The temp name carries our pid, so ``scraper check`` can tell a dead writer's leftover."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name}.{os.getpid()}.", suffix=TEMP_SUFFIX, dir=path.parent
        )
    except OSError as exc:
        raise _file_error(path, exc) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        crashpoints.crash_if("file")
        os.replace(tmp, path)
    except BaseException as exc:  # an OSError, or Ctrl-C / SIGTERM: no temp file survives
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _file_error(path, exc) from exc
        raise


def _file_error(path: Path, exc: OSError) -> StoreError:
    if is_disk_full(exc):
        return DiskFull(f"article file {path.name}", where=str(path))
    return StoreError(f"cannot write {path.name}: {exc.strerror}", where=str(path))


def article_relpath(article: Article) -> str:
    """``articles/<source>/<YYYY>/<MM>/<DD>/<native-id>.json``, dated by publication (as printed,
    KST)."""
    stamp = article.published_at or article.fetched_at or now_iso()
    y, m, d = stamp[:4], stamp[5:7], stamp[8:10]
    native = article.id.split(":", 1)[1]
    return f"articles/{article.source}/{y}/{m}/{d}/{native}.json"


def dump_article(article: Article) -> bytes:
    return (json.dumps(article.to_dict(), ensure_ascii=False, indent=2) + "\n").encode("utf-8")
