"""End-to-end crawl speed and memory against a local zero-latency server, beside trafilatura.

``python -m bench crawl`` (or ``python -m bench.crawl [--articles N] [--profile]``)

The test server (tests/server.py) publishes N Yonhap articles (the 16 fixture pages under
N different ids, the id rewritten in the canonical link and og:url so each is its own
article) in the all-news feed, and a robots.txt. Then, each in its own process so that CPU
time and peak RSS are that process's own (``os.wait4``):

  1. ``scraper crawl --source yonhap`` with politeness delays off (min_delay 0; robots.txt
     still read, still one request in flight): discovery, fetch, WARC, extract, JSON, index;
  2. the same URLs through trafilatura's own ``fetch_url`` + ``extract``, one after another.

The server runs in a process of its own too: Linux keeps ``ru_maxrss`` across fork and exec,
so a child of a process holding N pages would inherit that process's peak.

``--profile`` instead runs the crawl in this process under cProfile and prints where the
time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.server import FixtureServer, rss, yonhap_copy  # noqa: E402


@dataclass(frozen=True)
class Run:
    name: str
    articles: int
    wall: float  # seconds
    cpu: float  # user + system seconds of the process
    max_rss_kb: int

    def row(self) -> str:
        return (
            f"| {self.name} | {self.articles} | {self.wall:.2f} | {self.articles / self.wall:.0f} "
            f"| {1000 * self.cpu / self.articles:.1f} | {self.max_rss_kb / 1024:.0f} |"
        )


def _native(i: int) -> str:
    """As Yonhap numbers them: each story a new 4-digit serial prefix, "00" for a first version
    (updates count from 51 under the same prefix; see scraper/lineage.py)."""
    return f"AEN20230419{i:04d}00320"


def _publish(server: FixtureServer, n: int) -> list[str]:
    paths = []
    for i in range(n):
        native = _native(i)
        server.add(f"/view/{native}", yonhap_copy(1 + i % 16, native))
        paths.append(f"/view/{native}")
    server.add(
        "/RSS/news.xml",
        rss([f"https://en.yna.co.kr{p}?section=news&input=rss" for p in paths]),
        content_type="application/rss+xml",
    )
    server.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    return paths


def _config(tmp: Path, base_url: str) -> Path:
    path = tmp / "scraper.toml"
    path.write_text(
        f"""
[archive]
path = "{tmp / "archive"}"

[http]
timeout = 10

[sources.yonhap]
base_url = "{base_url}"
min_delay = 0

[sources.koreaherald]
enabled = false
"""
    )
    return path


def _measure(name: str, argv: list[str], articles: int) -> Run:
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{name} failed ({status}): {out}\n{err[-2000:]}")
    print(f"  {name}: {out.strip().splitlines()[-1] if out.strip() else 'done'}")
    return Run(name, articles, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)


def _trafilatura_worker(url_file: str) -> None:
    """Run in a child process: fetch and extract every URL with trafilatura alone."""
    from copy import deepcopy

    import trafilatura
    from trafilatura.settings import DEFAULT_CONFIG

    config = deepcopy(DEFAULT_CONFIG)
    # the server is on 127.0.0.1: trafilatura's SSRF guard would refuse it (no internet here)
    config.set("DEFAULT", "SSRF_PROTECTION", "off")
    urls = Path(url_file).read_text().split()
    extracted = 0
    for url in urls:
        html = trafilatura.fetch_url(url, config=config)
        if html and trafilatura.extract(html, url=url, with_metadata=True):
            extracted += 1
    print(f"extracted {extracted} of {len(urls)}")
    if extracted != len(urls):
        sys.exit(1)


def _serve(n: int) -> None:
    """Run in a child process: serve N articles, print the URL, stop when stdin closes."""
    server = FixtureServer().start()
    _publish(server, n)
    print(server.url, flush=True)
    sys.stdin.read()
    server.stop()


def _profile(config: Path) -> None:
    from scraper.config import load_config
    from scraper.crawl import crawl_source
    from scraper.pipeline import Context

    cfg = load_config(config, env={})
    profiler = cProfile.Profile()
    with Context.open(cfg) as ctx:
        profiler.enable()
        summary = crawl_source(ctx, cfg.source("yonhap"))
        profiler.disable()
    print(summary.line())
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench crawl")
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--profile", action="store_true", help="cProfile the crawl instead")
    parser.add_argument("--trafilatura-worker", metavar="FILE", help=argparse.SUPPRESS)
    parser.add_argument("--serve", type=int, metavar="N", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.trafilatura_worker:
        _trafilatura_worker(args.trafilatura_worker)
        return
    if args.serve:
        _serve(args.serve)
        return
    if args.profile:
        server = FixtureServer().start()
        _publish(server, args.articles)
        with tempfile.TemporaryDirectory(prefix="bench-crawl-") as tmpdir:
            _profile(_config(Path(tmpdir), server.url))
        server.stop()
        return
    serving = subprocess.Popen(
        [sys.executable, "-m", "bench.crawl", "--serve", str(args.articles)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        assert serving.stdout is not None and serving.stdin is not None  # both are pipes
        base_url = serving.stdout.readline().decode().strip()
        paths = [f"/view/{_native(i)}" for i in range(args.articles)]
        with tempfile.TemporaryDirectory(prefix="bench-crawl-") as tmpdir:
            tmp = Path(tmpdir)
            config = _config(tmp, base_url)
            print(f"crawl benchmark: {args.articles} articles from {base_url}")
            scraper = str(Path(sys.executable).parent / "scraper")
            ours = _measure(
                "scraper crawl",
                [scraper, "--config", str(config), "-q", "crawl", "--source", "yonhap"],
                args.articles,
            )
            db = sqlite3.connect(tmp / "archive" / "index.sqlite")
            stored = db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
            db.close()
            if stored != args.articles:
                raise SystemExit(f"only {stored} of {args.articles} articles archived")
            urls = tmp / "urls.txt"
            urls.write_text("\n".join(base_url + p for p in paths))
            theirs = _measure(
                "trafilatura fetch_url + extract",
                [sys.executable, "-m", "bench.crawl", "--trafilatura-worker", str(urls)],
                args.articles,
            )
    finally:
        if serving.stdin is not None:
            serving.stdin.close()
        serving.wait(10)
    print()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print("| run | articles | wall s | articles/s | CPU ms/article | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    print(ours.row())
    print(theirs.row())
    print(f"speed-up: {theirs.wall / ours.wall:.1f}x")


if __name__ == "__main__":
    main(sys.argv[1:])
