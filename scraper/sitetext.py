"""What the two sites *print*, whatever their markup: rules shared by layout parsers and fallback.

Paragraph-level rules (chrome lines, "(END)" and e-mail trailers, "(ATTN: …)" notes, "By …"
bylines, repeated captions) live in ``scraper.clean``; date formats in ``scraper.dates``. This
module holds the rest, each one a fact about the printed page rather than about class names:

- the site name a source appends to ``<title>`` / ``og:title`` ("… | Yonhap News Agency",
  "… - The Korea Herald"), built from each source's declared ``site_names``;
- the printed date line: "Published : Apr 19, 2023 - 15:51 Updated : …" (Korea Herald, every
  layout), "15:29 April 19, 2023" (Yonhap header), all in KST;
- a byline printed in the article header ("By Lee Haye-ah", KH-3) next to the dates;
- the date inside the article id (Yonhap ``AEN20230419005500325``, Korea Herald
  ``view.php?ud=20230419000612``), which a printed date must agree with.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from scraper import clean, dates, sources
from scraper.sources.base import Source

_LABEL = re.compile(r"Published|Updated|Posted|Modified", re.I)
# a byline inside a line of header text: "By Lee Haye-ah Published : …"
_BYLINE_IN_TEXT = re.compile(r"(?:^|\s)By\s+([A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){1,4})")
# a native id that starts with its publication day: AEN20230419005500325, 20230419000612
_ID_DATE = re.compile(r"^(?:[A-Z]{2,4})?((?:19|20)\d{2})(\d{2})(\d{2})\d{3,}$")


def site_suffix(registry: tuple[Source, ...]) -> re.Pattern[str]:
    """ " | Name" / " - Name" at the end of a title, for every registered source's site names
    ("… | Yonhap News Agency", "… - The Korea Herald"); a pattern that never matches when no
    source declares one."""
    names = [re.escape(name) for source in registry for name in source.site_names]
    if not names:
        return re.compile(r"(?!)")
    return re.compile(r"\s*[|-]\s*(?:" + "|".join(names) + r")\s*$", re.I)


def strip_site_name(title: str) -> str:
    return sources.derived(site_suffix).sub("", title).strip()


def id_date(native_id: str) -> date | None:
    """The publication day encoded in an article id, when the id has one."""
    m = _ID_DATE.match(native_id)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def agrees_with_id(iso: str | None, day: date | None) -> bool:
    """A printed date is believable when it falls on the id's day (±1 for late updates)."""
    if iso is None:
        return False
    if day is None:
        return True
    got = datetime.fromisoformat(iso).astimezone(dates.KST).date()
    return abs((got - day).days) <= 1


def dates_in_line(text: str) -> tuple[str | None, str | None]:
    """(published, updated) from one printed line: "Published : … Updated : …", "15:29 April
    19, 2023"; a line labelled only "Updated" gives the updated time alone."""
    if len(text) > 300:  # a date line is short; a paragraph that mentions a date is not one
        return None, None
    low = text.lower()
    if "updated" in low and "published" not in low and "posted" not in low:
        return None, dates.parse_human(text)
    return dates.published_updated(text)


def byline_in_line(text: str) -> tuple[str, ...]:
    """The people of a "By …" byline printed inside a header line, else nothing."""
    if len(text) > 300:
        return ()
    if (names := clean.parse_byline(text)) is not None:
        return tuple(names)
    m = _BYLINE_IN_TEXT.search(text)
    if not m:
        return ()
    words = m.group(1).split()
    # "By Lee Haye-ah Published" → drop trailing label words the regex swallowed
    while words and _LABEL.fullmatch(words[-1]):
        words.pop()
    return clean.people([" ".join(words)])
