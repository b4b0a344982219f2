"""What the service keeps in the archive, and what ``scraper status`` reads back.

Two tables (migration 2 in ``scraper/store.py``):
    runs              one row per scheduled crawl of a source: start, end, result, counts, error
    service_sources   one row per source: next run, consecutive failures, backoff end

Results of a run:
    ok           discovery worked and no article failed
    partial      some articles failed, the rest were stored
    failed       every discovery method failed, every article tried failed, or the run crashed
    interrupted  the service stopped during the run
    running      still going (or left by a killed service; the next ``serve`` closes it)

Also here: the ``serve.lock`` file that keeps a second ``scraper serve`` off the same archive.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scraper import flocks
from scraper.crawl import SourceSummary
from scraper.dates import now_iso
from scraper.errors import StoreError

log = logging.getLogger(__name__)

LOCK_NAME = "serve.lock"
# Layout drift: warn when the fallback parser's share of the last day's records is this much
# above its share before, over at least this many records (a redesign shows up as a jump).
DRIFT_JUMP = 0.2
DRIFT_MIN_RECORDS = 5
RECENT = timedelta(hours=24)


@dataclass(frozen=True)
class Run:
    id: int
    source: str
    pid: int
    started_at: str
    finished_at: str | None
    result: str
    discovered: int
    new: int
    revised: int
    unchanged: int
    failed: int
    method: str | None
    error: str | None

    @property
    def duration(self) -> float | None:
        if self.finished_at is None:
            return None
        start = datetime.fromisoformat(self.started_at)
        return (datetime.fromisoformat(self.finished_at) - start).total_seconds()


@dataclass(frozen=True)
class SourceState:
    source: str
    next_run_at: str | None = None
    consecutive_failures: int = 0
    backoff_until: str | None = None


@dataclass(frozen=True)
class ArticleCounts:
    total: int
    today: int  # first archived since 00:00 UTC
    fallback: int  # records whose parser is fallback/…
    recent: int  # first archived in the last 24 hours
    recent_fallback: int

    @property
    def fallback_share(self) -> float:
        return self.fallback / self.total if self.total else 0.0

    @property
    def recent_fallback_share(self) -> float:
        return self.recent_fallback / self.recent if self.recent else 0.0

    @property
    def drift(self) -> bool:
        """The fallback share of the last day jumped against the share before it."""
        if self.recent < DRIFT_MIN_RECORDS:
            return False
        before = self.total - self.recent
        before_share = (self.fallback - self.recent_fallback) / before if before else 0.0
        return self.recent_fallback_share - before_share >= DRIFT_JUMP


@dataclass(frozen=True)
class SourceStatus:
    source: str
    state: SourceState
    last_run: Run | None
    last_success_at: str | None
    failed_runs_recent: int  # failed runs in the last 24 hours
    runs_total: int
    articles: ArticleCounts


def classify(summary: SourceSummary, *, stopped: bool) -> str:
    """The result of one crawl from its summary (see the module docstring)."""
    if stopped:
        return "interrupted"
    if summary.method is None and summary.errors:
        return "failed"  # every discovery method failed: the source is unreachable or broken
    stored = summary.new + summary.revised + summary.unchanged
    if summary.failed:
        return "partial" if stored else "failed"
    return "ok"


def backoff_delay(interval: float, failures: int, threshold: int, cap: float) -> float | None:
    """How long a failing source pauses: nothing below ``threshold`` consecutive failures, then
    twice the interval, doubling with each further failure, at most ``cap`` seconds."""
    if failures < threshold:
        return None
    exponent = min(failures - threshold + 1, 40)  # 2**40 intervals is past any cap
    return float(min(cap, interval * 2**exponent))


def stamp() -> str:
    """Now, UTC, to the millisecond: run durations are often under a second."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _row_run(row: sqlite3.Row) -> Run:
    return Run(**{key: row[key] for key in row.keys()})  # noqa: SIM118 (Row has no __iter__ of keys)


