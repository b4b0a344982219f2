"""``scraper reparse``: re-extract every stored article from its raw capture with the current
parsers, offline. The capture is the one its current revision was extracted from (``revisions``
→ WARC file and offset), parsed with the original ``fetched_at``, so the same capture and the
same parsers always give the same record. A record whose output changes is rewritten in place
with the new ``parser`` and ``parsed_at`` stamp; its ``revision`` does not move (the article did
not change, our reading of it did)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from scraper.dates import now_iso
from scraper.errors import ParseError, StoreError
from scraper.extract import extract
from scraper.models import Article
from scraper.sources import by_name
from scraper.store import Archive
from scraper.warc import read_response

log = logging.getLogger(__name__)

# what reparse carries over from the stored record rather than from the page
_KEPT = ("revision", "story_id", "urls", "fetched_at")


@dataclass
class ReparseSummary:
    checked: int = 0
    changed: int = 0
    failed: int = 0
    no_capture: int = 0
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"reparsed {self.checked}: changed {self.changed}, failed {self.failed}, "
            f"without capture {self.no_capture}"
        )


def _comparable(article: Article) -> dict[str, object]:
    data = article.to_dict()
    data.pop("parsed_at", None)
    return data


def reparse_one(archive: Archive, stored: Article, warc_file: str, offset: int) -> Article | None:
    """The re-extracted record when it differs from ``stored``, else None."""
    response = read_response(archive.root, warc_file, offset)
    fresh = extract(
        response.body,
        stored.url,
        source=by_name(stored.source),
        fetched_at=stored.fetched_at,
        content_type=response.headers.get("Content-Type") or response.headers.get("content-type"),
        where=f"{warc_file}@{offset}",
    )
    if fresh.id != stored.id:
        raise ParseError(f"capture now extracts as {fresh.id}", where=stored.id)
    fresh = fresh.evolve(**{name: getattr(stored, name) for name in _KEPT})
    if _comparable(fresh) == _comparable(stored):
        return None
    return fresh


def reparse(
    archive: Archive,
    *,
    source: str | None = None,
    since: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReparseSummary:
    """Re-extract every stored article (of ``source``, published on or after ``since``)."""
    summary = ReparseSummary()
    stamp = now_iso()
    sql = (
        "SELECT a.id, a.path, r.warc_file, r.warc_offset, "
        "(SELECT c.warc_file || char(9) || c.warc_offset FROM captures c "
        " WHERE c.article_id = a.id ORDER BY c.id DESC LIMIT 1) AS latest "
        "FROM articles a LEFT JOIN revisions r ON r.article_id = a.id AND r.revision = a.revision "
        "WHERE 1=1"
    )
    args: list[str] = []
    if source:
        sql += " AND a.source = ?"
        args.append(source)
    if since:
        sql += " AND a.published_at >= ?"
        args.append(since)
    # the rows are read first: rewriting records while a cursor walks the same table would
    # let SQLite revisit updated rows
    rows = archive.db.execute(sql + " ORDER BY a.rowid", args).fetchall()
    for row in rows:
        summary.checked += 1
        if progress is not None:
            progress(summary.checked)
        warc_file, offset = row["warc_file"], row["warc_offset"]
        if warc_file is None and row["latest"]:
            warc_file, _, text = row["latest"].partition("\t")
            offset = int(text)
        if warc_file is None:
            summary.no_capture += 1
            continue
        try:
            stored = archive.load_file(archive.root / row["path"])
            fresh = reparse_one(archive, stored, warc_file, offset)
            if fresh is not None:
                archive.replace_record(fresh.evolve(parsed_at=stamp))
                summary.changed += 1
                log.info("reparsed %s: %s", stored.id, fresh.parser)
        except (ParseError, StoreError, OSError) as exc:
            summary.failed += 1
            summary.errors.append(f"{row['id']}: {exc}")
            log.warning("reparse of %s failed: %s", row["id"], exc)
    return summary
