"""Read WARC files made by other tools, record by record, keeping each record's exact bytes.

Why our own framing instead of warcio's iterator: ``import`` copies the original records into
our store byte for byte, needs the offset where each record starts (the resume cursor) and
must notice a truncated last record instead of stopping with an exception. Framing a record
is cheap (WARC headers + Content-Length); only the few records that match a source are handed
to warcio (``http_part``) to undo chunked transfer-encoding and gzip content-encoding.

Inputs: ``.warc`` (uncompressed), ``.warc.gz`` (one gzip member per record, or a whole file in
one member as some tools write), ``.wacz`` (a zip whose ``archive/`` entries are WARC files).
"""

from __future__ import annotations

import io
import mmap
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

_CHUNK = 1 << 16
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class RawRecord:
    """One WARC record: where it starts in its file, where the next one starts, its bytes."""

    offset: int  # of the gzip member (or the record itself in an uncompressed file)
    next_offset: int  # where reading resumes after this record
    data: bytes  # the complete uncompressed record, headers to the closing CRLF CRLF
    headers: dict[str, str]  # WARC header fields, names lower-cased

    @property
    def warc_type(self) -> str:
        return self.headers.get("warc-type", "").lower()

    @property
    def target_uri(self) -> str:
        return self.headers.get("warc-target-uri", "").strip("<> ")

    @property
    def record_id(self) -> str:
        return self.headers.get("warc-record-id", "")

    @property
    def date(self) -> str:
        return self.headers.get("warc-date", "")


@dataclass(frozen=True)
class Truncated:
    """The file ends inside a record (an interrupted writer, a partial download)."""

    offset: int


@dataclass(frozen=True)
class WarcInput:
    """One WARC stream to read: a file on disk, or one WARC entry of a WACZ."""

    path: Path
    entry: str | None = None  # the zip entry name for WACZ inputs

    @property
    def key(self) -> str:
        """The cursor's name in ``import_files``."""
        return f"{self.path.resolve()}!{self.entry}" if self.entry else str(self.path.resolve())

    @property
    def uri(self) -> str:
        """Where copied records came from (the ``WARC-Source-URI`` we add to them)."""
        base = self.path.resolve().as_uri()
        return f"{base}#{self.entry}" if self.entry else base

    def size(self) -> int:
        if self.entry is None:
            return self.path.stat().st_size
        with zipfile.ZipFile(self.path) as zf:
            return zf.getinfo(self.entry).file_size


WARC_SUFFIXES = (".warc", ".warc.gz")


def expand(paths: list[Path]) -> list[WarcInput]:
    """Files and directories (walked, sorted) → WARC streams; WACZ files give their entries."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.name.endswith((*WARC_SUFFIXES, ".wacz"))
            )
        else:
            found.append(path)
    inputs: list[WarcInput] = []
    for path in found:
        if path.name.endswith(".wacz"):
            with zipfile.ZipFile(path) as zf:
                inputs += [
                    WarcInput(path, name)
                    for name in sorted(zf.namelist())
                    if name.startswith("archive/") and name.endswith(WARC_SUFFIXES)
                ]
        else:
            inputs.append(WarcInput(path))
    return inputs


def _parse_headers(head: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").split("\r\n")[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers


def _split_records(
    data: bytes | mmap.mmap, start: int
) -> Iterator[tuple[int, int, bytes, dict[str, str]] | int]:
    """Records laid end to end in ``data`` from ``start``: (start, end, bytes, headers); an int
    is the offset where an incomplete record starts."""
    pos, size = start, len(data)
    while pos < size:
        # tolerate stray blank lines between records
        while pos < size and data[pos : pos + 2] == b"\r\n":
            pos += 2
        if pos >= size:
            return
        head_end = data.find(b"\r\n\r\n", pos, pos + 64 * 1024)
        if head_end < 0 or data[pos : pos + 5] != b"WARC/":
            yield pos
            return
        headers = _parse_headers(data[pos:head_end])
        try:
            length = int(headers.get("content-length", ""))
        except ValueError:
            yield pos
            return
        end = head_end + 4 + length + 4
        if end > size:
            yield pos
            return
        yield pos, end, data[pos:end], headers
        pos = end


def _uncompressed(data: bytes | mmap.mmap, start: int) -> Iterator[RawRecord | Truncated]:
    for item in _split_records(data, start):
        if isinstance(item, int):
            yield Truncated(item)
            return
        begin, end, raw, headers = item
        yield RawRecord(begin, end, raw, headers)


def _members(data: bytes | mmap.mmap, start: int) -> Iterator[RawRecord | Truncated]:
    view = memoryview(data)
    size = len(view)
    pos = start
    while pos < size:
        if view[pos : pos + 2] != _GZIP_MAGIC:
            yield Truncated(pos)
            return
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        consumed, out = pos, []
        try:
            while not d.eof and consumed < size:
                chunk = view[consumed : consumed + _CHUNK]
                out.append(d.decompress(chunk))
                consumed += len(chunk)
        except zlib.error:
            yield Truncated(pos)
            return
        if not d.eof:
            yield Truncated(pos)
            return
        end = consumed - len(d.unused_data)
        plain = b"".join(out)
        records = list(_split_records(plain, 0))
        if any(isinstance(item, int) for item in records):
            yield Truncated(pos)
            return
        for item in records:
            if not isinstance(item, int):
                # several records in one member (a file gzipped whole): all resume at its end
                yield RawRecord(pos, end, item[2], item[3])
        pos = end


def read(source: WarcInput, start: int = 0) -> Iterator[RawRecord | Truncated]:
    """Every record from ``start`` (a record or member offset from an earlier cursor)."""
    if source.entry is not None:
        with zipfile.ZipFile(source.path) as zf:
            entry = zf.read(source.entry)
        yield from (_members if entry[:2] == _GZIP_MAGIC else _uncompressed)(entry, start)
        return
    with source.path.open("rb") as fh:
        if source.path.stat().st_size == 0:
            return
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            yield from (_members if mapped[:2] == _GZIP_MAGIC else _uncompressed)(mapped, start)


@dataclass(frozen=True)
class HttpPart:
    """The HTTP response inside a response record, transfer- and content-encoding undone."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        lname = name.lower()
        return next((v for k, v in self.headers if k.lower() == lname), None)


def http_part(record: RawRecord) -> HttpPart | None:
    """Parse the HTTP response of a response record (warcio does the decoding); ``None`` when
    the block is not an HTTP response."""
    for parsed in ArchiveIterator(io.BytesIO(record.data)):
        if parsed.http_headers is None:
            return None
        try:
            status = int(parsed.http_headers.get_statuscode() or 0)
        except ValueError:
            return None
        body = parsed.content_stream().read()
        return HttpPart(status=status, headers=tuple(parsed.http_headers.headers), body=body)
    return None


def with_source(record: RawRecord, uri: str) -> bytes:
    """The record's bytes with ``WARC-Source-URI`` and ``WARC-Source-Offset`` headers added
    (where the copy came from); the block and every other header stay as they were."""
    head_end = record.data.find(b"\r\n\r\n")
    extra = f"\r\nWARC-Source-URI: {uri}\r\nWARC-Source-Offset: {record.offset}".encode()
    return record.data[:head_end] + extra + record.data[head_end:]
