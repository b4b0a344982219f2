"""What each page of the reading room shows, read from the archive: plain data, no HTML.

Every function takes an open (read-only) ``Archive`` and returns frozen records or None when
the id is unknown; the routes (scraper/web/app.py) turn None into a 404 and render the rest.
"""

from __future__ import annotations

import itertools
import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from scraper import filters, lineage, search, stats
from scraper.models import Article
from scraper.state import ServiceState, SourceStatus
from scraper.store import Archive
from scraper.warcread import StoredResponse, read_response
from scraper.web.diff import WordDiff, word_diff

CHART_DAYS = 90
PER_PAGE = 20
# Counting every match of a common word costs as much as ranking them; past this many the page
# says "more than N" (the count query stops there).
COUNT_CAP = 10_000
# Snippet highlight marks: control characters never appear in stored text (the cleaner
# normalizes whitespace), so they cannot be confused with brackets in the article.
MARK_OPEN, MARK_CLOSE = "\x02", "\x03"
# Article fields compared between revisions besides title and body (shown as old → new).
COMPARED_FIELDS = ("subtitle", "authors", "updated_at", "section", "tags", "editor_note")


# -- overview ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Bar:
    day: str
    count: int
    x: int
    y: float
    height: float


@dataclass(frozen=True)
class SourceOverview:
    source: str
    stats: stats.SourceStats | None
    status: SourceStatus
    first_day: str
    last_day: str
    bars: tuple[Bar, ...]
    peak: int
    empty_days: tuple[str, ...]  # days in the chart's window with no article


@dataclass(frozen=True)
class Overview:
    total: int
    sources: tuple[SourceOverview, ...]
    computed_at: str


BAR_WIDTH = 6
CHART_HEIGHT = 80


def _bars(by_day: dict[str, int], last: date) -> tuple[tuple[Bar, ...], int, tuple[str, ...]]:
    days = [(last - timedelta(days=CHART_DAYS - 1 - i)).isoformat() for i in range(CHART_DAYS)]
    peak = max((by_day.get(d, 0) for d in days), default=0)
    bars = []
    for i, day in enumerate(days):
        count = by_day.get(day, 0)
        height = round(count / peak * CHART_HEIGHT, 1) if peak else 0.0
        bars.append(Bar(day, count, i * BAR_WIDTH, CHART_HEIGHT - height, height))
    return tuple(bars), peak, tuple(d for d in days if not by_day.get(d))


def overview(archive: Archive, sources: tuple[str, ...], now: datetime | None = None) -> Overview:
    """Per source: articles per publication day over the ``CHART_DAYS`` days up to the newest
    one (an archive of old pages would show an empty chart for "the last 90 days of the
    calendar"), fallback share and failures (``stats``), last and next run (``status``)."""
    now = now or datetime.now(UTC)
    collected = {s.source: s for s in stats.collect(archive, days=CHART_DAYS).sources}
    state = ServiceState(archive.db)
    out = []
    for name in sorted(set(sources) | set(collected)):
        found = collected.get(name)
        by_day = found.by_day if found else {}
        last = date.fromisoformat(max(by_day)) if by_day else now.date()
        bars, peak, empty = _bars(by_day, last)
        out.append(
            SourceOverview(
                source=name,
                stats=found,
                status=state.status(name, now),
                first_day=bars[0].day,
                last_day=bars[-1].day,
                bars=bars,
                peak=peak,
                empty_days=empty,
            )
        )
    return Overview(
        total=archive.count(),
        sources=tuple(out),
        computed_at=now.isoformat(timespec="seconds"),
    )


# -- search --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SearchPage:
    hits: tuple[search.Hit, ...]
    total: int
    capped: bool  # more than ``COUNT_CAP`` matches
    page: int
    pages: int


def _count(
    archive: Archive,
    query: str,
    source: str | None,
    since: str | None,
    until: str | None,
    section: str | None,
) -> int:
    # the same matches and filters as the hits, so the count and the hits agree
    sql, args = search.match_query(
        search.fts_query(query),
        filters.where(source=source, since=since, until=until, section=section, prefix="a."),
    )
    row = archive.db.execute(
        f"SELECT count(*) FROM (SELECT 1{sql} LIMIT ?)", (*args, COUNT_CAP + 1)
    ).fetchone()
    return int(row[0])


def search_page(
    archive: Archive,
    query: str,
    *,
    source: str | None,
    since: str | None,
    until: str | None,
    section: str | None,
    page: int,
) -> SearchPage:
    """One page of ranked hits (``scraper.search``) and how many match in all."""
    hits = search.search(
        archive,
        query,
        source=source,
        since=since,
        until=until,
        section=section,
        limit=PER_PAGE,
        offset=(page - 1) * PER_PAGE,
        highlight=(MARK_OPEN, MARK_CLOSE),
    )
    total = _count(archive, query, source, since, until, section)
    capped = total > COUNT_CAP
    total = min(total, COUNT_CAP)
    return SearchPage(
        hits=tuple(hits),
        total=total,
        capped=capped,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
    )


