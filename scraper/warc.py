"""Raw captures as WARC 1.1 (ISO 28500), one gzip member per record, written from the exact bytes
httpx received (warcio's ``capture_http`` cannot see httpx traffic).

Files: ``warc/<source>/<source>-<YYYY-MM-DD>-<seq>.warc.gz``. Each process opens its own file
(created with O_EXCL, so two processes never share one) and appends each exchange (redirect hops,
response or revisit, request, metadata; see ``scraper.warcrecord.encode_exchange``) with a
single ``write``: a killed process leaves at most one incomplete tail, which
``scraper.warcread.repair_tail`` cuts off at the last complete gzip member.

While a process has a file open it holds an exclusive ``flock`` on it and a marker file
``warc/<source>/.<name>.open`` exists; a clean close removes the marker. On start-up
(``recover``) every marker whose file nobody holds any more names a file whose writer died:
its tail is repaired and the marker removed. ``scraper.warcread.scan`` walks a whole file member
by member for ``scraper check``.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scraper import crashpoints, flocks
from scraper.errors import DiskFull, StoreError, is_disk_full
from scraper.models import FetchedPage
from scraper.salvage import cut_tail
from scraper.warcread import header_value
from scraper.warcrecord import GZIP_LEVEL, Encoded, encode_exchange, warcinfo

log = logging.getLogger(__name__)


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
        info = warcinfo(name)
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

    def append_records(
        self,
        source: str,
        raw_records: list[bytes],
        packed: Sequence[bytes | None] = (),
    ) -> list[WarcRef]:
        """Append WARC records made elsewhere (``scraper import``, ``scraper backfill``) as they
        are: each ``raw_records`` item is one complete uncompressed record (headers, block and
        the closing CRLF CRLF), kept byte for byte, so its own WARC-Record-ID and WARC-Date
        stay. Each becomes its own gzip member; all go in one ``write``. Returns one ``WarcRef``
        per record, in order. ``packed[i]``, when given, is ``pack(raw_records[i])`` done
        ahead (in an import worker)."""
        members = []
        for i, raw in enumerate(raw_records):
            ahead = packed[i] if i < len(packed) else None
            members.append(ahead if ahead is not None else pack(raw))
        rel, offset = self._append_bytes(source, b"".join(members))
        refs = []
        for raw, member in zip(raw_records, members, strict=True):
            head = raw[:4096]
            refs.append(
                WarcRef(
                    file=rel,
                    offset=offset,
                    length=len(member),
                    record_id=header_value(head, b"WARC-Record-ID"),
                    uri=header_value(head, b"WARC-Target-URI"),
                    record_type=header_value(head, b"WARC-Type") or "response",
                    payload_digest=header_value(head, b"WARC-Payload-Digest"),
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


def pack(raw: bytes) -> bytes:
    """One uncompressed WARC record → its gzip member, as ``append_records`` writes it."""
    packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return packer.compress(raw) + packer.flush()


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
