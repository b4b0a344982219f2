"""The CDX server API of Wayback-style archives: the query we send and the two answers we read.

Query (the Internet Archive's documented parameters; pywb accepts the same names):
``url=<prefix>&matchType=prefix&from=<14 digits>&to=<14 digits>&output=json``
``&filter=statuscode:200&filter=mimetype:text/html&collapse=digest``, and for paging
``&limit=N&showResumeKey=true[&resumeKey=K]``. The archive's filter is a regex (IA) or a
substring (pywb); both match these two, and every row is checked again here anyway.

Answers:
  * Internet Archive, ``output=json``: one JSON array of rows, the first row the field names
    (``urlkey, timestamp, original, mimetype, statuscode, digest, length``); with
    ``showResumeKey=true`` and more rows to come, an empty row and then ``[resumeKey]``.
  * pywb, ``output=json``: one JSON object per line (``url``, ``timestamp``, ``mime``,
    ``status``, ``digest`` …), no resume key (a self-hosted index answers in one go).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlencode

from scraper.errors import FetchError


@dataclass(frozen=True)
class CdxRow:
    original: str  # the URL as captured
    timestamp: str  # 14 digits, UTC
    status: str
    mime: str
    digest: str


@dataclass(frozen=True)
class CdxPage:
    rows: tuple[CdxRow, ...]
    resume_key: str | None  # None: the listing is complete


def query_url(
    cdx_url: str,
    prefix: str,
    since: str,
    until: str,
    *,
    limit: int,
    resume_key: str | None = None,
) -> str:
    params: list[tuple[str, str]] = [
        ("url", prefix),
        ("matchType", "prefix"),
        ("from", since),
        ("to", until),
        ("output", "json"),
        ("filter", "statuscode:200"),
        ("filter", "mimetype:text/html"),
        ("collapse", "digest"),
        ("limit", str(limit)),
        ("showResumeKey", "true"),
    ]
    if resume_key:
        params.append(("resumeKey", resume_key))
    return f"{cdx_url}?{urlencode(params)}"


_FIELDS = {
    "original": ("original", "url"),
    "timestamp": ("timestamp",),
    "status": ("statuscode", "status"),
    "mime": ("mimetype", "mime"),
    "digest": ("digest",),
}


def _row(fields: dict[str, object]) -> CdxRow | None:
    values = {}
    for name, keys in _FIELDS.items():
        value = next((fields[k] for k in keys if k in fields), None)
        values[name] = "" if value is None else str(value)
    if not values["original"] or len(values["timestamp"]) < 14:
        return None
    return CdxRow(**values)


def parse(text: str, where: str) -> CdxPage:
    """Either answer shape → rows and the resume key; ``FetchError`` for anything else."""
    body = text.strip()
    if not body:
        return CdxPage(rows=(), resume_key=None)
    try:
        if body.startswith("["):
            return _parse_ia(json.loads(body))
        rows = [_row(json.loads(line)) for line in body.splitlines() if line.strip()]
    except (ValueError, TypeError, AttributeError) as exc:
        raise FetchError(f"not a CDX JSON answer: {exc}", url=where) from exc
    return CdxPage(rows=tuple(r for r in rows if r is not None), resume_key=None)


def _parse_ia(data: list[list[str]]) -> CdxPage:
    if not data:
        return CdxPage(rows=(), resume_key=None)
    header, rest = data[0], data[1:]
    rows: list[CdxRow] = []
    resume = None
    for i, values in enumerate(rest):
        if not values:  # the separator before the resume key
            tail = rest[i + 1 : i + 2]
            resume = tail[0][0] if tail and tail[0] else None
            break
        row = _row(dict(zip(header, values, strict=False)))
        if row is not None:
            rows.append(row)
    return CdxPage(rows=tuple(rows), resume_key=resume)
