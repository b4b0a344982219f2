"""Raw captures as WARC 1.1 (ISO 28500), one gzip member per record, written from the exact bytes
httpx received (warcio's ``capture_http`` cannot see httpx traffic).

Files: ``warc/<source>/<source>-<YYYY-MM-DD>-<seq>.warc.gz``. Each process opens its own file
(created with O_EXCL, so two processes never share one) and appends each exchange (redirect hops,
response or revisit, request, metadata; see ``encode_exchange``) with a single ``write``: a
killed process leaves at most one incomplete tail, which ``repair_tail`` cuts off at the last
complete gzip member.

While a process has a file open it holds an exclusive ``flock`` on it and a marker file
``warc/<source>/.<name>.open`` exists; a clean close removes the marker. On start-up
(``recover``) every marker whose file nobody holds any more names a file whose writer died:
its tail is repaired and the marker removed. ``scan`` walks a whole file member by member for
``scraper check``.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import io
import json
import logging
import mmap
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from scraper import __version__, crashpoints, flocks
from scraper.errors import DiskFull, StoreError, is_disk_full
from scraper.models import FetchedPage
from scraper.salvage import cut_tail

log = logging.getLogger(__name__)

# hop-by-hop or already-undone framing: the payload we store is de-chunked
_DROP_HEADERS = frozenset({"transfer-encoding"})
_REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    304: "Not Modified",
    404: "Not Found",
}


@dataclass(frozen=True)
class WarcRef:
    """Where a capture lives: file relative to the archive root, byte offset and length."""

    file: str
    offset: int  # of the response (or revisit) record, as in a CDX line
    length: int  # of that record's gzip member
    record_id: str
    uri: str = ""  # its WARC-Target-URI (the URL that answered, after redirects)
    record_type: str = "response"  # or "revisit" (same payload as an earlier response)
    payload_digest: str = ""


class _RawHeaders(StatusAndHeaders):  # type: ignore[misc]  # warcio is untyped
    """Headers written back byte for byte: warcio would %-encode any non-ASCII value, while
    our values are the received bytes decoded 1:1 as latin-1."""

    def compute_headers_buffer(self, header_filter: Any = None) -> None:
        self.headers_buff = self.to_str(header_filter).encode("latin-1") + b"\r\n"


class _Writer(WARCWriter):  # type: ignore[misc]  # warcio is untyped
    # WARC 1.1 (5.9) gives WARC-Payload-Digest a meaning only where the block has a well-defined
    # payload; a metadata record's JSON block has none, and `fastwarc check -p` rejects it
    NO_PAYLOAD_DIGEST_TYPES = ("warcinfo", "revisit", "metadata")


def _http_headers(page: FetchedPage) -> StatusAndHeaders:
    headers = []
    for key, value in page.response_headers:
        if key.lower() in _DROP_HEADERS:
            headers.append((f"X-Archive-Orig-{key}", value))
        else:
            headers.append((key, value))
    protocol = page.http_version if page.http_version.startswith("HTTP/") else "HTTP/1.1"
    # the reason phrase as received; the table only stands in for pages made without one
    reason = page.reason or _REASONS.get(page.status, "")
    return _RawHeaders(f"{page.status} {reason}".strip(), headers, protocol=protocol)


def _request_headers(page: FetchedPage) -> StatusAndHeaders:
    parts = urlsplit(page.final_url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _RawHeaders(
        f"{page.method} {target} HTTP/1.1", list(page.request_headers), is_http_request=True
    )


# warcio gzips each record at zlib level 9; level 6 makes members within 0.5 % of that size in
# two thirds of the time (a 120 KB Yonhap page: 19,012 vs 18,947 bytes, 2.4 vs 3.7 ms), and
# compression was the largest single cost of a crawl (bench/crawl.py --profile).
GZIP_LEVEL = 6


def _gzip_member(record: Any) -> bytes:
    """One record as its own gzip member, so a reader can seek to any record's offset."""
    plain = io.BytesIO()
    _Writer(plain, gzip=False, warc_version="WARC/1.1").write_record(record)
    packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return packer.compress(plain.getvalue()) + packer.flush()


