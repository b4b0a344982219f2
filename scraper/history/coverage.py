"""``scraper coverage``: per source and publication month, how much the archive holds.

A month's figures: articles, the share of each parser (``fallback/…`` included: an old layout
that no site parser knows lands there and is visible at once), and the days of the month with
no article. Months are those of ``published_at`` as printed (KST for both sources); the
current month counts its days up to today only. One query over the index.
"""

from __future__ import annotations

import calendar
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from scraper import filters
from scraper.dates import KST
from scraper.store import Archive


@dataclass(frozen=True)
class Month:
    source: str
    month: str  # YYYY-MM
    articles: int
    parsers: dict[str, int]
    empty_days: tuple[str, ...]  # YYYY-MM-DD without an article

    def share(self, parser: str) -> float:
        return self.parsers.get(parser, 0) / self.articles if self.articles else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["empty_days"] = list(self.empty_days)
        data["shares"] = {p: round(self.share(p), 4) for p in self.parsers}
        return data


def collect(
    archive: Archive,
    *,
    source: str | None = None,
    since: str | None = None,
    until: str | None = None,
    today: str | None = None,
) -> list[Month]:
    where, args = filters.where(source=source, since=since, until=until)
    rows = archive.db.execute(
        "SELECT source, substr(published_at, 1, 10) AS day, parser, count(*) FROM articles "
        f"WHERE published_at IS NOT NULL{where} GROUP BY source, day, parser",
        args,
    ).fetchall()
    today = today or datetime.now(KST).strftime("%Y-%m-%d")
    counts: dict[tuple[str, str], dict[str, int]] = {}
    days: dict[tuple[str, str], set[str]] = {}
    for name, day, parser, count in rows:
        key = (name, day[:7])
        per = counts.setdefault(key, {})
        per[parser] = per.get(parser, 0) + count
        days.setdefault(key, set()).add(day)
    months = []
    for (name, month), parsers in sorted(counts.items()):
        year, mon = int(month[:4]), int(month[5:7])
        every = [f"{month}-{d:02d}" for d in range(1, calendar.monthrange(year, mon)[1] + 1)]
        empty = tuple(d for d in every if d not in days[(name, month)] and d <= today)
        months.append(
            Month(
                source=name,
                month=month,
                articles=sum(parsers.values()),
                parsers=dict(sorted(parsers.items(), key=lambda kv: -kv[1])),
                empty_days=empty,
            )
        )
    return months


def render(months: list[Month]) -> str:
    if not months:
        return "no articles"
    out = []
    for m in months:
        shares = ", ".join(f"{p} {m.share(p):.0%}" for p in m.parsers)
        empty = f"{len(m.empty_days)} days without articles"
        if m.empty_days and len(m.empty_days) <= 5:
            empty += " (" + ", ".join(d[8:] for d in m.empty_days) + ")"
        out.append(f"{m.source}  {m.month}  {m.articles:6d}  {shares}; {empty}")
    return "\n".join(out)
