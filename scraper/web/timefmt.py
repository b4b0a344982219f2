"""Times for readers: publication times in Korea Standard Time with the offset shown, capture
times in UTC. A stored value that does not parse is shown as stored."""

from __future__ import annotations

from datetime import UTC, datetime

from scraper.dates import KST


def _parse(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=KST)


def kst(value: str | None) -> str:
    """``2023-04-19T05:02:00+00:00`` → ``2023-04-19 14:02 KST (+09:00)``."""
    if not value:
        return "—"
    parsed = _parse(value)
    if parsed is None:
        return value
    return parsed.astimezone(KST).strftime("%Y-%m-%d %H:%M KST (+09:00)")


def utc(value: str | None) -> str:
    """``2026-01-01T09:00:00+09:00`` → ``2026-01-01 00:00:00 UTC``."""
    if not value:
        return "—"
    parsed = _parse(value)
    if parsed is None:
        return value
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
