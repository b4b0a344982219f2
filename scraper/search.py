"""Full-text search over title and body (SQLite FTS5, bm25 ranking, title weighted up).

Query syntax: words are all required (AND); ``"a phrase"`` matches words in order; ``OR`` and
``NOT`` between terms work as in FTS5; ``word*`` is a prefix; ``title:word`` or
``body:"a phrase"`` looks in that field only. Anything else is quoted, so punctuation in a query
never becomes an FTS5 syntax error; where the query had to be read differently from what it says
(an unbalanced quote, an unknown field, an operator with nothing on one side), ``read_query``
says so in its notes, which the CLI prints.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

from scraper import filters
from scraper.errors import StoreError
from scraper.store import Archive

# bm25 column weights: (title, body). A hit in the headline counts five times one in the text.
TITLE_WEIGHT = 5.0
BODY_WEIGHT = 1.0
# Ranking cost grows with the number of matches (bm25 is computed for each). A word found in
# most of the archive ("Korea") says little about relevance anyway, so an unfiltered query with
# more matches than this ranks only the most recently stored ones: news readers want recent.
RANK_WINDOW = 20_000
_TOKEN = re.compile(r'(?:(?:title|body):)?"[^"]*"|\S+')
_OPERATORS = frozenset({"OR", "NOT", "AND"})
COLUMNS = ("title", "body")  # the FTS5 table's columns, usable as ``title:word``
_FIELD = re.compile(r"([A-Za-z_]+):(?!//)(.+)")  # not http://…


@dataclass(frozen=True)
class Hit:
    id: str
    published_at: str | None
    title: str
    section: str | None
    snippet: str
    score: float


@dataclass(frozen=True)
class Reading:
    """How a query was read: the FTS5 expression, and a note for each liberty taken."""

    expression: str
    notes: tuple[str, ...] = ()


def read_query(text: str) -> Reading:
    """The user's query as a safe FTS5 expression, with notes where it was not taken
    literally. Raises ``StoreError`` when nothing is left to search for."""
    parts: list[str] = []
    notes: list[str] = []
    if text.count('"') % 2:
        notes.append('unbalanced " ignored')
    for token in _TOKEN.findall(text):
        if token in _OPERATORS:
            parts.append(token)
            continue
        column = ""
        field = _FIELD.fullmatch(token)
        if field and not token.startswith('"'):
            if field.group(1) in COLUMNS:
                column, token = field.group(1), field.group(2)
            else:
                notes.append(
                    f"{field.group(1)}: is not a search field (title:, body:); "
                    f"searched for the text {token!r}"
                )
        prefix = token.endswith("*") and not token.startswith('"')
        word = token.rstrip("*") if prefix else token.strip('"')
        if not word.strip():
            continue
        term = '"' + word.replace('"', '""') + '"' + ("*" if prefix else "")
        parts.append(f"{column} : {term}" if column else term)
    dropped = []
    while parts and parts[0] in _OPERATORS:
        dropped.append(parts.pop(0))
    while parts and parts[-1] in _OPERATORS:
        dropped.append(parts.pop())
    if not parts:
        if dropped:
            raise StoreError(
                "the query has only operators (AND, OR, NOT); quote one to search for the "
                "word, e.g. '\"OR\"'",
                where=text,
            )
        raise StoreError("empty search query", where=text)
    if dropped:
        notes.append(f"{' '.join(dropped)} with nothing on one side ignored")
    return Reading(" ".join(parts), tuple(notes))


def fts_query(text: str) -> str:
    """The user's query as a safe FTS5 expression (see ``read_query``)."""
    return read_query(text).expression


def _window_floor(archive: Archive, expression: str) -> int | None:
    """The lowest rowid of the ``RANK_WINDOW`` most recently stored matches, or None when
    the query matches fewer articles than that."""
    row = archive.db.execute(
        "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? ORDER BY rowid DESC "
        "LIMIT 1 OFFSET ?",
        (expression, RANK_WINDOW - 1),
    ).fetchone()
    return int(row[0]) if row is not None else None


def match_query(expression: str, window: tuple[str, list[str]]) -> tuple[str, list[object]]:
    """`` FROM … WHERE …`` of the articles matching ``expression`` within ``window`` (the
    conditions of ``scraper.filters.where``, on the articles table aliased ``a``), and its
    arguments: one definition for the hits and their count (the reading room), so they agree."""
    sql = " FROM articles_fts AS f"
    where = " WHERE articles_fts MATCH ?"
    args: list[object] = [expression]
    conditions, values = window
    if conditions:
        sql += " JOIN articles a ON a.rowid = f.rowid"
        where += conditions
        args += values
    return sql + where, args


def _rank_query(
    archive: Archive, expression: str, window: tuple[str, list[str]]
) -> tuple[str, list[object]]:
    """The ranking query (rowid and score of each match) and its arguments; unfiltered, it
    is limited to the ``RANK_WINDOW`` most recent matches."""
    sql, args = match_query(expression, window)
    if not window[0] and (floor := _window_floor(archive, expression)) is not None:
        sql += " AND f.rowid >= ?"
        args.append(floor)
    return f"SELECT f.rowid, bm25(articles_fts, {TITLE_WEIGHT}, {BODY_WEIGHT}) AS score{sql}", args


def search(
    archive: Archive,
    query: str,
    *,
    source: str | None = None,
    since: str | None = None,
    until: str | None = None,
    section: str | None = None,
    limit: int = 20,
    offset: int = 0,
    highlight: tuple[str, str] = ("[", "]"),
) -> list[Hit]:
    """Best matches first (bm25), filtered by source, publication date and section.

    Two steps, because snippets are costly and SQLite would compute one for every match
    before sorting: rank the matches (rowid and score only), then build the hits of the top
    ``limit``. An unfiltered query that matches more than ``RANK_WINDOW`` articles ranks the
    most recently stored ``RANK_WINDOW`` of them (see the constant). ``offset`` skips that many
    ranked hits (pages); ``highlight`` surrounds each match in the snippet."""
    expression = fts_query(query)
    rank_sql, args = _rank_query(
        archive,
        expression,
        filters.where(source=source, since=since, until=until, section=section, prefix="a."),
    )
    try:
        ranked = archive.db.execute(
            rank_sql + " ORDER BY score LIMIT ? OFFSET ?", (*args, limit, offset)
        ).fetchall()
        if not ranked:
            return []
        scores = {int(r[0]): float(r[1]) for r in ranked}
        marks = ", ".join("?" for _ in scores)
        rows = archive.db.execute(
            "SELECT f.rowid, a.id, a.published_at, a.title, a.section, "
            "snippet(articles_fts, 1, ?, ?, ' … ', 12) AS snip FROM articles_fts AS f "
            "JOIN articles a ON a.rowid = f.rowid WHERE articles_fts MATCH ? "
            f"AND f.rowid IN ({marks})",
            (*highlight, expression, *scores),
        ).fetchall()
    except sqlite3.OperationalError as exc:
        raise StoreError(f"search failed: {exc}", where=query) from exc
    hits = [
        Hit(
            id=r["id"],
            published_at=r["published_at"],
            title=r["title"],
            section=r["section"],
            snippet=r["snip"],
            score=scores[r[0]],
        )
        for r in rows
    ]
    hits.sort(key=lambda h: (h.score, h.id))
    return hits
