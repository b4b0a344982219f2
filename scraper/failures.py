"""Article URLs that did not make it into the archive, made visible: counted per source and
state for ``scraper stats`` and ``scraper status``, listed with their reason and next retry by
``scraper failures``, and put back in line by ``scraper retry`` (policy: ``scraper.frontier``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from scraper import frontier
from scraper.config import Config
from scraper.dates import now_iso
from scraper.sources import SOURCES
from scraper.store import Archive
from scraper.urls import target_for

STATES = ("failed", "rejected", "abandoned", "gone")  # what `failures` can list
SHOWN_BY_DEFAULT = ("failed", "rejected", "abandoned")  # gone (404/410) is no surprise


@dataclass(frozen=True)
class Failure:
    id: int  # the URL's row in the index: `scraper retry ID`
    url: str
    source: str
    state: str
    attempts: int
    http_status: int | None
    error: str | None
    last_checked: str | None
    next_retry: str | None  # failed: when it is tried again ("next run" when None)

    def when(self) -> str:
        """The next retry in words."""
        if self.state != "failed":
            return "never (scraper retry)"
        if self.next_retry is None or self.next_retry <= now_iso():
            return "next run"
        return self.next_retry


def counts(archive: Archive) -> dict[str, dict[str, int]]:
    """Per source, article URLs in each of ``STATES`` (zeros included)."""
    marks = ",".join("?" * len(STATES))
    out: dict[str, dict[str, int]] = {}
    for source, state, n in archive.db.execute(
        f"SELECT source, state, count(*) FROM urls WHERE kind = 'article' AND state IN ({marks}) "
        "GROUP BY source, state",
        STATES,
    ):
        out.setdefault(source, dict.fromkeys(STATES, 0))[state] = n
    return out


def render_counts(by_state: dict[str, int] | None) -> str:
    by_state = by_state or dict.fromkeys(STATES, 0)
    return ", ".join(f"{state} {by_state.get(state, 0)}" for state in STATES)


_COLUMNS = "rowid, url, source, state, attempts, http_status, error, last_checked"


def _failure(row: sqlite3.Row) -> Failure:
    failed = row["state"] == "failed"
    return Failure(
        id=row["rowid"],
        url=row["url"],
        source=row["source"],
        state=row["state"],
        attempts=row["attempts"],
        http_status=row["http_status"],
        error=row["error"],
        last_checked=row["last_checked"],
        next_retry=frontier.next_retry(row["attempts"], row["last_checked"]) if failed else None,
    )


def listing(
    archive: Archive, *, source: str | None = None, states: tuple[str, ...] = SHOWN_BY_DEFAULT
) -> list[Failure]:
    """Article URLs in ``states``, most recently checked first."""
    marks = ",".join("?" * len(states))
    sql = f"SELECT {_COLUMNS} FROM urls WHERE kind = 'article' AND state IN ({marks})"
    args: list[object] = list(states)
    if source is not None:
        sql += " AND source = ?"
        args.append(source)
    rows = archive.db.execute(sql + " ORDER BY last_checked DESC, url", args)
    return [_failure(row) for row in rows]


def find(archive: Archive, config: Config, key: str) -> Failure | None:
    """The article URL named by ``key``: its row id (from ``scraper failures``) or its URL in
    any form the source accepts (canonicalized like a crawl does)."""
    if key.isdigit():
        where, arg = "rowid = ?", key
    else:
        arg = key.strip()
        for source in SOURCES:
            settings = config.sources.get(source.name)
            target = target_for(source, settings, arg) if settings is not None else None
            if target is not None:
                arg = target.canonical_url
                break
        where = "url = ?"
    row = archive.db.execute(
        f"SELECT {_COLUMNS} FROM urls WHERE kind = 'article' AND {where}", (arg,)
    ).fetchone()
    return _failure(row) if row is not None else None


def put_back(archive: Archive, failure: Failure) -> None:
    """Back to ``new`` with no attempts counted: the next crawl (or service run) fetches it."""
    archive.mark_url(failure.url, failure.source, state="new", attempts=0)
