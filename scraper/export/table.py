"""The CSV layout of the article record: every field of the record, in record order; lists
(``authors``, ``tags``, ``urls``, ``images``) as one JSON array per cell; a null is an empty
unquoted cell and an empty string a quoted ``""``, so the two stay apart (duckdb's
``read_csv(..., allow_quoted_nulls = false)`` reads them back as NULL and ``''``)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TextIO

from scraper.models import Article

CSV_FIELDS: tuple[str, ...] = tuple(Article.__dataclass_fields__)
LIST_FIELDS = frozenset({"authors", "tags", "urls", "images"})


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace('"', '""') + '"'


def write_csv(out: TextIO, articles: Iterable[Article]) -> int:
    """RFC 4180 CSV written by hand: the csv module (before Python 3.12's QUOTE_NOTNULL)
    cannot quote every string yet leave a null bare."""
    out.write(",".join(_cell(name) for name in CSV_FIELDS) + "\r\n")
    count = 0
    for article in articles:
        row = article.to_dict()
        for name in LIST_FIELDS:
            row[name] = json.dumps(row[name], ensure_ascii=False)
        out.write(",".join(_cell(row[name]) for name in CSV_FIELDS) + "\r\n")
        count += 1
    return count
