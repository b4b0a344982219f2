"""The filters of the read commands (``search``, ``export``, ``stats``, ``reparse``): source,
publication window and section, turned into one SQL condition.

Dates are compared as instants, never as strings. ``--since`` and ``--until`` take a date
(``2023-04-19``) or a date and time with an optional offset (``2023-04-19T03:00Z``,
``2023-04-19 12:00+09:00``). A bare date is a day in Korea Standard Time, the time zone both
sites publish in: ``--since`` starts at 00:00 KST of that day, ``--until`` runs through the end
of that day. A time without an offset is KST too. ``--until`` with a time includes that instant.
Invalid values (``2023/04/01``, ``2023-02-30``) and an inverted range raise ``UsageError``.

Stored ``published_at`` values carry their own offset (normally +09:00). SQLite's
``strftime`` turns them into UTC for the exact comparison; a plain string range on the
column, one day wider than the window on each side, comes first so the index still narrows
the scan (a local time is at most 14 h away from UTC).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from scraper import sources
from scraper.dates import KST
from scraper.errors import UsageError

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?$"
)
FORMATS = "YYYY-MM-DD, or YYYY-MM-DDTHH:MM[:SS] with an optional offset (Z, +09:00)"
# SQLite's strftime keeps milliseconds; bounds are cut to the same precision
_SQL_INSTANT = "strftime('%Y-%m-%dT%H:%M:%f', {column})"
_MS = timedelta(milliseconds=1)


def parse_bound(text: str, *, end: bool = False, option: str = "--since") -> datetime:
    """An instant in UTC. With ``end``, a bare date gives the first instant after that KST day
    and a date-time the first millisecond after it (upper bounds are exclusive)."""
    value = text.strip()
    if not (_DATE.match(value) or _DATETIME.match(value)):
        raise UsageError(f"{option} takes {FORMATS}", where=f"{option} {text}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:  # 2023-02-30, 2023-13-45, 25:00
        raise UsageError(
            f"{option}: no such date or time: {exc}", where=f"{option} {text}"
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=KST)
    if end:
        parsed += timedelta(days=1) if _DATE.match(value) else _MS
    return parsed.astimezone(UTC)


def _sql_text(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}"


@dataclass(frozen=True)
class Window:
    """Published on or after ``since`` and before ``until`` (UTC instants; either open)."""

    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def parse(cls, since: str | None, until: str | None) -> Window:
        window = cls(
            parse_bound(since) if since else None,
            parse_bound(until, end=True, option="--until") if until else None,
        )
        if window.since and window.until and window.since >= window.until:
            raise UsageError(
                "--since is after --until: the range is empty", where=f"{since} .. {until}"
            )
        return window

    def sql(self, column: str) -> tuple[str, list[str]]:
        """`` AND …`` conditions on ``column`` (an ISO 8601 text column) and their arguments."""
        where, args = "", []
        instant = _SQL_INSTANT.format(column=column)
        if self.since:
            where += f" AND {column} >= ? AND {instant} >= ?"
            args += [(self.since - timedelta(days=1)).date().isoformat(), _sql_text(self.since)]
        if self.until:
            where += f" AND {column} < ? AND {instant} < ?"
            args += [(self.until + timedelta(days=2)).date().isoformat(), _sql_text(self.until)]
        return where, args


def section_names(section: str) -> list[str]:
    """The lower-case stored section names ``section`` stands for: itself, and what a source's
    section slug means (``nk`` → "north korea"; see ``Source.sections``)."""
    wanted = section.strip().lower()
    names = {wanted, wanted.replace("-", " ").replace("_", " ")}
    for source in sources.SOURCES:
        names.update(label.lower() for slug, label in source.sections if slug == wanted)
    return sorted(names)


def where(
    *,
    source: str | None = None,
    since: str | None = None,
    until: str | None = None,
    section: str | None = None,
    prefix: str = "",
) -> tuple[str, list[str]]:
    """`` AND …`` conditions for the articles table (aliased by ``prefix``, e.g. ``"a."``)."""
    sql, args = Window.parse(since, until).sql(f"{prefix}published_at")
    if source:
        sql += f" AND {prefix}source = ?"
        args.append(source)
    if section:
        names = section_names(section)
        sql += f" AND lower({prefix}section) IN ({', '.join('?' for _ in names)})"
        args += names
    return sql, args
