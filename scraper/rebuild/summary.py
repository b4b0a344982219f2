"""What a rebuild found and did, and the progress callback's shape."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

# (phase, done, total): "warc" files scanned, "captures" re-extracted, "articles" indexed
ProgressFn = Callable[[str, int, int], None]


@dataclass
class RebuildSummary:
    warc_files: int = 0
    responses: int = 0  # response and revisit records, redirect hops left out
    captures: int = 0  # rows of ``captures``, evidence included
    evidence: int = 0  # of those, robots.txt, feeds, sitemaps, section pages (no article)
    redirects: int = 0  # redirect hops: archived, but no ``captures`` row (as when fetched)
    articles: int = 0
    revisions: int = 0
    urls: int = 0
    not_articles: int = 0  # article pages the current parsers do not read as an article
    files_written: int = 0  # articles whose JSON file was missing, written from a capture
    disagreements: int = 0  # records whose revision count or hash differs from the captures
    unreadable: list[str] = field(default_factory=list)  # WARC damage, unreadable JSON
    moved_aside: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"rebuilt the index: {self.articles} articles, {self.revisions} revisions, "
            f"{self.captures} captures ({self.evidence} of robots.txt, feeds, sitemaps and "
            f"section pages) from {self.warc_files} WARC files, {self.urls} URLs; "
            f"{self.redirects} redirect hops, "
            f"{self.not_articles} pages not read as articles, {self.files_written} "
            f"article files written, {len(self.unreadable)} unreadable"
            + (
                f", {self.disagreements} records whose revision count the captures do not "
                "match (see the log)"
                if self.disagreements
                else ""
            )
        )
