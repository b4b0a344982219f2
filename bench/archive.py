"""Archive at scale: build an archive of N articles (default 100,000) from the fixture pages
under generated ids, then time search, stats, export and reparse through the real code paths.

Building: each fixture page is extracted once; every generated article is that page with its
native id swapped for a new one (in the raw bytes, so the WARC capture re-extracts to exactly
the stored record), appended to a real WARC file and saved through ``Archive.save`` (with
``durable=False``: no fsync per file, the only shortcut). The archive lives in a temp dir that
is deleted afterwards.

    .venv/bin/python -m bench archive [--articles N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scraper import reparse, search, stats
from scraper.cli import main as cli_main
from scraper.extract import extract
from scraper.models import Article, FetchedPage, content_hash
from scraper.store import Archive
from scraper.warc import WarcStore

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
QUERIES = (
    "satellite",
    "reconnaissance satellite",
    '"military reconnaissance satellite"',
    "Yoon democracy",
    "mpox infections",
    "Korea",
    "KOSPI OR Hyundai",
    "deregul*",
)


@dataclass(frozen=True)
class Template:
    native: str  # the fixture's native id, replaced in the page bytes and the record
    raw: bytes
    record: dict[str, object]


def _templates() -> list[Template]:
    out = []
    pages = sorted((FIXTURES / "yonhap").glob("*.html")) + sorted(
        (FIXTURES / "koreaherald").glob("*.html")
    )
    for path in pages:
        raw = path.read_bytes()
        article = extract(raw, fetched_at="2026-01-01T00:00:00+00:00")
        out.append(Template(article.id.split(":", 1)[1], raw, article.to_dict()))
    return out


def _new_native(template: Template, i: int) -> str:
    n = template.native
    if n.startswith("AEN"):  # AEN + day + serial + desk: same length, unique serial per i
        day = (datetime(2024, 1, 1) + timedelta(days=i % 365)).strftime("%Y%m%d")
        return f"AEN{day}{i // 365 % 10000:04d}00{n[-3:]}"
    return f"{i + 10 ** (len(n) - 1):0{len(n)}d}"[-len(n) :]


def _generate(templates: list[Template], count: int) -> Iterator[tuple[Article, FetchedPage]]:
    for i in range(count):
        t = templates[i % len(templates)]
        native = _new_native(t, i)
        text = json.dumps(t.record, ensure_ascii=False).replace(t.native, native)
        data = json.loads(text)
        data["content_hash"] = content_hash(data["title"], data["body"])
        article = Article.from_dict(data)
        raw = t.raw.replace(t.native.encode(), native.encode())
        page = FetchedPage(
            url=article.url,
            final_url=article.url,
            status=200,
            http_version="HTTP/1.1",
            request_headers=(("User-Agent", "bench"),),
            response_headers=(("Content-Type", "text/html; charset=utf-8"),),
            raw_body=raw,
            body=raw,
            encoding="utf-8",
            fetched_at="2026-01-01T00:00:00+00:00",
        )
        yield article, page


def build(root: Path, count: int) -> float:
    started = time.perf_counter()
    warcs = WarcStore(root)
    with Archive(root, durable=False) as archive:
        for i, (article, page) in enumerate(_generate(_templates(), count), 1):
            ref = warcs.append(article.source, page)
            archive.save(article, ref, url=article.url)
            if i % 10000 == 0:
                print(f"  built {i} articles ({time.perf_counter() - started:.0f}s)", flush=True)
    warcs.close()
    return time.perf_counter() - started


def _timed_cli(argv: list[str]) -> float:
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        started = time.perf_counter()
        status = cli_main(argv)
        elapsed = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{argv} exited {status}")
    return elapsed


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def measure(root: Path, count: int) -> dict[str, str]:
    figures: dict[str, str] = {}
    with Archive(root) as archive:
        started = time.perf_counter()
        search.search(archive, "satellite", source="yonhap", since="2023-01-01", limit=20)
        figures["first search after opening the archive (cold cache, ms)"] = (
            f"{(time.perf_counter() - started) * 1000:.1f}"
        )
        latencies: dict[str, list[float]] = {}
        for _ in range(5):
            for q in QUERIES:
                started = time.perf_counter()
                search.search(archive, q, limit=20)
                latencies.setdefault(q, []).append((time.perf_counter() - started) * 1000)
        for q, values in latencies.items():
            figures[f"search `{q}` (median of 5, ms)"] = f"{statistics.median(values):.1f}"
        all_values = sorted(v for vs in latencies.values() for v in vs)
        figures["search, all queries: median / max (ms)"] = (
            f"{statistics.median(all_values):.1f} / {all_values[-1]:.1f}"
        )
        for label, filters in (
            ("--source yonhap --since 2023-01-01", {"source": "yonhap", "since": "2023-01-01"}),
            ("--source koreaherald", {"source": "koreaherald"}),
            (
                "--since 2024-06-01 --until 2024-07-01",
                {"since": "2024-06-01", "until": "2024-07-01"},
            ),
        ):
            values = []
            for _ in range(5):
                started = time.perf_counter()
                search.search(archive, "satellite", limit=20, **filters)
                values.append((time.perf_counter() - started) * 1000)
            figures[f"search `satellite` {label} (median of 5, ms)"] = (
                f"{statistics.median(values):.1f}"
            )
        started = time.perf_counter()
        stats.collect(archive)
        figures["stats, collect() (s)"] = f"{time.perf_counter() - started:.3f}"
    search_ms = _timed_cli(["--archive", str(root), "search", "reconnaissance satellite"]) * 1000
    figures["`scraper search` in-process CLI, incl. opening the index (ms)"] = f"{search_ms:.1f}"
    figures["`scraper stats` in-process CLI (s)"] = (
        f"{_timed_cli(['--archive', str(root), 'stats']):.3f}"
    )
    for fmt in ("jsonl", "csv"):
        seconds = _timed_cli(["-q", "--archive", str(root), "export", "--format", fmt])
        figures[f"export {fmt} (articles/s)"] = f"{count / seconds:,.0f} ({seconds:.1f} s)"
    # reparse: the real path (WARC read, extract in worker processes, compare, rewrite)
    with Archive(root) as archive:
        started = time.perf_counter()
        summary = reparse.reparse(archive)
        seconds = time.perf_counter() - started
    figures["reparse, whole archive (articles/s)"] = (
        f"{summary.checked / seconds:,.0f} ({summary.checked} articles in {seconds:.1f} s, "
        f"changed {summary.changed}, failed {summary.failed})"
    )
    sizes = {name: _du(root / name) for name in ("warc", "articles")}
    sizes["index"] = sum(p.stat().st_size for p in root.glob("index.sqlite*"))
    total = sum(sizes.values())
    figures["archive bytes per article (total)"] = f"{total / count:,.0f}"
    for name, size in sizes.items():
        figures[f"  of which {name}"] = f"{size / count:,.0f}"
    return figures


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench archive")
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="build here and keep it (default: temp dir)")
    parser.add_argument("--build-only", action="store_true", help="with --keep: build, no timing")
    args = parser.parse_args(argv)
    tmp = None
    if args.keep:
        root = args.keep
    else:
        tmp = tempfile.mkdtemp(prefix="bench-archive-")
        root = Path(tmp) / "archive"
    try:
        if not (root / "index.sqlite").exists():
            print(f"building {args.articles} articles in {root}", flush=True)
            built = build(root, args.articles)
            print(f"built in {built:.0f} s ({args.articles / built:,.0f} articles/s)")
        if args.build_only:
            return
        figures = measure(root, args.articles)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    buf = io.StringIO()
    buf.write(
        f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{datetime.now(UTC):%Y-%m-%d}\n\n| measure | value |\n|---|---|\n"
    )
    for key, value in figures.items():
        buf.write(f"| {key} | {value} |\n")
    print(buf.getvalue())


if __name__ == "__main__":  # options: python -m bench.archive --articles 10000
    import sys

    from bench import exit_on_sigterm

    exit_on_sigterm()
    main(sys.argv[1:])
