"""History: ``scraper import`` throughput and the backfill's request rate.

1. read: a WARC of N records (default 10,000) none of which is an article URL, scanned by
   ``Importer`` end to end (records/s), and for comparison the same file walked by warcio's
   and FastWARC's iterators (headers only).
2. import: a WARC of M matching records (default 10,000; Yonhap fixture pages under distinct
   ids), ``Importer`` end to end: framing, HTTP decoding, extraction, WARC copy, article file,
   index (records/s). The archive is opened with ``durable=False`` like bench/archive.py (no
   fsync per article file); the WARC copy and SQLite are as in production.
3. backfill: ``scraper backfill`` against a local HTTP stand-in (IA-style CDX, one page, K
   captures) at the configured ``min_delay`` (default 1 s): requests per second achieved.

    .venv/bin/python -m bench.history [--records N] [--matching M] [--captures K]
"""

from __future__ import annotations

import argparse
import gzip
import io
import itertools
import json
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from scraper.config import load_config
from scraper.filters import Window
from scraper.history import backfill
from scraper.history.importer import Importer
from scraper.store import Archive
from scraper.warc import WarcStore

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
PAGE = (FIXTURES / "yonhap" / "yna_article_15.html").read_bytes()
PAGE_ID = "AEN20230419000952325"


def _record(uri: str, body: bytes, date: str = "2016-03-01T00:00:00Z") -> bytes:
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=False, warc_version="WARC/1.0")
    headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))]
    writer.write_record(
        writer.create_warc_record(
            uri,
            "response",
            payload=io.BytesIO(body),
            length=len(body),
            http_headers=StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1"),
            warc_headers_dict={"WARC-Date": date},
        )
    )
    return gzip.compress(out.getvalue(), compresslevel=6)


def _native(i: int) -> str:
    return f"AEN2016{1 + i // 28 % 12:02d}{1 + i % 28:02d}{i:06d}315"


def build(path: Path, n: int, *, matching: bool) -> Path:
    other = b"<html><body>" + b"<p>not an article of ours</p>" * 300 + b"</body></html>"
    with path.open("wb") as fh:
        for i in range(n):
            if matching:
                native = _native(i)
                uri = f"https://en.yna.co.kr/view/{native}"
                fh.write(_record(uri, PAGE.replace(PAGE_ID.encode(), native.encode())))
            else:
                fh.write(_record(f"https://example.org/page/{i}", other))
    return path


def _config(tmp: Path, extra: str = "") -> Path:
    cfg = tmp / "scraper.toml"
    cfg.write_text(f'[archive]\npath = "{tmp / "archive"}"\n{extra}')
    return cfg


def bench_import(tmp: Path, warc: Path, label: str) -> float:
    config = load_config(_config(tmp))
    root = config.archive.path
    start = time.perf_counter()
    with Archive(root, durable=False) as archive:
        warcs = WarcStore(root)
        summary = Importer(config, archive, warcs).run([warc])
        warcs.close()
    took = time.perf_counter() - start
    rate = summary.scanned / took
    print(f"{label}: {summary.scanned} records in {took:.2f} s = {rate:,.0f} records/s")
    print(f"  {summary.line()}")
    return rate


def bench_readers(warc: Path) -> None:
    from warcio.archiveiterator import ArchiveIterator

    start = time.perf_counter()
    with warc.open("rb") as fh:
        n = sum(1 for r in ArchiveIterator(fh) if r.rec_headers.get_header("WARC-Target-URI"))
    took = time.perf_counter() - start
    print(f"warcio ArchiveIterator (headers only): {n / took:,.0f} records/s")
    try:
        from fastwarc.warc import ArchiveIterator as FastIterator
    except ImportError:
        print("fastwarc: not installed (pip install fastwarc)")
        return
    start = time.perf_counter()
    with warc.open("rb") as fh:
        n = sum(1 for r in FastIterator(fh) if r.headers.get("WARC-Target-URI"))
    took = time.perf_counter() - start
    print(f"FastWARC ArchiveIterator (headers only): {n / took:,.0f} records/s")


def bench_backfill(tmp: Path, captures: int) -> None:
    body = PAGE
    rows = [["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]]
    for i in range(captures):
        native = _native(i)
        rows.append(
            [f"kr,co,yna,en)/view/{native.lower()}", f"201603{1 + i % 28:02d}000000",
             f"http://en.yna.co.kr/view/{native}", "text/html", "200", f"D{i}", "1"]
        )  # fmt: skip
    hits: list[float] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(time.monotonic())
            if self.path.startswith("/cdx"):
                data = json.dumps(rows if "AEN" in self.path else rows[:1]).encode()
            elif "id_/" in self.path:
                native = self.path.rsplit("/", 1)[1]
                data = body.replace(PAGE_ID.encode(), native.encode())
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    cfg = _config(
        tmp, f'[backfill]\ncdx_url = "{base}/cdx"\nreplay_url = "{base}/{{timestamp}}id_/{{url}}"\n'
    )
    config = load_config(cfg)
    start = time.perf_counter()
    summary = backfill.run(config, "yonhap", Window.parse("2016-03-01", "2016-03-31"))
    took = time.perf_counter() - start
    server.shutdown()
    gaps = [b - a for a, b in itertools.pairwise(hits)]
    print(
        f"backfill: {summary.requests} requests ({summary.fetched} captures) in {took:.1f} s = "
        f"{summary.requests / took:.2f} requests/s at min_delay {config.backfill.min_delay} s; "
        f"smallest gap between requests {min(gaps):.3f} s"
    )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench history")
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--matching", type=int, default=10_000)
    parser.add_argument("--captures", type=int, default=10)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        other = build(tmp / "other.warc.gz", args.records, matching=False)
        (tmp / "a").mkdir()
        bench_import(tmp / "a", other, "import, no record matching")
        bench_readers(other)
        if args.matching:
            matching = build(tmp / "matching.warc.gz", args.matching, matching=True)
            (tmp / "b").mkdir()
            bench_import(tmp / "b", matching, "import, every record an article")
        if args.captures:
            (tmp / "c").mkdir()
            bench_backfill(tmp / "c", args.captures)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
