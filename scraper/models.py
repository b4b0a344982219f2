"""The frozen records that cross module boundaries: what was fetched, what was extracted."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Any

RECORD_VERSION = 1


@dataclass(frozen=True)
class Image:
    url: str
    caption: str | None = None


@dataclass(frozen=True)
class FetchedPage:
    """One HTTP exchange as received: raw bytes for the WARC, decoded text for the parser."""

    url: str  # the URL requested first (before redirects)
    final_url: str  # the URL that answered
    status: int
    http_version: str
    request_headers: tuple[tuple[str, str], ...]
    response_headers: tuple[tuple[str, str], ...]
    raw_body: bytes  # as on the wire, before Content-Encoding was undone
    body: bytes  # decoded from Content-Encoding
    encoding: str  # charset used for ``text``
    fetched_at: str  # ISO 8601, UTC
    method: str = "GET"
    reason: str = ""  # the status line's reason phrase as received ("" when none came)
    # the redirect responses that led here, in order (each archived as its own exchange)
    redirects: tuple[FetchedPage, ...] = ()

    @property
    def text(self) -> str:
        return self.body.decode(self.encoding, errors="replace")

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for key, value in self.response_headers:
            if key.lower() == lname:
                return value
        return None


@dataclass(frozen=True)
class Article:
    """Article record v1 (see docs/archive-format.md). Field order is the JSON key order."""

    id: str
    source: str
    url: str
    title: str
    subtitle: str | None
    authors: tuple[str, ...]
    published_at: str | None
    updated_at: str | None
    section: str | None
    tags: tuple[str, ...]
    language: str
    body: str
    editor_note: str | None
    images: tuple[Image, ...]
    fetched_at: str | None
    content_hash: str
    parser: str
    revision: int = 1
    update_tag: str | None = None
    story_id: str | None = None
    urls: tuple[str, ...] = field(default=())  # other URLs this article was seen under
    record_version: int = RECORD_VERSION
    # set by ``scraper reparse`` when re-extraction changed the record (the parser stamp)
    parsed_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        # field by field rather than ``asdict``, whose recursive deep copy was a tenth of an
        # imported article's cost (docs/benchmarks.md); every value is immutable but the lists
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["authors"] = list(self.authors)
        data["tags"] = list(self.tags)
        data["images"] = [
            {name: getattr(img, name) for name in img.__dataclass_fields__} for img in self.images
        ]
        data["urls"] = list(self.urls)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Article:
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known}
        values["authors"] = tuple(values.get("authors") or ())
        values["tags"] = tuple(values.get("tags") or ())
        values["urls"] = tuple(values.get("urls") or ())
        values["images"] = tuple(
            Image(url=i["url"], caption=i.get("caption")) for i in values.get("images") or ()
        )
        return cls(**values)

    def evolve(self, **changes: Any) -> Article:
        return replace(self, **changes)


_WS = re.compile(r"\s+")


def content_hash(title: str, body: str) -> str:
    """Hash of the normalized title and body: whitespace and Unicode form do not count."""
    norm = unicodedata.normalize("NFC", f"{title}\n{body}")
    norm = _WS.sub(" ", norm).strip()
    return "sha256:" + hashlib.sha256(norm.encode("utf-8")).hexdigest()
