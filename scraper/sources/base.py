"""What a source is: a frozen declaration (hosts, URL forms, discovery endpoints, prune rules)
plus an ordered tuple of layout parsers. Nothing here does I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from scraper.dom import Page
from scraper.models import Image


@dataclass(frozen=True)
class Extracted:
    """What a layout parser read off one page; ``extract`` turns it into an ``Article``."""

    title: str
    body: str
    subtitle: str | None = None
    authors: tuple[str, ...] = ()
    published_at: str | None = None
    updated_at: str | None = None
    section: str | None = None
    tags: tuple[str, ...] = ()
    editor_note: str | None = None
    images: tuple[Image, ...] = ()
    canonical_url: str | None = None
    update_tag: str | None = None


class Parser(Protocol):
    """One page layout. ``name`` is stamped on every record it produces (``yonhap/y1``).

    ``recognises`` must be cheap (a selector or two); ``parse`` may modify ``page.tree``."""

    name: str

    def recognises(self, page: Page) -> bool: ...

    def parse(self, page: Page) -> Extracted: ...


@dataclass(frozen=True)
class UrlForm:
    """One article URL shape: ``pattern`` matches path+query and has a group named ``id``;
    ``canonical`` is the canonical URL with ``{id}`` in it."""

    pattern: re.Pattern[str]
    canonical: str


@dataclass(frozen=True)
class StoryRule:
    """How a source numbers the updates of one story (``scraper.lineage``): ``pattern`` matches
    a native id and has named groups; ``root`` is the first version's id and ``family`` the id
    prefix every version of the story shares, both written with those groups (``{day}``)."""

    pattern: re.Pattern[str]
    root: str
    family: str


@dataclass(frozen=True)
class HistoryListing:
    """A paged list of a source's articles, newest first, evidenced to reach back years by
    paging (what ``scraper backfill --via site`` walks). ``url`` is a path on the source's
    ``base_url`` with ``{code}`` and ``{page}`` (1 = newest); ``codes`` are the categories;
    article links are the ``link_selector`` matches that are article URLs of the source, and
    ``day`` finds their publication day (``YYYYMMDD``, group ``day``) in the link. ``pager``,
    when set and found on a page, must link to the next page or the walk of that code ends.
    ``seen`` says when the listing was evidenced (for messages and docs)."""

    url: str
    codes: tuple[str, ...]
    link_selector: str
    day: re.Pattern[str]
    seen: str
    pager: str | None = None


@dataclass(frozen=True)
class Source:
    name: str
    hosts: tuple[str, ...]
    default_base_url: str
    url_forms: tuple[UrlForm, ...]
    parsers: tuple[Parser, ...]
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    section_pages: tuple[str, ...] = ()
    list_link_selectors: tuple[str, ...] = ()
    # CSS selectors removed before generic (fallback) extraction: the site's chrome and ads
    prune: tuple[str, ...] = field(default=())
    # (slug in the site's URLs, section name as stored) where the two differ beyond case, so
    # `--section nk` finds "North Korea"
    sections: tuple[tuple[str, str], ...] = ()
    # URL prefixes (host + path, no scheme) under which a web archive's CDX index lists this
    # source's article pages: what ``scraper backfill --via wayback`` asks for
    archive_prefixes: tuple[str, ...] = ()
    # what the site prints about itself, which shared cleaning removes from every page
    # (scraper.sitetext, scraper.clean): the names it appends to <title>/og:title ("… | Name"),
    # the domains of its reporters' e-mail addresses (a trailing "x@domain" ends a body), and
    # words that make a byline a desk rather than a person (lower case)
    site_names: tuple[str, ...] = ()
    email_domains: tuple[str, ...] = ()
    byline_words: tuple[str, ...] = ()
    # how updates of one story are numbered, when the ids say so (``scraper.lineage``)
    story_rule: StoryRule | None = None
    # paged listings evidenced to reach back years (``scraper backfill --via site``), and, for a
    # source with none, what its listings are known to do (the one-line refusal says it)
    history_listings: tuple[HistoryListing, ...] = ()
    history_note: str = ""

    def is_own_host(self, host: str | None) -> bool:
        return host is not None and host.lower().rstrip(".") in self.hosts

    def match(self, url: str) -> tuple[UrlForm, str] | None:
        """The URL form and native id of an article URL on any host, or ``None`` (also for a URL
        that cannot be parsed)."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return None
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        for form in self.url_forms:
            if m := form.pattern.search(target):
                return form, m.group("id")
        return None

    def native_id(self, url: str) -> str | None:
        found = self.match(url)
        return found[1] if found else None

    def canonical_url(self, url: str) -> str | None:
        """The canonical URL on the real host, tracking query strings dropped."""
        found = self.match(url)
        return found[0].canonical.format(id=found[1]) if found else None

    def article_id(self, native_id: str) -> str:
        return f"{self.name}:{native_id}"
