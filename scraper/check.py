"""``scraper check [--repair]``: does the archive agree with itself?

Checked, in order:
 1. WARC files: every file is a sequence of complete gzip members (warcio can read it to the
    end). Damage costs only the members it hits: repair salvages every readable member around
    it and moves the unreadable bytes (a damaged member, a dead writer's interrupted tail) to
    ``quarantine/``, re-pointing the catalog (``scraper.salvage``) — never a file a live
    process still holds (its ``flock``).
 2. Captures: every ``captures`` / ``revisions`` row points at a response record that exists.
 3. Articles: every index row has its JSON file, readable, with the same id, revision and
    content hash; every JSON file under ``articles/`` has its index row (no orphans, no second
    copy). A file newer than its row (a crash between file and index) is indexed again; a
    missing file is rewritten from the ``revisions`` table; a stray copy is removed. A file
    with the row's content hash under another revision number (a crash while an older capture
    renumbered the revisions, scraper/revorder.py) is rewritten from the index. Revisions out
    of capture-time order (numbered in arrival order by earlier versions) are renumbered.
 4. Leftover temp files of dead writers (removed on repair).
 5. Search: the FTS table holds exactly one entry per article (rebuilt on repair).
 6. URLs marked done whose article is not in the index go back to ``new`` (refetched).

Each problem is one plain line; repairs never delete WARC bytes (unreadable ones go to
``quarantine/``), and rebuild index entries from the files and revisions that hold the same
data.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from scraper import indexrows, revorder
from scraper.articlefile import TEMP_SUFFIX, article_relpath, atomic_write, dump_article, temp_owner
from scraper.errors import StoreError
from scraper.models import Article
from scraper.revisit import fix_legacy_captures
from scraper.salvage import QUARANTINE, FullScan, quarantine_dir, salvage, scan_all
from scraper.store import Archive
from scraper.warc import in_use, marker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Problem:
    text: str
    repair: str | None = None  # what was done about it, when it was repaired

    def line(self) -> str:
        return f"repaired: {self.text}: {self.repair}" if self.repair else f"problem: {self.text}"


@dataclass
class CheckReport:
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Consistent: no problem found, or every one repaired."""
        return all(p.repair for p in self.problems)

    @property
    def unrepaired(self) -> list[str]:
        return [p.text for p in self.problems if not p.repair]


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (one we may not signal counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Checker:
    def __init__(self, archive: Archive, repair: bool) -> None:
        self.archive = archive
        self.root = archive.root
        self.repair = repair
        self.report = CheckReport()

    def problem(self, text: str, fix: str | None = None) -> bool:
        """Record a problem; True when the caller should repair it now."""
        repairing = self.repair and fix is not None
        self.report.problems.append(Problem(text, fix if repairing else None))
        return repairing

    # 1 + 2 ---------------------------------------------------------------------------------
    def warcs(self) -> dict[str, dict[int, str]]:
        members: dict[str, dict[int, str]] = {}
        files = sorted((self.root / "warc").glob("*/*.warc.gz"))
        self.report.counts["warc files"] = len(files)
        for path in files:
            rel = str(path.relative_to(self.root))
            result = scan_all(path)
            # a live writer's tail may be mid-write: not damage
            if (result.gaps or not result.size) and not in_use(path):
                if not result.pieces:  # killed before its warcinfo record was complete
                    if self.problem(f"{rel}: no complete record", f"moved to {QUARANTINE}/"):
                        self._set_aside(path, rel)
                    continue
                if self._damaged(path, rel, result):
                    result = scan_all(path)
            members[rel] = {p.offset: p.warc_type for p in result.pieces}
        return members

    def _damaged(self, path: Path, rel: str, result: FullScan) -> bool:
        """Report the gaps of one file; salvage it on repair. True when the file changed."""
        for gap in result.gaps:
            if gap.tail:
                self.problem(f"{rel}: {gap.length} bytes of an interrupted record at the end")
            else:
                after = sum(1 for p in result.pieces if p.offset >= gap.end)
                self.problem(
                    f"{rel}: {gap.length} unreadable bytes at offset {gap.offset} "
                    f"(damaged; {after} readable records after it)"
                )
        if not self.repair:
            return False
        done = salvage(self.root, rel, result, self.archive.db)
        with contextlib.suppress(FileNotFoundError):
            marker(path).unlink()
        lost = f"; captures lost: {', '.join(done.lost)}" if done.lost else ""
        fix = (
            f"{done.cut} bytes moved to {', '.join(done.saved_as)}; {done.kept} records kept, "
            f"{done.moved} catalog rows re-pointed{lost}"
        )
        # the lines above were reported unrepaired; now every one of them is repaired
        count = len(result.gaps)
        self.report.problems[-count:] = [
            Problem(p.text, fix) for p in self.report.problems[-count:]
        ]
        return True

    def _set_aside(self, path: Path, rel: str) -> None:
        folder = quarantine_dir(self.root, rel)
        folder.mkdir(parents=True, exist_ok=True)
        os.replace(path, folder / f"{path.name}.{os.getpid()}.incomplete")
        with contextlib.suppress(FileNotFoundError):
            marker(path).unlink()

    def captures(self, members: dict[str, dict[int, str]]) -> None:
        db = self.archive.db
        count = 0
        for table in ("captures", "revisions"):
            rows = db.execute(
                f"SELECT article_id, warc_file, warc_offset FROM {table} "
                "WHERE warc_file IS NOT NULL"
            )
            for row in rows:
                count += 1
                kind = members.get(row["warc_file"], {}).get(row["warc_offset"])
                # a capture may be a revisit record (same payload as an earlier response)
                if kind != "response" and not (table == "captures" and kind == "revisit"):
                    self.problem(
                        f"{row['article_id']}: {table} row points at "
                        f"{row['warc_file']}@{row['warc_offset']}, which holds "
                        f"{'no record' if kind is None else 'a ' + kind + ' record'}"
                    )
        self.report.counts["captures"] = count

    # 3 + 4 ---------------------------------------------------------------------------------
    def articles(self) -> None:
        db = self.archive.db
        indexed: dict[str, str] = {}
        # read first: repairs write to the same table
        rows = db.execute("SELECT id, path, revision, content_hash FROM articles").fetchall()
        for row in rows:
            indexed[row["path"]] = row["id"]
            path = self.root / row["path"]
            try:
                article = self.archive.load_file(path) if path.exists() else None
            except StoreError:
                article = None
                self.problem(f"{row['path']}: unreadable article file")
                continue
            if article is None:
                self._missing_file(row["id"], row["path"])
            elif article.id != row["id"]:
                self.problem(f"{row['path']}: holds {article.id}, index says {row['id']}")
            elif (article.revision, article.content_hash) != (row["revision"], row["content_hash"]):
                if article.content_hash == row["content_hash"]:
                    # same content, another number: a crash while an older capture renumbered
                    # the revisions; the index (not committed) still holds the old numbering
                    self._missing_file(row["id"], row["path"], renumbered=True)
                elif article.revision >= row["revision"] and self.problem(
                    f"{row['id']}: file has revision {article.revision}, index "
                    f"{row['revision']} (interrupted save)",
                    "index updated from the file",
                ):
                    self.archive.replace_record(article)
                elif article.revision < row["revision"]:
                    self._missing_file(row["id"], row["path"], stale=True)
        self.report.counts["articles"] = len(indexed)
        for path in sorted((self.root / "articles").rglob("*")):
            if not path.is_file():
                continue
            rel = str(path.relative_to(self.root))
            if path.name.endswith(TEMP_SUFFIX):
                self._temp(path, rel)
            elif path.suffix == ".json" and rel not in indexed:
                self._orphan(path, rel)

    def _missing_file(
        self, article_id: str, rel: str, *, stale: bool = False, renumbered: bool = False
    ) -> None:
        record = self.archive.db.execute(
            "SELECT record FROM revisions WHERE article_id = ? ORDER BY revision DESC LIMIT 1",
            (article_id,),
        ).fetchone()
        what = "article file is older than the index" if stale else "article file is missing"
        if renumbered:
            what = "article file has another revision number than the index (interrupted renumber)"
        fix = "rewritten from the revisions table" if record else None
        if self.problem(f"{rel}: {what}", fix) and record is not None:
            self.archive.replace_record(Article.from_dict(json.loads(record["record"])))

    def _orphan(self, path: Path, rel: str) -> None:
        try:
            article = self.archive.load_file(path)
        except StoreError:
            if self.problem(f"{rel}: unreadable article file not in the index", "removed"):
                path.unlink()
            return
        row = self.archive.db.execute(
            "SELECT path, revision FROM articles WHERE id = ?", (article.id,)
        ).fetchone()
        if row is not None:  # a second copy (the publication date moved mid-save)
            if self.problem(
                f"{rel}: second file of {article.id} (index: {row['path']})", "removed"
            ):
                path.unlink()
            return
        if self.problem(f"{rel}: {article.id} is not in the index", "indexed from the file"):
            self.archive.replace_record(article)

    def _temp(self, path: Path, rel: str) -> None:
        pid = temp_owner(path.name)
        if pid is not None and pid_alive(pid) and pid != os.getpid():
            return  # a live writer is about to rename it
        if self.problem(f"{rel}: temp file left by a dead writer", "removed"):
            path.unlink()

    def revision_order(self) -> None:
        """Revisions out of capture-time order (saved by versions that numbered them in
        arrival order): renumbered on repair, the file given the latest one."""
        db = self.archive.db
        suspects: set[str] = set()
        previous: sqlite3.Row | None = None
        # a light pass first: full records are read only for the articles out of order
        for row in db.execute(
            "SELECT article_id, fetched_at FROM revisions ORDER BY article_id, revision"
        ):
            if (
                previous is not None
                and previous["article_id"] == row["article_id"]
                and revorder.older(row["fetched_at"], previous["fetched_at"])
            ):
                suspects.add(row["article_id"])
            previous = row
        for article_id in sorted(suspects):
            revs, _ = revorder.stored(db, article_id)
            ordered = revorder.in_time_order(revs)
            if ordered is not None and self.problem(
                f"{article_id}: revisions are not in capture-time order",
                f"renumbered ({len(revs)} revisions → {len(ordered)})",
            ):
                self._reorder(article_id, ordered)

    def _reorder(self, article_id: str, ordered: tuple[revorder.Rev, ...]) -> None:
        """File first, then the index (the file put back if that fails), as saves do."""
        row = self.archive.db.execute(
            "SELECT path, fetched_at FROM articles WHERE id = ?", (article_id,)
        ).fetchone()
        if row is None:
            return
        seen = [row["fetched_at"]] + [
            c[0]
            for c in self.archive.db.execute(
                "SELECT fetched_at FROM captures WHERE article_id = ?", (article_id,)
            )
        ]
        # the latest fetch (those versions could also move it back)
        last = max((t for t in seen if t), key=revorder.instant, default=None)
        latest = ordered[-1].record
        rel = article_relpath(latest)
        path = self.root / rel
        old = path.read_bytes() if path.exists() else None
        atomic_write(path, dump_article(latest), durable=self.archive.durable)
        try:
            with self.archive.transaction() as db:
                revorder.write(db, article_id, ordered)
                indexrows.upsert_article(db, latest, rel)
                db.execute("UPDATE articles SET fetched_at = ? WHERE id = ?", (last, article_id))
        except BaseException:
            self.archive._restore(path, old, True)
            raise
        if rel != row["path"]:
            with contextlib.suppress(FileNotFoundError):
                (self.root / row["path"]).unlink()

    # 5 + 6 ---------------------------------------------------------------------------------
    def search_index(self) -> None:
        db = self.archive.db
        articles = db.execute("SELECT count(*) FROM articles").fetchone()[0]
        entries = db.execute("SELECT count(*) FROM articles_fts").fetchone()[0]
        unmatched = _fts_mismatch(db)
        if (articles != entries or unmatched) and self.problem(
            f"search index: {entries} entries for {articles} articles, {unmatched} mismatched",
            "rebuilt",
        ):
            self.archive.rebuild_search()

    def legacy_captures(self) -> None:
        """Rows written before migration 5 span the whole exchange; ``--repair`` gives them the
        response record's own offset and length, as a CDX line has them."""
        db = self.archive.db
        old = db.execute("SELECT count(*) FROM captures WHERE record_type IS NULL").fetchone()[0]
        if old and self.problem(
            f"captures: {old} rows from before migration 5 span the whole exchange",
            "pointed at their response record",
        ):
            with self.archive.transaction() as tx:
                fix_legacy_captures(tx, self.archive.root)

    def urls(self) -> None:
        rows = self.archive.db.execute(
            "SELECT u.url, u.source, u.article_id FROM urls u LEFT JOIN articles a "
            "ON a.id = u.article_id WHERE u.kind = 'article' AND u.state = 'done' "
            "AND a.id IS NULL"
        ).fetchall()
        for row in rows:
            if self.problem(
                f"{row['url']}: marked done but {row['article_id']} is not in the index",
                "marked new (fetched again next crawl)",
            ):
                self.archive.mark_url(row["url"], row["source"], state="new", article_id=None)


def remove_dead_temp_files(root: Path) -> list[Path]:
    """Temp files of writers that died (kill -9, power cut) under ``articles/``: removed at
    the start of every writing command, so none outlives the next run."""
    removed = []
    for folder, _, names in os.walk(root / "articles"):
        for name in names:
            if not name.endswith(TEMP_SUFFIX):
                continue
            pid = temp_owner(name)
            if pid is not None and pid != os.getpid() and pid_alive(pid):
                continue  # a live writer is about to rename it
            path = Path(folder) / name
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
                log.warning("removed %s, left by a writer that died", path)
    return removed


def check(archive: Archive, *, repair: bool = False) -> CheckReport:
    checker = _Checker(archive, repair)
    members = checker.warcs()
    checker.captures(members)
    checker.articles()
    checker.revision_order()
    checker.search_index()
    checker.legacy_captures()
    checker.urls()
    for problem in checker.report.problems:
        log.debug("check: %s", problem.line())
    return checker.report


def _fts_mismatch(db: sqlite3.Connection) -> int:
    """1 when the external-content search table disagrees with ``articles`` (FTS5's own
    integrity check compares the index with the content table), else 0."""
    try:
        db.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 1)")
    except sqlite3.DatabaseError:
        return 1
    return 0
