"""The registry of sources: a plain tuple, looked up by name or by URL."""

from __future__ import annotations

from scraper.sources import koreaherald, yonhap
from scraper.sources.base import Extracted, Parser, Source, UrlForm

SOURCES: tuple[Source, ...] = (yonhap.SOURCE, koreaherald.SOURCE)

__all__ = ["SOURCES", "Extracted", "Parser", "Source", "UrlForm", "by_name", "names"]


def names() -> tuple[str, ...]:
    """The registered sources' names, in registry order (CLI choices, config tables)."""
    return tuple(source.name for source in SOURCES)


def by_name(name: str) -> Source:
    for source in SOURCES:
        if source.name == name:
            return source
    raise KeyError(name)