class ServiceState:
    """Reads and writes the service tables over one SQLite connection (one per thread)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.db.row_factory = sqlite3.Row

    def _write(self, sql: str, args: tuple[object, ...]) -> sqlite3.Cursor:
        try:
            return self.db.execute(sql, args)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot record the service state: {exc}") from exc

    def begin_run(self, source: str, started_at: str | None = None) -> int:
        cur = self._write(
            "INSERT INTO runs (source, pid, started_at) VALUES (?, ?, ?)",
            (source, os.getpid(), started_at or stamp()),
        )
        return int(cur.lastrowid or 0)

    def finish_run(
        self,
        run_id: int,
        result: str,
        summary: SourceSummary | None,
        error: str | None = None,
        finished_at: str | None = None,
    ) -> None:
        s = summary or SourceSummary(source="")
        self._write(
            "UPDATE runs SET finished_at = ?, result = ?, discovered = ?, new = ?, revised = ?, "
            "unchanged = ?, failed = ?, method = ?, error = ? WHERE id = ?",
            (
                finished_at or stamp(),
                result,
                s.discovered,
                s.new,
                s.revised,
                s.unchanged + s.known,
                s.failed,
                s.method,
                error or ("; ".join(s.errors[:3]) if result == "failed" and s.errors else None),
                run_id,
            ),
        )

    def close_stale_runs(self) -> int:
        """Runs a killed service left ``running``; only call while holding the serve lock."""
        cur = self._write(
            "UPDATE runs SET result = 'interrupted', finished_at = COALESCE(finished_at, ?), "
            "error = 'the service stopped during the run' WHERE result = 'running'",
            (now_iso(),),
        )
        return cur.rowcount

    def source_state(self, source: str) -> SourceState:
        row = self.db.execute(
            "SELECT * FROM service_sources WHERE source = ?", (source,)
        ).fetchone()
        if row is None:
            return SourceState(source=source)
        return SourceState(
            source=source,
            next_run_at=row["next_run_at"],
            consecutive_failures=row["consecutive_failures"],
            backoff_until=row["backoff_until"],
        )

    def save_source_state(self, state: SourceState) -> None:
        self._write(
            "INSERT INTO service_sources (source, next_run_at, consecutive_failures, "
            "backoff_until, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(source) DO UPDATE SET "
            "next_run_at = excluded.next_run_at, "
            "consecutive_failures = excluded.consecutive_failures, "
            "backoff_until = excluded.backoff_until, updated_at = excluded.updated_at",
            (
                state.source,
                state.next_run_at,
                state.consecutive_failures,
                state.backoff_until,
                now_iso(),
            ),
        )

    def runs(self, source: str, limit: int = 20) -> list[Run]:
        rows = self.db.execute(
            "SELECT * FROM runs WHERE source = ? ORDER BY id DESC LIMIT ?", (source, limit)
        )
        return [_row_run(r) for r in rows]

    def article_counts(self, source: str, now: datetime | None = None) -> ArticleCounts:
        now = now or datetime.now(UTC)
        today = now.astimezone(UTC).strftime("%Y-%m-%d")
        since = (now - RECENT).astimezone(UTC).isoformat(timespec="seconds")
        # first_fetched_at is written by now_iso() (UTC, +00:00), so text order is time order
        row = self.db.execute(
            "SELECT COUNT(*) AS total, "
            "COALESCE(SUM(parser LIKE 'fallback/%'), 0) AS fallback, "
            "COALESCE(SUM(first_fetched_at >= ?), 0) AS today, "
            "COALESCE(SUM(first_fetched_at >= ?), 0) AS recent, "
            "COALESCE(SUM(first_fetched_at >= ? AND parser LIKE 'fallback/%'), 0) AS recent_fb "
            "FROM articles WHERE source = ?",
            (today, since, since, source),
        ).fetchone()
        return ArticleCounts(
            total=row["total"],
            today=row["today"],
            fallback=row["fallback"],
            recent=row["recent"],
            recent_fallback=row["recent_fb"],
        )

    def status(self, source: str, now: datetime | None = None) -> SourceStatus:
        now = now or datetime.now(UTC)
        since = (now - RECENT).astimezone(UTC).isoformat(timespec="seconds")
        last = self.db.execute(
            "SELECT * FROM runs WHERE source = ? ORDER BY id DESC LIMIT 1", (source,)
        ).fetchone()
        agg = self.db.execute(
            "SELECT COUNT(*) AS total, "
            "MAX(CASE WHEN result IN ('ok', 'partial') THEN finished_at END) AS last_ok, "
            "COALESCE(SUM(result = 'failed' AND started_at >= ?), 0) AS failed_recent "
            "FROM runs WHERE source = ?",
            (since, source),
        ).fetchone()
        return SourceStatus(
            source=source,
            state=self.source_state(source),
            last_run=_row_run(last) if last is not None else None,
            last_success_at=agg["last_ok"],
            failed_runs_recent=agg["failed_recent"],
            runs_total=agg["total"],
            articles=self.article_counts(source, now),
        )


@dataclass(frozen=True)
class LockHolder:
    pid: int | None
    since: str | None


class ServeLock:
    """An exclusive ``flock`` on ``<archive>/serve.lock`` for the life of one ``scraper serve``.

    The kernel drops it when the process ends, however it ends, so a crash leaves no stale lock.
    ``crawl`` and ``fetch`` do not take it: they share the archive through SQLite transactions
    and their own WARC files.
    """

    def __init__(self, root: Path) -> None:
        self.path = Path(root) / LOCK_NAME
        self.fd: int | None = None

    def acquire(self, wait: float = 1.0) -> None:
        """Take the lock or raise ``StoreError`` naming the holder. ``wait`` rides out a
        ``scraper status`` that holds a shared lock for an instant while probing."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(
                f"cannot create the lock file: {exc.strerror}", where=str(self.path)
            ) from exc
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    holder = read_holder(self.path)
                    who = f"pid {holder.pid}" if holder.pid else "another process"
                    raise StoreError(
                        f"the archive is already served by {who}; stop it first or use "
                        "another archive",
                        where=str(self.path),
                    ) from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {now_iso()}\n".encode())
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, 0)
            os.close(self.fd)  # closing drops the flock
            self.fd = None


def read_holder(path: Path) -> LockHolder:
    try:
        pid_text, _, since = path.read_text().strip().partition(" ")
    except OSError:
        return LockHolder(None, None)
    return LockHolder(int(pid_text) if pid_text.isdigit() else None, since or None)


def serving(root: Path) -> LockHolder | None:
    """Who serves the archive at ``root`` now (``None``: no ``scraper serve`` is running)."""
    path = Path(root) / LOCK_NAME
    try:
        return read_holder(path) if flocks.held(path, shared=True) else None
    except OSError:
        return None
