"""History: ``scraper import`` throughput and the backfill's request rate.

1. import, two WARC shapes, each with N records none of which is an article URL and with M
   matching article captures (Yonhap fixture pages under distinct ids):
   - "responses": one response record per capture (the shape of many hand-made WARCs);
   - "crawler": a request, a response and a metadata record per capture, as warcio's
     ``capture_http`` and Browsertrix write them (only the response can match).
   ``Importer`` end to end (framing, HTTP decoding, extraction, WARC copy, article file, index)
   with each ``--jobs`` value asked for: records/s, matching articles/s or non-matching
   records/s, and the main process's CPU per record. The archive is opened with
   ``durable=False`` like bench/archive.py (no fsync per article file); the WARC copy (with
   its fdatasync) and SQLite are as in production. The non-matching responses file is also
   walked by warcio's and FastWARC's iterators (headers only).
2. backfill: ``scraper backfill`` against a local HTTP stand-in (IA-style CDX, one page, K
   captures) at the configured ``min_delay`` (default 1 s): requests per second achieved.

    .venv/bin/python -m bench.history [--records N] [--matching M] [--captures K] [--jobs J…]
"""

from __future__ import annotations

import argparse
import gzip
import io
import itertools
import json
import os
import resource
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
from scraper.history.workers import default_jobs
from scraper.store import Archive
from scraper.warc import WarcStore

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
PAGE = (FIXTURES / "yonhap" / "yna_article_15.html").read_bytes()
PAGE_ID = "AEN20230419000952325"


def _warc_record(
    uri: str, kind: str, body: bytes, date: str, http: StatusAndHeaders | None = None, **extra: str
) -> bytes:
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=False, warc_version="WARC/1.0")
    record = writer.create_warc_record(
        uri,
        kind,
        payload=io.BytesIO(body),
        length=len(body),
        http_headers=http,
        warc_headers_dict={"WARC-Date": date, **extra},
    )
    if kind == "metadata":
        record.rec_headers.replace_header("Content-Type", "application/warc-fields")
    writer.write_record(record)
    return gzip.compress(out.getvalue(), compresslevel=6)


def _capture(uri: str, body: bytes, shape: str, date: str = "2016-03-01T00:00:00Z") -> bytes:
    """One capture of ``uri`` in the given shape (see the module docstring)."""
    headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))]
    http = StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")
    response = _warc_record(uri, "response", body, date, http)
    if shape == "responses":
        return response
    response_id = next(
        line.split(b":", 1)[1].strip().decode()
        for line in gzip.decompress(response).split(b"\r\n")
        if line.startswith(b"WARC-Record-ID:")
    )
    path = uri.split("/", 3)[3]
    host = uri.split("/")[2]
    request_http = StatusAndHeaders(
        f"GET /{path} HTTP/1.1",
        [("Host", host), ("User-Agent", "Mozilla/5.0 (bench)"), ("Accept", "text/html")],
        is_http_request=True,
    )
    request = _warc_record(
        uri, "request", b"", date, request_http, **{"WARC-Concurrent-To": response_id}
    )
    metadata = _warc_record(
        uri,
        "metadata",
        b"fetchTimeMs: 120\r\noutlink: https://en.yna.co.kr/news\r\n",
        date,
        **{"WARC-Concurrent-To": response_id},
    )
    return request + response + metadata  # the order warcio's capture_http writes


def _native(i: int) -> str:
    return f"AEN2016{1 + i // 28 % 12:02d}{1 + i % 28:02d}{i:06d}315"


def build(path: Path, n: int, *, matching: bool, shape: str = "responses") -> Path:
    """``n`` captures (``shape``: one or three records each), all articles or none."""
    other = b"<html><body>" + b"<p>not an article of ours</p>" * 300 + b"</body></html>"
    with path.open("wb") as fh:
        for i in range(n):
            if matching:
                native = _native(i)
                uri = f"https://en.yna.co.kr/view/{native}"
                fh.write(_capture(uri, PAGE.replace(PAGE_ID.encode(), native.encode()), shape))
            else:
                fh.write(_capture(f"https://example.org/page/{i}", other, shape))
    return path


def _config(tmp: Path, extra: str = "") -> Path:
    cfg = tmp / "scraper.toml"
    cfg.write_text(f'[archive]\npath = "{tmp / "archive"}"\n{extra}')
    return cfg


def bench_import(tmp: Path, warc: Path, label: str, jobs: int = 1) -> float:
    """Import ``warc`` into a new archive; prints records/s and what matched. Returns the
    records/s."""
    config = load_config(_config(tmp))
    root = config.archive.path
    start, cpu, workers = time.perf_counter(), time.process_time(), _children_cpu()
    with Archive(root, durable=False) as archive:
        warcs = WarcStore(root)
        summary = Importer(config, archive, warcs, jobs=jobs).run([warc])
        warcs.close()
    took, cpu = time.perf_counter() - start, time.process_time() - cpu
    workers = _children_cpu() - workers  # the pool's processes, reaped by now
    rate = summary.scanned / took
    stored = summary.new + summary.revised + summary.unchanged
    other = summary.scanned - summary.matched
    per = 1000 / max(summary.scanned, 1)
    print(
        f"{label} (--jobs {jobs}): {summary.scanned} records in {took:.2f} s = {rate:,.0f} "
        f"records/s; {stored / took:,.0f} matching articles/s, {other / took:,.0f} "
        f"non-matching records/s; CPU per record: main process {cpu * per:.2f} ms, workers "
        f"{workers * per:.2f} ms; load {_load()}"
    )
    print(f"  {summary.line()}")
    return rate


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _load() -> str:
    """The 1-minute load average (other work on a shared machine moves every figure)."""
    return f"{os.getloadavg()[0]:.2f}"


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
    parser.add_argument(
        "--jobs",
        type=int,
        nargs="+",
        default=[default_jobs()],
        help="import --jobs values to run the matching imports with (default: the CPUs)",
    )
    parser.add_argument(
        "--shapes", nargs="+", choices=("responses", "crawler"), default=["responses", "crawler"]
    )
    args = parser.parse_args(argv)
    print(f"{os.cpu_count()} CPUs, {default_jobs()} available; load {_load()}")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        for shape in args.shapes:
            other = build(tmp / f"other-{shape}.warc.gz", args.records, matching=False, shape=shape)
            (tmp / f"a-{shape}").mkdir()
            label = f"import, {shape}, no capture matching"
            bench_import(tmp / f"a-{shape}", other, label, max(args.jobs))
            if shape == "responses":
                bench_readers(other)
            if args.matching:
                matching = build(
                    tmp / f"matching-{shape}.warc.gz", args.matching, matching=True, shape=shape
                )
                for jobs in args.jobs:
                    folder = tmp / f"b-{shape}-{jobs}"
                    folder.mkdir()
                    bench_import(
                        folder, matching, f"import, {shape}, every capture an article", jobs
                    )
        if args.captures:
            (tmp / "c").mkdir()
            bench_backfill(tmp / "c", args.captures)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