def payload_digest(raw_body: bytes) -> str:
    """``WARC-Payload-Digest`` of a response body as received (the form warcio writes)."""
    return "sha1:" + base64.b32encode(hashlib.sha1(raw_body).digest()).decode("ascii")


def warc_date(fetched_at: str) -> str:
    return fetched_at.replace("+00:00", "Z")


@dataclass(frozen=True)
class Original:
    """An earlier response record with the same payload, which a revisit record refers to."""

    record_id: str
    uri: str
    date: str  # its WARC-Date


@dataclass(frozen=True)
class Encoded:
    """One exchange as WARC bytes, ready to append (encoding is pure: any thread may do it).

    ``offset``/``length`` locate the final response (or revisit) record inside ``data``: what
    the catalog points at, as a CDX line would."""

    data: bytes
    record_id: str  # of the response record
    offset: int = 0
    length: int = 0
    record_type: str = "response"  # or "revisit"
    payload_digest: str = ""
    uri: str = ""


METADATA_URN = "urn:x-scraper:article:"


def _one_exchange(
    writer: WARCWriter, page: FetchedPage, original: Original | None
) -> tuple[Any, Any]:
    """The response (or revisit) record of one HTTP exchange, and its request record."""
    date = warc_date(page.fetched_at)
    if original is None:
        response = writer.create_warc_record(
            page.final_url,
            "response",
            payload=io.BytesIO(page.raw_body),
            length=len(page.raw_body),
            http_headers=_http_headers(page),
            warc_headers_dict={"WARC-Date": date},
        )
    else:  # same payload as a stored response: headers only (WARC 1.1, 6.7.2)
        response = writer.create_revisit_record(
            page.final_url,
            payload_digest(page.raw_body),
            original.uri,
            original.date,
            http_headers=_http_headers(page),
            warc_headers_dict={"WARC-Date": date, "WARC-Refers-To": original.record_id},
        )
    request = writer.create_warc_record(
        page.final_url,
        "request",
        payload=io.BytesIO(b""),
        length=0,
        http_headers=_request_headers(page),
        warc_headers_dict={
            "WARC-Date": date,
            "WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID"),
        },
    )
    return response, request


def encode_exchange(
    page: FetchedPage,
    metadata: dict[str, Any] | None = None,
    *,
    revisit_of: Original | None = None,
) -> Encoded:
    """Every redirect hop (response + request), then the final response, or a revisit record
    when ``revisit_of`` holds the same payload, its request, and a metadata record; each
    record its own gzip member.

    The metadata record's target is ``urn:x-scraper:article:<id>``, never the page URL: replay
    tools index every record by its target URI and would serve the JSON instead of the page
    (pywb did); ``WARC-Concurrent-To`` links it to the response."""
    writer = _Writer(io.BytesIO(), gzip=False, warc_version="WARC/1.1")
    members: list[bytes] = []
    for hop in page.redirects:
        members.extend(_gzip_member(record) for record in _one_exchange(writer, hop, None))
    response, request = _one_exchange(writer, page, revisit_of)
    response_id = response.rec_headers.get_header("WARC-Record-ID")
    offset = sum(len(m) for m in members)
    response_member = _gzip_member(response)
    members += [response_member, _gzip_member(request)]
    if metadata:
        body = json.dumps(metadata, ensure_ascii=False, sort_keys=True).encode()
        ident = metadata.get("article_id") or response_id.strip("<>").rsplit(":", 1)[-1]
        meta = writer.create_warc_record(
            f"{METADATA_URN}{ident}",
            "metadata",
            payload=io.BytesIO(body),
            length=len(body),
            warc_content_type="application/json",
            warc_headers_dict={
                "WARC-Date": warc_date(page.fetched_at),
                "WARC-Concurrent-To": response_id,
            },
        )
        members.append(_gzip_member(meta))
    return Encoded(
        data=b"".join(members),
        record_id=response_id,
        offset=offset,
        length=len(response_member),
        record_type="response" if revisit_of is None else "revisit",
        payload_digest=payload_digest(page.raw_body),
        uri=page.final_url,
    )


