"""The layout-drift alarm: the share of a source's last N new articles that needed the fallback.

A redesign shows up as records stamped ``fallback/<source>`` (docs/extraction.md): no layout
parser recognised the page. Per source, the alarm is on when at least ``threshold`` of the last
``window`` articles (by first archive time) came from the fallback, over at least
``MIN_SAMPLE`` articles. ``scraper status`` shows it, ``/metrics`` exports the share as a gauge,
``/healthz`` answers ``"status": "degraded"`` (still HTTP 200: the service works, its records
are just less exact), and the service logs one warning when a source crosses the threshold
(and one info line when it clears). ``scraper reparse --parser fallback`` re-extracts those
records after a parser for the new layout is added, which clears the alarm.

Config (``[service]`` in config/scraper.toml): ``drift_window`` (N, default 50) and
``drift_threshold`` (a share, default 0.5).
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass

log = logging.getLogger(__name__)

DEFAULT_WINDOW = 50
DEFAULT_THRESHOLD = 0.5
# below this many articles a share says nothing (two fallbacks of three is not a redesign)
MIN_SAMPLE = 5


@dataclass(frozen=True)
class Drift:
    source: str
    window: int  # N asked for
    articles: int  # articles actually in the window (fewer when the archive is young)
    fallback: int  # of which the fallback extracted
    threshold: float

    @property
    def share(self) -> float:
        return self.fallback / self.articles if self.articles else 0.0

    @property
    def alarm(self) -> bool:
        return self.articles >= min(MIN_SAMPLE, self.window) and self.share >= self.threshold

    def to_dict(self) -> dict[str, object]:
        return {
            "window": self.window,
            "articles": self.articles,
            "fallback": self.fallback,
            "share": round(self.share, 4),
            "threshold": self.threshold,
            "alarm": self.alarm,
        }


def measure(
    db: sqlite3.Connection,
    source: str,
    window: int = DEFAULT_WINDOW,
    threshold: float = DEFAULT_THRESHOLD,
) -> Drift:
    """The fallback share of ``source``'s last ``window`` new articles."""
    row = db.execute(
        "SELECT COUNT(*), COALESCE(SUM(parser LIKE 'fallback/%'), 0) FROM ("
        "SELECT parser FROM articles WHERE source = ? "
        "ORDER BY first_fetched_at DESC LIMIT ?)",
        (source, window),
    ).fetchone()
    return Drift(source, window, int(row[0]), int(row[1]), threshold)


class DriftWatch:
    """Logs once when a source's alarm turns on, and once when it turns off again."""

    def __init__(self) -> None:
        self._on: dict[str, bool] = {}

    def update(self, drift: Drift) -> bool:
        """Record the latest measure; True when this call logged a crossing."""
        was = self._on.get(drift.source, False)
        self._on[drift.source] = drift.alarm
        if drift.alarm and not was:
            log.warning(
                "layout drift on %s: %d of the last %d new articles needed the fallback parser "
                "(%.0f%%, threshold %.0f%%); the site may have a new layout: add a parser "
                "(docs/extraction.md), then run `scraper reparse --parser fallback`",
                drift.source,
                drift.fallback,
                drift.articles,
                100 * drift.share,
                100 * drift.threshold,
            )
            return True
        if was and not drift.alarm:
            log.info(
                "layout drift on %s cleared: %d of the last %d new articles from the fallback",
                drift.source,
                drift.fallback,
                drift.articles,
            )
            return True
        return False
