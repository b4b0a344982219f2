"""The reading room at scale: server-side render time of every page type over the benchmark
archive (``bench/archive.py`` builds it; 100,000 articles by default).

Timing is server side: an ASGI wrapper around the app measures from the request reaching the
app to the last byte of the response, driven in process by Starlette's test client (so no
socket or browser time is counted). Each page type is requested over many different ids. The
overview's figures are computed in the background at most once a minute (scraper/web/cache.py);
that computation is timed on its own.

The synthetic archive has one revision per article and one version per story, so before timing
this adds ``EXTRA`` articles with five revisions each and ``EXTRA`` Yonhap stories with three
versions (LEAD, 2nd LD), through ``Archive.save`` (once: skipped when already there).

    .venv/bin/python -m bench web [--archive DIR] [--articles N] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from bench.archive import QUERIES, _timed_cli, build
from scraper import search
from scraper.models import content_hash
from scraper.store import Archive
from scraper.web import app as web_app
from scraper.web import pages
from scraper.web.readonly import ReadOnlyArchive

EXTRA = 20
SOURCES = ("yonhap", "koreaherald")
TARGET_MEDIAN_MS = 100.0
TARGET_P95_MS = 300.0


class Timer:
    """ASGI wrapper: wall time of each request inside the app, in milliseconds."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last_ms = 0.0

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        started = time.perf_counter()
        await self.app(scope, receive, send)
        self.last_ms = (time.perf_counter() - started) * 1000


def add_history(root: Path) -> None:
    """Revised articles and multi-version stories, so those pages have something to show."""
    with Archive(root, durable=False) as archive:
        done = archive.db.execute("SELECT count(*) FROM revisions WHERE revision = 5").fetchone()
        if done[0] >= EXTRA:
            return
        rows = archive.db.execute(
            "SELECT id FROM articles WHERE source = 'yonhap' ORDER BY rowid LIMIT ?", (EXTRA * 2,)
        ).fetchall()
        for n, row in enumerate(rows[:EXTRA]):
            article = archive.get(row["id"])
            assert article is not None
            for rev in range(2, 6):
                body = article.body.replace(" the ", f" the (correction {rev}) ", 1)
                body += f"\n\nThis story was corrected ({rev})."
                article = article.evolve(
                    body=body,
                    content_hash=content_hash(article.title, body),
                    fetched_at=f"2026-01-0{rev}T00:00:{n:02d}+00:00",
                )
                archive.save(article, None, url=article.url)
        for row in rows[EXTRA:]:
            first = archive.get(row["id"])
            assert first is not None
            for update, tag in (("51", "(LEAD)"), ("52", "(2nd LD)")):
                native = first.id.split(":", 1)[1]
                new_id = f"yonhap:{native[:-5]}{update}{native[-3:]}"
                title = f"{tag} {first.title}"
                body = first.body + f"\n\nMore details were added in the {tag} version."
                version = first.evolve(
                    id=new_id,
                    url=first.url.replace(native, new_id.split(":", 1)[1]),
                    title=title,
                    body=body,
                    update_tag=tag.strip("()"),
                    content_hash=content_hash(title, body),
                    story_id=None,
                )
                archive.save(version, None, url=version.url)