# -- one article -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ArticlePage:
    article: Article
    story_id: str
    story_size: int
    revisions: int
    has_capture: bool


def article_page(archive: Archive, article_id: str) -> ArticlePage | None:
    article = archive.get(article_id)
    if article is None:
        return None
    db = archive.db
    story = article.story_id or _story_of(db, article_id) or article.id
    return ArticlePage(
        article=article,
        story_id=story,
        story_size=int(
            db.execute("SELECT count(*) FROM articles WHERE story_id = ?", (story,)).fetchone()[0]
        ),
        revisions=int(
            db.execute(
                "SELECT count(*) FROM revisions WHERE article_id = ?", (article_id,)
            ).fetchone()[0]
        ),
        has_capture=_capture_ref(db, article_id, None) is not None,
    )


def _story_of(db: sqlite3.Connection, article_id: str) -> str | None:
    row = db.execute("SELECT story_id FROM articles WHERE id = ?", (article_id,)).fetchone()
    return str(row[0]) if row is not None and row[0] else None


# -- revisions and stories -----------------------------------------------------------------------
@dataclass(frozen=True)
class FieldChange:
    name: str
    old: str
    new: str


@dataclass(frozen=True)
class Change:
    """What changed from ``old`` to ``new`` (two revisions, or two versions of a story)."""

    old: Article
    new: Article
    title: WordDiff
    body: WordDiff
    fields: tuple[FieldChange, ...]


def _shown(value: object) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "—"
    return "—" if value is None or value == "" else str(value)


def compare(old: Article, new: Article) -> Change:
    a, b = old.to_dict(), new.to_dict()
    return Change(
        old=old,
        new=new,
        title=word_diff(old.title, new.title),
        body=word_diff(old.body, new.body),
        fields=tuple(
            FieldChange(name, _shown(a.get(name)), _shown(b.get(name)))
            for name in COMPARED_FIELDS
            if a.get(name) != b.get(name)
        ),
    )


@dataclass(frozen=True)
class RevisionsPage:
    article: Article
    history: tuple[Article, ...]
    changes: tuple[Change, ...]  # changes[i]: history[i] → history[i + 1]


def revisions_page(archive: Archive, article_id: str) -> RevisionsPage | None:
    article = archive.get(article_id)
    if article is None:
        return None
    history = tuple(archive.revisions(article_id)) or (article,)
    changes = tuple(compare(a, b) for a, b in itertools.pairwise(history))
    return RevisionsPage(article=article, history=history, changes=changes)


@dataclass(frozen=True)
class StoryPage:
    story_id: str
    versions: tuple[Article, ...]  # oldest first
    changes: tuple[Change, ...]  # changes[i]: versions[i] → versions[i + 1]


def story_page(archive: Archive, story_id: str) -> StoryPage | None:
    versions = []
    for row in lineage.chain(archive.db, story_id):
        article = archive.get(row["id"])
        if article is not None:
            versions.append(article)
    if not versions:
        return None
    changes = tuple(compare(a, b) for a, b in itertools.pairwise(versions))
    return StoryPage(story_id=story_id, versions=tuple(versions), changes=changes)


# -- raw capture ---------------------------------------------------------------------------------
def _capture_ref(
    db: sqlite3.Connection, article_id: str, revision: int | None
) -> tuple[str, int] | None:
    """The WARC file and offset of a revision's capture, or of the latest capture."""
    if revision is not None:
        row = db.execute(
            "SELECT warc_file, warc_offset FROM revisions WHERE article_id = ? AND revision = ? "
            "AND warc_file IS NOT NULL",
            (article_id, revision),
        ).fetchone()
    else:
        row = db.execute(
            "SELECT warc_file, warc_offset FROM captures WHERE article_id = ? "
            "AND status BETWEEN 200 AND 299 ORDER BY fetched_at DESC, id DESC LIMIT 1",
            (article_id,),
        ).fetchone()
        if row is None:  # revisions keep their capture even where no captures row exists
            row = db.execute(
                "SELECT warc_file, warc_offset FROM revisions WHERE article_id = ? "
                "AND warc_file IS NOT NULL ORDER BY revision DESC LIMIT 1",
                (article_id,),
            ).fetchone()
    return (str(row[0]), int(row[1])) if row is not None else None


def capture(archive: Archive, article_id: str, revision: int | None) -> StoredResponse | None:
    ref = _capture_ref(archive.db, article_id, revision)
    if ref is None:
        return None
    return read_response(archive.root, *ref)
