"""A CDXJ index of WARC files, as pywb and WACZ expect: one line per response and revisit
record, ``<SURT key> <14-digit timestamp> {json}``, sorted bytewise.

The SURT key follows the ``surt`` package's defaults (what pywb uses to look a URL up): host
lowercased, a leading ``www``/``wwwN`` dropped, labels reversed and comma-joined, a non-default
port kept, path lowercased, query parameters sorted, fragment dropped. The tests compare it
with ``surt.surt`` on every archived URL (no runtime dependency: surt would pull in
tldextract, which downloads the public-suffix list)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator

INDEXED = frozenset({"response", "revisit"})
_WWW = re.compile(r"^www\d*\.")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def surt(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS:
        return url.lower()
    host = _WWW.sub("", (parts.hostname or "").lower().strip("."))
    key = ",".join(reversed(host.split(".")))
    if parts.port and parts.port != _DEFAULT_PORTS[parts.scheme]:
        key += f":{parts.port}"
    path = (parts.path or "/").lower()
    query = "&".join(sorted(parts.query.lower().split("&"))) if parts.query else ""
    return f"{key}){path}" + (f"?{query}" if query else "")


def timestamp14(warc_date: str) -> str:
    digits = re.sub(r"\D", "", warc_date)
    return digits[:14].ljust(14, "0")


@dataclass(frozen=True)
class Line:
    key: str
    timestamp: str
    fields: dict[str, str]

    def __str__(self) -> str:
        return f"{self.key} {self.timestamp} {json.dumps(self.fields, sort_keys=True)}"


def index_file(path: Path, filename: str) -> Iterator[Line]:
    """Lines for the response and revisit records of one WARC file; ``filename`` is the name
    the index gives it (relative to the archive root, or the name inside a WACZ)."""
    with path.open("rb") as fh:
        it = ArchiveIterator(fh)
        for record in it:
            if record.rec_type not in INDEXED:
                continue
            uri = record.rec_headers.get_header("WARC-Target-URI")
            http = record.http_headers
            fields = {
                "url": uri,
                "mime": "warc/revisit"
                if record.rec_type == "revisit"
                else (http.get_header("Content-Type") or "").split(";")[0].strip(),
                "status": http.get_statuscode() if http else "-",
                "digest": record.rec_headers.get_header("WARC-Payload-Digest") or "",
                "offset": "",
                "length": "",
                "filename": filename,
            }
            record.raw_stream.read()  # to the end of the record, so the offsets are known
            it.read_to_end(record)
            fields["offset"] = str(it.get_record_offset())
            fields["length"] = str(it.get_record_length())
            if not fields["mime"]:
                del fields["mime"]
            yield Line(surt(uri), timestamp14(record.rec_headers.get_header("WARC-Date")), fields)


def write_index(files: Iterable[tuple[Path, str]]) -> list[str]:
    """The sorted CDXJ lines of several WARC files."""
    lines = [str(line) for path, name in files for line in index_file(path, name)]
    return sorted(lines)