def _sample(root: Path, runs: int) -> dict[str, list[str]]:
    rng = random.Random(14)
    with ReadOnlyArchive(root) as archive:
        db = archive.db
        top = db.execute("SELECT max(rowid) FROM articles").fetchone()[0]
        ids = []
        while len(ids) < runs:
            row = db.execute(
                "SELECT id FROM articles WHERE rowid >= ? LIMIT 1", (rng.randint(1, top),)
            ).fetchone()
            ids.append(row[0])
        revised = [r[0] for r in db.execute("SELECT article_id FROM revisions WHERE revision = 5")]
        stories = [
            r[0]
            for r in db.execute(
                "SELECT story_id FROM articles GROUP BY story_id HAVING count(*) >= 3"
            )
        ]
    queries = [f"q={q}" for q in QUERIES] + [
        "q=satellite&source=yonhap&since=2024-03-01",
        "q=Korea&page=3",
        "q=satellite&page=2",
        "q=zeppelin",
    ]
    cycle = lambda items: [items[i % len(items)] for i in range(runs)]  # noqa: E731
    return {
        "overview `/`": ["/"] * runs,
        "search `/search?q=…`": [f"/search?{q}" for q in cycle(queries)],
        "search JSON `/search.json?q=…`": [f"/search.json?{q}" for q in cycle(queries)],
        "article `/articles/<id>`": [f"/articles/{i}" for i in ids],
        "article JSON `/articles/<id>.json`": [f"/articles/{i}.json" for i in ids],
        "revisions, 1 revision": [f"/articles/{i}/revisions" for i in ids],
        "revisions, 5 revisions": [f"/articles/{i}/revisions" for i in cycle(revised)],
        "story, 1 version": [f"/stories/{i}" for i in ids],
        "story, 3 versions": [f"/stories/{i}" for i in cycle(stories)],
        "capture `/articles/<id>/capture`": [f"/articles/{i}/capture" for i in ids],
        "404 page": [f"/articles/yonhap:AEN0000000{n:010d}" for n in range(runs)],
        "`/healthz`": ["/healthz"] * runs,
    }


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(root: Path, runs: int) -> list[tuple[str, float, float, float, int]]:
    """(page type, median ms, p95 ms, max ms, requests) per page type."""
    timer = Timer(web_app.create_app(root, SOURCES))
    rows = []
    with TestClient(timer) as client:
        client.get("/static/style.css")  # start-up: thread pool, template loader
        for label, paths in _sample(root, runs).items():
            times = []
            for path in paths:
                response = client.get(path)
                if response.status_code not in (200, 404):
                    raise SystemExit(f"{path}: {response.status_code}")
                times.append(timer.last_ms)
            rows.append(
                (
                    label,
                    statistics.median(times),
                    _percentile(times, 0.95),
                    max(times),
                    len(times),
                )
            )
    # the overview's computation, which the app runs in the background at most once a minute
    times = []
    for _ in range(max(3, runs // 10)):
        with ReadOnlyArchive(root) as archive:
            started = time.perf_counter()
            pages.overview(archive, SOURCES)
            times.append((time.perf_counter() - started) * 1000)
    rows.append(
        (
            "(overview computation, in the background once a minute)",
            statistics.median(times),
            _percentile(times, 0.95),
            max(times),
            len(times),
        )
    )
    return rows


def search_baseline(root: Path) -> tuple[float, float, float]:
    """Median ms over the benchmark queries, interleaved so that load hits all three alike:
    ``search()`` alone, `scraper search` run in process (opening the archive included), and
    the search page (server side)."""
    timer = Timer(web_app.create_app(root, SOURCES))
    direct, cli, page = [], [], []
    with ReadOnlyArchive(root) as archive, TestClient(timer) as client:
        client.get("/search", params={"q": "warm-up"})
        for _ in range(3):
            for q in QUERIES:
                started = time.perf_counter()
                search.search(archive, q, limit=20)
                direct.append((time.perf_counter() - started) * 1000)
                cli.append(_timed_cli(["--archive", str(root), "search", q]) * 1000)
                client.get("/search", params={"q": q})
                page.append(timer.last_ms)
    return statistics.median(direct), statistics.median(cli), statistics.median(page)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench web")
    parser.add_argument("--archive", type=Path, help="an archive built by bench/archive.py")
    parser.add_argument("--articles", type=int, default=100_000, help="when building one")
    parser.add_argument("--runs", type=int, default=100, help="requests per page type")
    args = parser.parse_args(argv)
    tmp = None
    root = args.archive
    if root is None:
        tmp = tempfile.mkdtemp(prefix="bench-web-")
        root = Path(tmp) / "archive"
    try:
        if not (root / "index.sqlite").exists():
            print(f"building {args.articles} articles in {root}", flush=True)
            build(root, args.articles)
        add_history(root)
        with ReadOnlyArchive(root) as archive:
            count = archive.count()
        rows = measure(root, args.runs)
        direct, cli, page = search_baseline(root)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{datetime.now(UTC):%Y-%m-%d}, {count:,} articles\n"
    )
    print(
        f"| page | median ms | p95 ms | max ms | requests | under {TARGET_MEDIAN_MS:.0f}/"
        f"{TARGET_P95_MS:.0f} ms |"
    )
    print("|---|---|---|---|---|---|")
    for label, median, p95, most, n in rows:
        ok = "yes" if median < TARGET_MEDIAN_MS and p95 < TARGET_P95_MS else "**no**"
        if label.startswith("("):
            ok = "not a request"
        print(f"| {label} | {median:.1f} | {p95:.1f} | {most:.1f} | {n} | {ok} |")
    print(
        f"\nsearch, the {len(QUERIES)} benchmark queries x 3, median: search() alone "
        f"{direct:.1f} ms, `scraper search` in process {cli:.1f} ms, the search page "
        f"{page:.1f} ms"
    )


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
