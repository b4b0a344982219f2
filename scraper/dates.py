"""Dates as the two sites print them → ISO 8601 with an offset (KST when none is given)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

KST = timezone(timedelta(hours=9), "KST")

_MONTHS = {
    m: i
    for i, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for m in names
}

# "Apr 19, 2023 - 15:13", "Nov. 6, 2024 - 15:03" (Korea Herald KH-1/KH-2 "Published : …")
_MDY_HM = re.compile(r"([A-Za-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})\s*-?\s*(\d{1,2}):(\d{2})")
# "11:12 April 19, 2023" (Yonhap Y-1 header)
_HM_MDY = re.compile(r"(\d{1,2}):(\d{2})\s+([A-Za-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})")
# "2023.04.19 14:02" (Korea Herald KH-3)
_YMD_HM = re.compile(r"(\d{4})[./-](\d{1,2})[./-](\d{1,2})\.?\s+(\d{1,2}):(\d{2})")


def iso(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=KST)
    return dt.isoformat(timespec="seconds")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _build(year: int, month: int, day: int, hour: int, minute: int) -> str | None:
    try:
        return iso(datetime(year, month, day, hour, minute, tzinfo=KST))
    except ValueError:
        return None


def parse_iso(value: str | None) -> str | None:
    """ISO 8601 in, normalized ISO 8601 (with offset; KST if missing) out."""
    if not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        return iso(datetime.fromisoformat(text))
    except ValueError:
        return parse_human(text)


def parse_human(text: str | None) -> str | None:
    """The first date-and-time printed in ``text`` in any of the sites' formats (KST)."""
    if not text:
        return None
    if m := _YMD_HM.search(text):
        year, mo, day, hour, minute = (int(g) for g in m.groups())
        return _build(year, mo, day, hour, minute)
    if m := _HM_MDY.search(text):
        hh, mm, mon, dd, yy = m.groups()
        if (month := _MONTHS.get(mon.lower())) is not None:
            return _build(int(yy), month, int(dd), int(hh), int(mm))
    if m := _MDY_HM.search(text):
        mon, dd, yy, hh, mm = m.groups()
        if (month := _MONTHS.get(mon.lower())) is not None:
            return _build(int(yy), month, int(dd), int(hh), int(mm))
    return None


def published_updated(text: str) -> tuple[str | None, str | None]:
    """Split "Published : … Updated : …" into its two times."""
    lower = text.lower()
    pos = lower.find("updated")
    if pos < 0:
        return parse_human(text), None
    return parse_human(text[:pos]), parse_human(text[pos:])
