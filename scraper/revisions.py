"""Revisions: re-check recently published articles on a decaying schedule, cheaply.

Schedule (``SCHEDULE``): every 15 minutes in the first 3 hours after publication, hourly for
the rest of the first day, daily for a week after that, then never. Each check is a
conditional GET with the ETag / Last-Modified stored in the ``urls`` table; a 304 costs one
round trip and no parsing. A 200 goes through the normal store path, where a changed
``content_hash`` (title + body, whitespace-normalized; the updated-time line is not part of
either) makes a new revision and an unchanged one only refreshes ``fetched_at``.

API for the crawler: ``recheck(ctx, settings, *, stop=None)`` → ``RecheckSummary``.
"""

from __future__ import annotations

import difflib
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from scraper.config import SourceConfig
from scraper.errors import FetchError, HttpStatusError, ParseError, StoreError
from scraper.models import Article
from scraper.pipeline import Context, archive_page
from scraper.sources import by_name
from scraper.store import Archive
from scraper.urls import allowed_hosts, target_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    until: timedelta  # age after publication up to which ``every`` applies
    every: timedelta


SCHEDULE: tuple[Step, ...] = (
    Step(until=timedelta(hours=3), every=timedelta(minutes=15)),
    Step(until=timedelta(days=1), every=timedelta(hours=1)),
    Step(until=timedelta(days=8), every=timedelta(days=1)),
)


def interval_for(age: timedelta, schedule: tuple[Step, ...] = SCHEDULE) -> timedelta | None:
    """How often an article of this age is checked; None once it is past the schedule."""
    if age < timedelta(0):
        age = timedelta(0)  # a clock skewed ahead of the publisher: treat as just published
    for step in schedule:
        if age < step.until:
            return step.every
    return None


@dataclass(frozen=True)
class Due:
    article_id: str
    source: str
    url: str
    age: timedelta
    etag: str | None
    last_modified: str | None


def _parse(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    try:
        value = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def due(
    archive: Archive,
    now: datetime | None = None,
    *,
    source: str | None = None,
    schedule: tuple[Step, ...] = SCHEDULE,
) -> list[Due]:
    """Articles whose next check time has come, oldest check first."""
    now = now or datetime.now(UTC)
    horizon = max(step.until for step in schedule)
    # a day of slack: published_at strings carry +09:00 and compare as text
    cutoff = (now - horizon - timedelta(days=1)).strftime("%Y-%m-%d")
    sql = (
        "SELECT a.id, a.source, a.url, a.published_at, a.first_fetched_at, u.etag, "
        "u.last_modified, u.last_checked FROM articles a LEFT JOIN urls u ON u.url = a.url "
        "WHERE coalesce(a.published_at, a.first_fetched_at) >= ? "
        "AND coalesce(u.state, '') != 'gone'"
    )
    args: list[str] = [cutoff]
    if source:
        sql += " AND a.source = ?"
        args.append(source)
    found: list[tuple[datetime, Due]] = []
    for row in archive.db.execute(sql, args):
        published = _parse(row["published_at"]) or _parse(row["first_fetched_at"])
        if published is None:
            continue
        every = interval_for(now - published, schedule)
        if every is None:
            continue
        checked = _parse(row["last_checked"]) or published
        if checked + every > now:
            continue
        found.append(
            (
                checked,
                Due(
                    article_id=row["id"],
                    source=row["source"],
                    url=row["url"],
                    age=now - published,
                    etag=row["etag"],
                    last_modified=row["last_modified"],
                ),
            )
        )
    found.sort(key=lambda pair: pair[0])
    return [d for _, d in found]


@dataclass
class RecheckSummary:
    source: str
    due: int = 0
    not_modified: int = 0
    unchanged: int = 0
    revised: int = 0
    gone: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"{self.source}: rechecked {self.due}, not modified {self.not_modified}, "
            f"unchanged {self.unchanged}, revised {self.revised}, gone {self.gone}, "
            f"failed {self.failed}"
        )


def recheck(
    ctx: Context,
    settings: SourceConfig,
    *,
    stop: threading.Event | None = None,
    now: datetime | None = None,
) -> RecheckSummary:
    """One pass of the schedule over one source: conditional GET of every due article."""
    source = by_name(settings.name)
    summary = RecheckSummary(source=source.name)
    hosts = allowed_hosts(source, settings)
    now = now or datetime.now(UTC)
    stamp = now.isoformat()
    for item in due(ctx.archive, now, source=source.name):
        if stop is not None and stop.is_set():
            break
        summary.due += 1
        target = target_for(source, settings, item.url)
        if target is None:
            continue
        headers = {}
        if item.etag:
            headers["If-None-Match"] = item.etag
        if item.last_modified:
            headers["If-Modified-Since"] = item.last_modified
        try:
            page = ctx.fetcher.get(
                target.fetch_url, allowed_hosts=hosts, source=source.name, headers=headers
            )
            if page.status == 304:
                ctx.archive.mark_url(
                    item.url, source.name, state="done", http_status=304, last_checked=stamp
                )
                summary.not_modified += 1
                continue
            result = archive_page(ctx, target, page)
            # the schedule runs on the clock it was given (``now``), not the store's
            ctx.archive.mark_url(item.url, source.name, last_checked=stamp)
        except HttpStatusError as exc:
            if exc.status in (404, 410):  # withdrawn: keep what we have, stop asking
                ctx.archive.mark_url(
                    item.url, source.name, state="gone", http_status=exc.status, last_checked=stamp
                )
                summary.gone += 1
                continue
            summary.failed += 1
            summary.errors.append(str(exc))
            log.warning("recheck of %s failed: %s", item.url, exc)
        except (FetchError, ParseError, StoreError) as exc:
            summary.failed += 1
            summary.errors.append(str(exc))
            log.warning("recheck of %s failed: %s", item.url, exc)
        else:
            if result.status == "revised":
                summary.revised += 1
                log.info("revised %s (revision %d)", result.article.id, result.article.revision)
            else:
                summary.unchanged += 1
    return summary


def _lines(article: Article) -> list[str]:
    return [article.title, "", *article.body.split("\n\n")]


def diff(old: Article, new: Article) -> str:
    """A readable diff of title and body paragraphs between two revisions."""
    return "\n".join(
        difflib.unified_diff(
            _lines(old),
            _lines(new),
            fromfile=f"revision {old.revision} ({old.fetched_at})",
            tofile=f"revision {new.revision} ({new.fetched_at})",
            lineterm="",
        )
    )
