"""Extraction for ``scraper import`` in worker processes, results handed back in input order.

Why processes: extracting a page (HTML parse, the source's parser, the cleaner) is most of the
CPU an imported article costs and is pure Python, so threads would not run it in parallel.
The workers get a record's bytes and return what the main process needs to store it (the HTTP
part, the payload digest, the article or its ``ParseError``); they never touch the archive.
Everything that reads or writes the archive (dedupe, WARC copy, save, cursor) stays in the main
process, in the input's order, so an import with ``--jobs N`` stores exactly what ``--jobs 1``
stores and resumes at the same record after a kill.

Bounds: at most ``4 × jobs`` records are being extracted ahead of the one being stored, and at
most ``AHEAD_BYTES`` of records are held read ahead, so memory does not grow with the input.

Workers are started with ``spawn`` (not ``fork``: the CLI may run a progress-bar thread, and a
forked child must not inherit the open SQLite connection), ignore SIGINT and SIGTERM (the main
process handles them and stops the pool) and exit by themselves when the main process dies,
even by ``kill -9``.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

from scraper import sources as registry
from scraper.errors import ParseError
from scraper.extract import extract
from scraper.history.reader import HttpPart, RawRecord, Truncated, http_part, with_source
from scraper.models import Article
from scraper.warc import pack

AHEAD_BYTES = 64 * 1024 * 1024  # records read ahead of the one being stored, at most
PER_WORKER = 4  # records being extracted per worker, at most


def default_jobs() -> int:
    """The CPUs this process may run on (the default of ``scraper import --jobs``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Extracted:
    """A response record decoded and extracted in a worker: the HTTP part (``None`` when the
    block is no HTTP response), the decoded payload's digest, the article or the
    ``ParseError`` it raised, and the gzip member of the record's copy (``reader.with_source``)
    for our WARC store; only ``http`` when the response is not one to use (see ``usable``)."""

    http: HttpPart | None
    digest: str = ""
    article: Article | None = None
    error: ParseError | None = None
    member: bytes | None = None


@dataclass(frozen=True)
class Job:
    """What a worker needs: the record's bytes and the article it should be."""

    data: bytes
    offset: int  # of the record in its input (the copy's WARC-Source-Offset)
    input_uri: str  # the input's URI (the copy's WARC-Source-URI)
    source: str  # the source's name (a worker looks it up in its own registry)
    canonical_url: str
    fetched_at: str  # ISO 8601, UTC (``ingest.fetched_at`` of the record's WARC-Date)


def payload_digest(body: bytes) -> str:
    """The dedupe key of a payload (``history_payloads.digest``)."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def run_job(job: Job, usable: Callable[[HttpPart | None], bool]) -> Extracted:
    """Decode and extract one record (in a worker, or in-process)."""
    record = RawRecord(job.offset, 0, job.data, {})
    http = http_part(record)
    if http is None or not usable(http):
        return Extracted(http)
    digest, member = payload_digest(http.body), pack(with_source(record, job.input_uri))
    try:
        article = extract(
            http.body,
            job.canonical_url,
            source=registry.by_name(job.source),
            fetched_at=job.fetched_at,
            content_type=http.header("content-type"),
            where=job.canonical_url,
        )
    except ParseError as exc:
        exc.__traceback__ = None  # the traceback does not pickle; message and where do
        return Extracted(http, digest, error=exc, member=member)
    return Extracted(http, digest, article=article, member=member)


def _watch_parent() -> None:
    """Worker initializer: leave Ctrl-C and SIGTERM to the main process (it stops the pool as
    it unwinds), and exit when it is gone (a ``kill -9`` of the main process would otherwise
    leave the workers waiting forever)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # ``kill`` of the process group: likewise
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def wait() -> None:
        parent.join()
        os._exit(0)

    threading.Thread(target=wait, name="parent-watch", daemon=True).start()


Submit = Callable[[RawRecord], "Future[Extracted] | None"]


class Pool:
    """``jobs`` worker processes, started at the first record that needs one."""

    def __init__(self, jobs: int, usable: Callable[[HttpPart | None], bool]) -> None:
        self.jobs = jobs
        self.usable = usable
        self._executor: ProcessPoolExecutor | None = None

    def submit(self, job: Job) -> Future[Extracted]:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                self.jobs,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_watch_parent,
            )
        return self._executor.submit(run_job, job, self.usable)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


Item = tuple[RawRecord | Truncated, "Future[Extracted] | None"]


def ahead(records: Iterator[RawRecord | Truncated], submit: Submit, limit: int) -> Iterator[Item]:
    """``records`` in their order, each with the extraction ``submit`` started for it (or
    ``None``): reads ahead while the oldest extraction runs, up to ``limit`` extractions and
    ``AHEAD_BYTES`` of records. Extractions still running when the caller stops are cancelled
    or left to finish (their results unused)."""
    queue: deque[Item] = deque()
    running = held = 0
    try:
        for record in records:
            future = submit(record) if isinstance(record, RawRecord) else None
            queue.append((record, future))
            running += future is not None
            held += len(record.data) if isinstance(record, RawRecord) else 0
            while queue and (
                queue[0][1] is None or queue[0][1].done() or running > limit or held > AHEAD_BYTES
            ):
                item = queue.popleft()
                running -= item[1] is not None
                held -= len(item[0].data) if isinstance(item[0], RawRecord) else 0
                yield item
        while queue:
            yield queue.popleft()
    finally:
        for _, future in queue:
            if future is not None:
                future.cancel()
