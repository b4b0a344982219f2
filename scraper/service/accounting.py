"""What the service keeps of each finished run: the source's failure streak, the live figures
the health endpoint shows (``Live``), and the one log line per run (``log_run``)."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from scraper.crawl import SourceSummary
from scraper.drift import Drift
from scraper.health import SourceHealth
from scraper.state import ArticleCounts

# the run lines are documented (docs/operations.md) under the name of the package
log = logging.getLogger("scraper.service")


def iso(when: datetime | None) -> str | None:
    # milliseconds, like the run stamps, so the two compare as text
    return when.astimezone(UTC).isoformat(timespec="milliseconds") if when else None


@dataclass(frozen=True)
class RunOutcome:
    """How one run of a source ended."""

    source: str
    result: str  # ok | partial | failed | interrupted (scraper.state.classify)
    summary: SourceSummary | None  # None when the crawl never got to count anything
    duration: float  # seconds
    error: str | None = None


def failure_streak(failures: int, result: str) -> int:
    """The source's failed runs in a row after a run that ended with ``result`` (an
    interrupted run neither breaks nor extends the streak)."""
    if result == "failed":
        return failures + 1
    if result in ("ok", "partial"):
        return 0
    return failures


@dataclass
class Live:
    """Per-source figures kept in memory for the health endpoint."""

    source: str
    consecutive_failures: int = 0
    failing: bool = False
    backoff_until: float | None = None
    last_run_ts: float | None = None
    last_success_ts: float | None = None
    last_duration_s: float | None = None
    next_run_ts: float | None = None
    articles: ArticleCounts | None = None
    drift: Drift | None = None
    runs: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)

    def record(
        self,
        outcome: RunOutcome,
        failures: int,
        backoff_until: datetime | None,
        next_run: datetime | None,
        counts: ArticleCounts | None,
        now: float,
    ) -> None:
        """Take in a finished run; the caller holds the service's lock, so a snapshot never
        sees half an update."""
        result, summary = outcome.result, outcome.summary
        self.consecutive_failures = failures
        self.runs[result] += 1
        if summary is not None:
            self.outcomes["new"] += summary.new
            self.outcomes["revised"] += summary.revised
            self.outcomes["unchanged"] += summary.unchanged + summary.known
            self.outcomes["failed"] += summary.failed
        if result != "interrupted":
            self.failing = result == "failed"
            self.last_run_ts = now
            self.last_duration_s = outcome.duration
        if result in ("ok", "partial"):
            self.last_success_ts = now
        self.backoff_until = backoff_until.timestamp() if backoff_until else None
        self.next_run_ts = next_run.timestamp() if next_run else None
        if counts is not None:
            self.articles = counts

    def health(self, now: float, overdue: bool) -> SourceHealth:
        return SourceHealth(
            source=self.source,
            failing=self.failing,
            overdue=overdue,
            backing_off=self.backoff_until is not None and self.backoff_until > now,
            consecutive_failures=self.consecutive_failures,
            last_run_ts=self.last_run_ts,
            last_success_ts=self.last_success_ts,
            last_duration_s=self.last_duration_s,
            next_run_ts=self.next_run_ts,
            articles_total=self.articles.total if self.articles else None,
            fallback_total=self.articles.fallback if self.articles else None,
            drift_share=self.drift.share if self.drift else None,
            drift_alarm=self.drift.alarm if self.drift else False,
            runs=dict(self.runs),
            articles=dict(self.outcomes),
        )


def log_run(
    outcome: RunOutcome,
    failures: int,
    next_run: datetime | None,
    backoff_until: datetime | None,
) -> None:
    """The run's one log line, its figures also as structured ``extra`` fields."""
    name, result, summary, error = outcome.source, outcome.result, outcome.summary, outcome.error
    s = summary or SourceSummary(source=name)
    counts = s.line().split(": ", 1)[1] if summary is not None else "no counts"
    detail = f"; {error}" if error else ""
    if backoff_until is not None:
        detail += f"; {failures} failures in a row, paused until {iso(backoff_until)}"
    extra = {
        "event": "crawl",
        "source": name,
        "result": result,
        "discovered": s.discovered,
        "new": s.new,
        "revised": s.revised,
        "unchanged": s.unchanged + s.known,
        "failed": s.failed,
        "skipped_robots": s.skipped_robots,
        "resumed": s.resumed,
        "feeds_not_modified": s.not_modified,
        "method": s.method,
        "duration_s": round(outcome.duration, 3),
        "consecutive_failures": failures,
        "next_run": iso(next_run),
        "error": error,
    }
    level = logging.WARNING if result == "failed" else logging.INFO
    log.log(
        level,
        "crawl %s %s in %.1fs: %s%s; next run %s",
        name,
        result,
        outcome.duration,
        counts,
        detail,
        iso(next_run) or "none",
        extra=extra,
    )