def _warcinfo(filename: str) -> bytes:
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True, warc_version="WARC/1.1")
    record = writer.create_warcinfo_record(
        filename,
        {
            "software": f"kr-news-archiver/{__version__}",
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        },
    )
    writer.write_record(record)
    return buf.getvalue()


@dataclass
class _OpenFile:
    rel: str  # path relative to the archive root
    fd: int
    size: int
    day: str


class WarcStore:
    """Appends exchanges to this process's current WARC file of each source."""

    def __init__(
        self, root: Path, *, max_bytes: int = 1024**3, recover: bool = True, durable: bool = True
    ) -> None:
        """``durable=False`` skips the fdatasync after each exchange (bulk loads that can start
        over after a power cut, like ``Archive(durable=False)``)."""
        self.root = root
        self.max_bytes = max_bytes
        self.durable = durable
        self._open: dict[str, _OpenFile] = {}
        if recover:
            recover_files(root)

    def _new_file(self, source: str) -> _OpenFile:
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        folder = self.root / "warc" / source
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create {folder}: {exc.strerror}") from exc
        seq = next_seq(folder, source, day)
        while True:
            name = warc_name(source, day, seq)
            path = folder / name
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
                break
            except FileExistsError:
                seq += 1
            except OSError as exc:
                raise StoreError(
                    f"cannot create WARC file: {exc.strerror}", where=str(path)
                ) from exc
        rel = f"warc/{source}/{name}"
        # the lock says "a live writer owns this file"; the kernel drops it when we die
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            marker(path).write_text(f"{os.getpid()}\n")
        except OSError as exc:
            os.close(fd)
            for leftover in (path, marker(path)):
                with contextlib.suppress(OSError):
                    leftover.unlink()
            if is_disk_full(exc):
                raise DiskFull("WARC marker", where=rel) from exc
            raise StoreError(f"cannot create WARC marker: {exc.strerror}", where=rel) from exc
        info = _warcinfo(name)
        try:
            self._write_all(fd, info, rel)
        except StoreError:  # disk full at the very start: leave no stub file behind
            os.close(fd)
            for leftover in (path, marker(path)):
                with contextlib.suppress(OSError):
                    leftover.unlink()
            raise
        if self.durable:  # the new name must survive a power cut too, not only its bytes
            _sync_dir(folder, rel)
        return _OpenFile(rel=rel, fd=fd, size=len(info), day=day)

    def _write_all(self, fd: int, data: bytes, rel: str) -> None:
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
        except OSError as exc:
            if is_disk_full(exc):
                raise DiskFull("WARC file", where=rel) from exc
            raise StoreError(f"cannot write WARC: {exc.strerror}", where=rel) from exc

    def append(
        self,
        source: str,
        page: FetchedPage,
        metadata: dict[str, Any] | None = None,
        *,
        encoded: Encoded | None = None,
    ) -> WarcRef:
        """Append one exchange; ``encoded`` is its ``encode_exchange`` done ahead of time."""
        if encoded is None:
            encoded = encode_exchange(page, metadata)
        rel, offset = self._append_bytes(source, encoded.data)
        return WarcRef(
            file=rel,
            offset=offset + encoded.offset,
            length=encoded.length,
            record_id=encoded.record_id,
            uri=encoded.uri,
            record_type=encoded.record_type,
            payload_digest=encoded.payload_digest,
        )

    def append_records(self, source: str, raw_records: list[bytes]) -> list[WarcRef]:
        """Append WARC records made elsewhere (``scraper import``, ``scraper backfill``) as they
        are: each ``raw_records`` item is one complete uncompressed record (headers, block and
        the closing CRLF CRLF), kept byte for byte, so its own WARC-Record-ID and WARC-Date
        stay. Each becomes its own gzip member; all go in one ``write``. Returns one ``WarcRef``
        per record, in order."""
        members = []
        for raw in raw_records:
            packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
            members.append(packer.compress(raw) + packer.flush())
        rel, offset = self._append_bytes(source, b"".join(members))
        refs = []
        for raw, member in zip(raw_records, members, strict=True):
            head = raw[:4096]
            refs.append(
                WarcRef(
                    file=rel,
                    offset=offset,
                    length=len(member),
                    record_id=_header_value(head, b"WARC-Record-ID"),
                    uri=_header_value(head, b"WARC-Target-URI"),
                    record_type=_header_value(head, b"WARC-Type") or "response",
                    payload_digest=_header_value(head, b"WARC-Payload-Digest"),
                )
            )
            offset += len(member)
        return refs

    def _append_bytes(self, source: str, data: bytes) -> tuple[str, int]:
        """Write whole gzip members at the end of the source's current file (a new one past
        ``max_bytes`` or on a new day) and, when durable, fdatasync them: on disk before the
        index row that points at them is committed. A failure, Ctrl-C or SIGTERM mid-write cuts
        the file back to its last good size, so no partial member is left. Returns the file
        (relative to the root) and the offset the data starts at."""
        current = self._open.get(source)
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        if current is None or current.size + len(data) > self.max_bytes or day != current.day:
            if current is not None:
                self._close_one(current)
            current = self._open[source] = self._new_file(source)
        offset = current.size
        if crashpoints.reached("warc"):  # the kill -9 tests: die with half a record written
            os.write(current.fd, data[: len(data) // 2])
            crashpoints.die()
        try:
            self._write_all(current.fd, data, current.rel)
            if self.durable:
                _sync(current.fd, current.rel)
        except BaseException:  # StoreError, or Ctrl-C / SIGTERM mid-write
            with contextlib.suppress(OSError):
                os.ftruncate(current.fd, offset)
            raise
        current.size += len(data)
        return current.rel, offset

    def _close_one(self, entry: _OpenFile) -> None:
        try:
            os.fsync(entry.fd)
            with contextlib.suppress(FileNotFoundError):
                marker(self.root / entry.rel).unlink()
        finally:
            os.close(entry.fd)

    def close(self) -> None:
        for entry in self._open.values():
            self._close_one(entry)
        self._open.clear()


def _sync(fd: int, rel: str) -> None:
    try:
        os.fdatasync(fd)
    except OSError as exc:
        if is_disk_full(exc):
            raise DiskFull("WARC file", where=rel) from exc
        raise StoreError(f"cannot sync WARC: {exc.strerror}", where=rel) from exc


def _sync_dir(folder: Path, rel: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise StoreError(f"cannot sync WARC folder: {exc.strerror}", where=rel) from exc


def warc_name(source: str, day: str, seq: int) -> str:
    """``<source>-<YYYY-MM-DD>-<seq>.warc.gz``: unique across sources, as WACZ and pywb need
    (files written before this scheme keep their ``<YYYY-MM-DD>-<seq>`` names)."""
    return f"{source}-{day}-{seq:05d}.warc.gz"


def next_seq(folder: Path, source: str, day: str) -> int:
    prefix = f"{source}-{day}-"
    seqs = (p.name[len(prefix) :].split(".")[0] for p in folder.glob(f"{prefix}*.warc.gz"))
    return 1 + max((int(s) for s in seqs if s.isdigit()), default=0)


def marker(path: Path) -> Path:
    """The ``.<name>.open`` file that exists while a writer has ``path`` open."""
    return path.with_name(f".{path.name}.open")


_CHUNK = 1 << 16
_WARC_TYPE = re.compile(rb"WARC-Type:\s*([A-Za-z]+)")


def _header_value(head: bytes, name: bytes) -> str:
    """One WARC header's value from the start of a raw record ("" when absent)."""
    found = re.search(rb"(?im)^" + re.escape(name) + rb":[ \t]*(\S+)", head)
    return found.group(1).decode("ascii", "replace") if found else ""


@dataclass(frozen=True)
class Member:
    offset: int
    length: int
    warc_type: str


@dataclass(frozen=True)
class WarcScan:
    """A whole file walked member by member: the complete members and where they stop."""

    size: int
    good: int  # offset just past the last complete gzip member
    members: tuple[Member, ...]

    @property
    def damaged(self) -> int:
        return self.size - self.good


def iter_members(data: bytes | mmap.mmap) -> Iterator[Member]:
    """Complete gzip members from the start, stopping at the first incomplete or corrupt one.
    Fed in chunks, so a large file costs time linear in its size and constant memory."""
    view = memoryview(data)
    size = len(view)
    pos = 0
    while pos < size:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        consumed = pos
        head = b""
        try:
            while not d.eof and consumed < size:
                chunk = view[consumed : consumed + _CHUNK]
                out = d.decompress(chunk)
                if len(head) < 512:
                    head += out[:512]
                consumed += len(chunk)
        except zlib.error:
            return
        if not d.eof:
            return
        end = consumed - len(d.unused_data)
        found = _WARC_TYPE.search(head)
        yield Member(pos, end - pos, found.group(1).decode() if found else "")
        pos = end


def scan(path: Path) -> WarcScan:
    size = path.stat().st_size
    if size == 0:
        return WarcScan(size=0, good=0, members=())
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        members = tuple(iter_members(data))
    good = members[-1].offset + members[-1].length if members else 0
    return WarcScan(size=size, good=good, members=members)


def last_good_offset(path: Path) -> int:
    """Offset just past the last complete gzip member of a WARC file."""
    return scan(path).good


def repair_tail(path: Path) -> int:
    """Truncate an interrupted last member; returns the number of bytes cut (0 if none)."""
    size = path.stat().st_size
    good = last_good_offset(path)
    if good < size:
        with path.open("r+b") as fh:
            fh.truncate(good)
            os.fsync(fh.fileno())
        log.warning("cut %d bytes of an interrupted record from %s", size - good, path)
    return size - good


def in_use(path: Path) -> bool:
    """Whether a live process holds the file open for writing (its ``flock``)."""
    return flocks.held(path)


def recover_files(root: Path) -> list[Path]:
    """Repair the files whose writer died (a marker left behind, no lock held); returns them."""
    repaired = []
    for mark in sorted((root / "warc").glob("*/.*.warc.gz.open")):
        path = mark.with_name(mark.name[1 : -len(".open")])
        if in_use(path):
            continue
        try:
            if path.exists():
                # a tail only: damage before readable records waits for check --repair, which
                # salvages them with the catalog in hand
                cut_tail(root, path)
                if path.stat().st_size == 0:  # killed before its warcinfo was complete
                    path.unlink()
            mark.unlink()
        except OSError as exc:
            raise StoreError(f"cannot repair WARC file: {exc.strerror}", where=str(path)) from exc
        repaired.append(path)
    return repaired


@dataclass(frozen=True)
class StoredResponse:
    body: bytes  # Content-Encoding undone
    headers: dict[str, str]
    uri: str
    date: str


def read_response(root: Path, ref_file: str, offset: int) -> StoredResponse:
    """The response record at ``offset`` of a WARC file, as stored."""
    from warcio.archiveiterator import ArchiveIterator

    with (root / ref_file).open("rb") as fh:
        fh.seek(offset)
        for record in ArchiveIterator(fh):
            if record.rec_type != "response":
                continue
            headers = dict(record.http_headers.headers) if record.http_headers else {}
            return StoredResponse(
                body=record.content_stream().read(),
                headers=headers,
                uri=record.rec_headers.get_header("WARC-Target-URI"),
                date=record.rec_headers.get_header("WARC-Date"),
            )
    raise StoreError("no response record at that offset", where=f"{ref_file}@{offset}")
