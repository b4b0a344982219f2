"""Reading WARC files back: member by member (``iter_members``, ``scan``), finding and cutting
a damaged tail (``last_good_offset``, ``repair_tail``) and one stored response (``read_response``).
The writer is ``scraper.warc``.
"""

from __future__ import annotations

import logging
import mmap
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from scraper.errors import StoreError

log = logging.getLogger(__name__)

_CHUNK = 1 << 16
_WARC_TYPE = re.compile(rb"WARC-Type:\s*([A-Za-z]+)")


def header_value(head: bytes, name: bytes) -> str:
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


def member_at(view: memoryview, pos: int, *, need_warc: bool = False) -> Member | None:
    """The complete gzip member starting at ``pos``, or None (incomplete or corrupt). Fed in
    chunks, so a large member costs time linear in its size and constant memory.
    ``need_warc``: it must also decompress to something starting with ``WARC/`` (a resync
    candidate could be the gzip magic bytes by chance inside compressed data)."""
    size = len(view)
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    consumed = pos
    head = b""
    try:
        while not d.eof and consumed < size:
            chunk = view[consumed : consumed + _CHUNK]
            out = d.decompress(chunk)
            if len(head) < 512:
                head += out[:512]
                if need_warc and len(head) >= 5 and not head.startswith(b"WARC/"):
                    return None
            consumed += len(chunk)
    except zlib.error:
        return None
    if not d.eof or (need_warc and not head.startswith(b"WARC/")):
        return None
    end = consumed - len(d.unused_data)
    found = _WARC_TYPE.search(head)
    return Member(pos, end - pos, found.group(1).decode() if found else "")


def iter_members(data: bytes | mmap.mmap) -> Iterator[Member]:
    """Complete gzip members from the start, stopping at the first incomplete or corrupt one."""
    view = memoryview(data)
    pos = 0
    while pos < len(view):
        member = member_at(view, pos)
        if member is None:
            return
        yield member
        pos = member.offset + member.length


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
