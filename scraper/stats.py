"""``scraper stats``: what the archive holds, per source — articles per publication day, the
share extracted by the generic fallback (layout drift shows up here), fields missing, and URLs
that failed. All from the index (no article file is opened), so it stays fast at any size."""

from __future__ import annotations

from dataclasses import dataclass, field

from scraper.store import Archive

# index columns whose absence is worth counting, and how "missing" reads in SQL
MISSING_FIELDS: tuple[tuple[str, str], ...] = (
    ("published_at", "published_at IS NULL"),
    ("updated_at", "updated_at IS NULL"),
    ("section", "section IS NULL OR section = ''"),
    ("authors", "n_authors = 0"),
    ("images", "n_images = 0"),
)


@dataclass(frozen=True)
class SourceStats:
    source: str
    articles: int
    revised: int  # articles with more than one revision
    fallback: int  # extracted by the generic fallback parser
    parsers: dict[str, int]
    missing: dict[str, int]
    failed_urls: int
    failures: dict[str, int]  # error message → count (the most common few)
    by_day: dict[str, int]  # YYYY-MM-DD (publication, as printed) → articles

    @property
    def fallback_share(self) -> float:
        return self.fallback / self.articles if self.articles else 0.0


@dataclass(frozen=True)
class ArchiveStats:
    sources: list[SourceStats] = field(default_factory=list)


def collect(archive: Archive, *, source: str | None = None, days: int = 14) -> ArchiveStats:
    """Per-source figures; ``by_day`` holds the ``days`` most recent publication days."""
    db = archive.db
    names = [
        r[0]
        for r in db.execute(
            "SELECT source FROM articles UNION SELECT source FROM urls WHERE kind = 'article' "
            "ORDER BY 1"
        )
        if source is None or r[0] == source
    ]
    result = []
    for name in names:
        missing_sql = ", ".join(
            f"sum(CASE WHEN {cond} THEN 1 ELSE 0 END)" for _, cond in MISSING_FIELDS
        )
        row = db.execute(
            "SELECT count(*), sum(revision > 1), sum(parser LIKE 'fallback/%'), "
            f"{missing_sql} FROM articles WHERE source = ?",
            (name,),
        ).fetchone()
        parsers = dict(
            db.execute(
                "SELECT parser, count(*) FROM articles WHERE source = ? GROUP BY parser "
                "ORDER BY 2 DESC",
                (name,),
            ).fetchall()
        )
        by_day = dict(
            db.execute(
                "SELECT substr(published_at, 1, 10) AS day, count(*) FROM articles "
                "WHERE source = ? AND published_at IS NOT NULL GROUP BY day "
                "ORDER BY day DESC LIMIT ?",
                (name, days),
            ).fetchall()
        )
        failures = dict(
            db.execute(
                "SELECT coalesce(error, 'unknown'), count(*) FROM urls "
                "WHERE source = ? AND state = 'failed' GROUP BY 1 ORDER BY 2 DESC LIMIT 5",
                (name,),
            ).fetchall()
        )
        failed = db.execute(
            "SELECT count(*) FROM urls WHERE source = ? AND state = 'failed'", (name,)
        ).fetchone()[0]
        result.append(
            SourceStats(
                source=name,
                articles=row[0],
                revised=row[1] or 0,
                fallback=row[2] or 0,
                parsers=parsers,
                missing={
                    label: value or 0
                    for (label, _), value in zip(MISSING_FIELDS, row[3:], strict=True)
                },
                failed_urls=failed,
                failures=failures,
                by_day=dict(sorted(by_day.items())),
            )
        )
    return ArchiveStats(sources=result)


def render(stats: ArchiveStats) -> str:
    """Plain text for a terminal."""
    if not stats.sources:
        return "the archive is empty"
    out = []
    for s in stats.sources:
        out.append(
            f"{s.source}: {s.articles} articles, {s.revised} revised, fallback parser "
            f"{s.fallback} ({s.fallback_share:.1%}), failed URLs {s.failed_urls}"
        )
        out.append("  parsers: " + (", ".join(f"{k} {v}" for k, v in s.parsers.items()) or "-"))
        out.append("  missing: " + ", ".join(f"{k} {v}" for k, v in s.missing.items()))
        for message, count in s.failures.items():
            out.append(f"  failure x{count}: {message}")
        for day, count in s.by_day.items():
            out.append(f"  {day}  {count:6d}")
    return "\n".join(out)
