"""``scraper stats``: what the archive holds, per source — articles per publication day, the
share extracted by the generic fallback (layout drift shows up here), fields missing, and URLs
that failed. All from the index (no article file is opened), so it stays fast at any size."""

from __future__ import annotations

from dataclasses import dataclass, field

from scraper import failures as failed_urls
from scraper import filters
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
    failures: dict[str, int]  # reason (the error without its URL) → count, most common few
    by_day: dict[str, int]  # YYYY-MM-DD (publication, as printed) → articles
    # article URLs not archived, by state: failed / rejected / abandoned / gone (scraper.failures)
    url_states: dict[str, int] = field(default_factory=dict)
    failure_examples: dict[str, str] = field(default_factory=dict)  # reason → one failed URL

    @property
    def fallback_share(self) -> float:
        return self.fallback / self.articles if self.articles else 0.0


@dataclass(frozen=True)
class ArchiveStats:
    sources: list[SourceStats] = field(default_factory=list)


def collect(
    archive: Archive,
    *,
    source: str | None = None,
    days: int = 14,
    since: str | None = None,
    until: str | None = None,
) -> ArchiveStats:
    """Per-source figures; ``by_day`` holds the ``days`` most recent publication days.
    ``since``/``until`` limit the articles counted by publication (see ``scraper.filters``);
    failed URLs have no publication date and are always counted.

    Three queries: the articles table once, the (source, published_at) index once, the
    failed URLs."""
    window = filters.where(since=since, until=until)
    totals, parsers = _article_counts(archive, window)
    by_day = _by_day(archive, window, days)
    failed = _failed(archive)
    url_states = failed_urls.counts(archive)
    names = sorted(set(totals) | set(failed.counts) | set(url_states))
    result = []
    for name in names:
        if source is not None and name != source:
            continue
        row = totals.get(name) or [0] * (3 + len(MISSING_FIELDS))
        failures = failed.top.get(name, {})
        result.append(
            SourceStats(
                source=name,
                articles=row[0],
                revised=row[1],
                fallback=row[2],
                parsers=parsers.get(name, {}),
                missing={
                    label: value for (label, _), value in zip(MISSING_FIELDS, row[3:], strict=True)
                },
                failed_urls=failed.counts.get(name, 0),
                failures=failures,
                by_day=dict(sorted(by_day.get(name, {}).items())),
                url_states=url_states.get(name, dict.fromkeys(failed_urls.STATES, 0)),
                failure_examples={why: failed.examples[name][why] for why in failures},
            )
        )
    return ArchiveStats(sources=result)


def _article_counts(
    archive: Archive, window: tuple[str, list[str]]
) -> tuple[dict[str, list[int]], dict[str, dict[str, int]]]:
    """Per source: [articles, revised, fallback, *missing fields]; and articles per parser."""
    conditions, args = window
    missing_sql = ", ".join(
        f"sum(CASE WHEN {cond} THEN 1 ELSE 0 END)" for _, cond in MISSING_FIELDS
    )
    # one pass over the table (NOT INDEXED: walking the source index and looking each row up
    # is several times slower than a plain scan), grouped by source and parser
    totals: dict[str, list[int]] = {}
    parsers: dict[str, dict[str, int]] = {}
    for name, parser, *counts in archive.db.execute(
        "SELECT source, parser, count(*), sum(revision > 1), "
        f"{missing_sql} FROM articles NOT INDEXED WHERE 1=1{conditions} "
        "GROUP BY source, parser ORDER BY 3 DESC",
        args,
    ):
        parsers.setdefault(name, {})[parser] = counts[0]
        into = totals.setdefault(name, [0] * (3 + len(MISSING_FIELDS)))
        fallback = counts[0] if parser.startswith("fallback/") else 0
        for i, value in enumerate((counts[0], counts[1], fallback, *counts[2:])):
            into[i] += value or 0
    return totals, parsers


def _by_day(
    archive: Archive, window: tuple[str, list[str]], days: int
) -> dict[str, dict[str, int]]:
    """Per source, articles per publication day, the ``days`` most recent days."""
    conditions, args = window
    by_day: dict[str, dict[str, int]] = {}
    for name, day, count in archive.db.execute(
        "SELECT source, substr(published_at, 1, 10) AS day, count(*) FROM articles "
        f"WHERE published_at IS NOT NULL{conditions} GROUP BY source, day "
        "ORDER BY source, day DESC",
        args,
    ):
        if len(by_day.setdefault(name, {})) < days:
            by_day[name][day] = count
    return by_day


@dataclass(frozen=True)
class _Failed:
    """The failed URLs, per source."""

    counts: dict[str, int]
    top: dict[str, dict[str, int]]  # the five most common reasons → count
    examples: dict[str, dict[str, str]]  # reason → one failed URL


def _failed(archive: Archive) -> _Failed:
    counts: dict[str, int] = {}
    reasons: dict[str, dict[str, int]] = {}
    examples: dict[str, dict[str, str]] = {}
    for name, error, count, url in archive.db.execute(
        "SELECT source, coalesce(error, 'unknown'), count(*), min(url) FROM urls "
        "WHERE state = 'failed' GROUP BY source, 2"
    ):
        counts[name] = counts.get(name, 0) + count
        why = reason(error, url)
        reasons.setdefault(name, {})[why] = reasons.get(name, {}).get(why, 0) + count
        examples.setdefault(name, {}).setdefault(why, url)
    top = {
        name: dict(sorted(per_reason.items(), key=lambda kv: (-kv[1], kv[0]))[:5])
        for name, per_reason in reasons.items()
    }
    return _Failed(counts, top, examples)


def reason(error: str, url: str) -> str:
    """What went wrong, without where: errors are stored as ``<what> (<url>)`` (see
    ``scraper/errors.py``), so grouping the full messages would give one group per URL."""
    for where in (f" ({url})", " (http"):
        if error.endswith(")") and where in error:
            return error.rsplit(where, 1)[0]
    return error


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
        out.append("  article URLs: " + failed_urls.render_counts(s.url_states))
        for message, count in s.failures.items():
            example = s.failure_examples.get(message)
            out.append(f"  failure x{count}: {message}" + (f" (e.g. {example})" if example else ""))
        for day, count in s.by_day.items():
            out.append(f"  {day}  {count:6d}")
    return "\n".join(out)
