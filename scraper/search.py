"""Full-text search over title and body (SQLite FTS5, bm25 ranking, title weighted up).

Query syntax: words are all required (AND); ``"a phrase"`` matches words in order; ``OR`` and
``NOT`` between terms work as in FTS5; ``word*`` is a prefix. Anything else is quoted, so
punctuation in a query never becomes an FTS5 syntax error.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

from scraper.errors import StoreError
from scraper.store import Archive

# bm25 column weights: (title, body). A hit in the headline counts five times one in the text.
TITLE_WEIGHT = 5.0
BODY_WEIGHT = 1.0
_TOKEN = re.compile(r'"[^"]*"|\S+')
_OPERATORS = frozenset({"OR", "NOT", "AND"})


@dataclass(frozen=True)
class Hit:
    id: str
    published_at: str | None
    title: str
    section: str | None
    snippet: str
    score: float


def fts_query(text: str) -> str:
    """The user's query as a safe FTS5 expression."""
    parts = []
    for token in _TOKEN.findall(text):
        if token in _OPERATORS:
            parts.append(token)
            continue
        prefix = token.endswith("*") and not token.startswith('"')
        word = token.rstrip("*") if prefix else token.strip('"')
        if not word.strip():
            continue
        parts.append('"' + word.replace('"', '""') + '"' + ("*" if prefix else ""))
    while parts and parts[0] in _OPERATORS:
        parts.pop(0)
    while parts and parts[-1] in _OPERATORS:
        parts.pop()
    if not parts:
        raise StoreError("empty search query", where=text)
    return " ".join(parts)


def search(
    archive: Archive,
    query: str,
    *,
    source: str | None = None,
    since: str | None = None,
    until: str | None = None,
    section: str | None = None,
    limit: int = 20,
) -> list[Hit]:
    """Best matches first (bm25), filtered by source, publication date and section."""
    sql = (
        "SELECT a.id, a.published_at, a.title, a.section, "
        "snippet(articles_fts, 1, '[', ']', ' … ', 12) AS snip, "
        f"bm25(articles_fts, {TITLE_WEIGHT}, {BODY_WEIGHT}) AS score "
        "FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid "
        "WHERE articles_fts MATCH ?"
    )
    args: list[object] = [fts_query(query)]
    for clause, value in (
        (" AND a.source = ?", source),
        (" AND a.published_at >= ?", since),
        (" AND a.published_at < ?", until),
        (" AND a.section = ?", section),
    ):
        if value:
            sql += clause
            args.append(value)
    sql += " ORDER BY score LIMIT ?"
    args.append(limit)
    try:
        rows = archive.db.execute(sql, args).fetchall()
    except sqlite3.OperationalError as exc:
        raise StoreError(f"search failed: {exc}", where=query) from exc
    return [
        Hit(
            id=r["id"],
            published_at=r["published_at"],
            title=r["title"],
            section=r["section"],
            snippet=r["snip"],
            score=r["score"],
        )
        for r in rows
    ]
