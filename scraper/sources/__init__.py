"""The registry of sources: a plain tuple, looked up by name or by URL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from scraper.sources import koreaherald, yonhap
from scraper.sources.base import (
    Extracted,
    HistoryListing,
    Parser,
    Source,
    StoryRule,
    UrlForm,
)

SOURCES: tuple[Source, ...] = (yonhap.SOURCE, koreaherald.SOURCE)

__all__ = [
    "SOURCES",
    "Extracted",
    "HistoryListing",
    "Parser",
    "Source",
    "StoryRule",
    "UrlForm",
    "by_name",
    "derived",
    "names",
]

T = TypeVar("T")
# build function -> (the registry tuple it was built from, what it built)
_derived: dict[Callable[..., Any], tuple[tuple[Source, ...], Any]] = {}


def names() -> tuple[str, ...]:
    """The registered sources' names, in registry order (CLI choices, config tables)."""
    return tuple(source.name for source in SOURCES)


def by_name(name: str) -> Source:
    for source in SOURCES:
        if source.name == name:
            return source
    raise KeyError(name)


def derived(build: Callable[[tuple[Source, ...]], T]) -> T:
    """``build(SOURCES)``, built once and rebuilt only when the registry tuple is replaced
    (a test registering a source at run time): how shared modules turn the sources' declared
    facts into one regex without freezing it at import time. The check is by identity, so a
    call costs a dict look-up."""
    hit = _derived.get(build)
    if hit is None or hit[0] is not SOURCES:
        hit = (SOURCES, build(SOURCES))
        _derived[build] = hit
    return cast(T, hit[1])
