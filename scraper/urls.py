"""Which URLs we fetch: an article URL must belong to an enabled source, on one of its hosts or
on its configured ``base_url`` (a mirror), or it is refused before any request is made."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

from scraper import sources as registry
from scraper.config import Config, SourceConfig
from scraper.errors import UrlRefused
from scraper.sources import Source


@dataclass(frozen=True)
class Target:
    """An accepted article URL: where to fetch it, and who it is."""

    source: Source
    settings: SourceConfig
    fetch_url: str  # on base_url (the real site or a mirror)
    canonical_url: str  # on the real host, tracking parameters dropped
    native_id: str

    @property
    def article_id(self) -> str:
        return self.source.article_id(self.native_id)


def allowed_hosts(source: Source, settings: SourceConfig) -> frozenset[str]:
    base_host = urlsplit(settings.base_url).hostname or ""
    return frozenset({*source.hosts, base_host.lower()})


def _bad_address(host: str) -> str | None:
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    if ip.is_link_local or ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return "link-local, multicast or reserved address"
    return None


def on_base(settings: SourceConfig, url: str) -> str:
    """The same path and query on the source's ``base_url``."""
    parts = urlsplit(url)
    base = urlsplit(settings.base_url)
    path = base.path.rstrip("/") + (parts.path or "/")
    return urlunsplit((base.scheme, base.netloc, path, parts.query, ""))


def target_for(source: Source, settings: SourceConfig, url: str) -> Target | None:
    """The target for an article URL of ``source`` (any host: the path decides), or None."""
    found = source.match(url)
    if found is None:
        return None
    canonical = found[0].canonical.format(id=found[1])
    return Target(
        source=source,
        settings=settings,
        fetch_url=on_base(settings, canonical),
        canonical_url=canonical,
        native_id=found[1],
    )


def resolve(url: str, config: Config) -> Target:
    """Accept ``url`` as an article of an enabled source, or raise ``UrlRefused``."""
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise UrlRefused(
            f"only http(s) URLs are fetched, not {parts.scheme or 'a bare path'!r}", where=url
        )
    host = (parts.hostname or "").lower()
    if not host:
        raise UrlRefused("URL has no host", where=url)
    if problem := _bad_address(host):
        raise UrlRefused(f"refused: {problem}", where=url)
    claimed: list[str] = []
    for source in registry.SOURCES:
        settings = config.sources.get(source.name)
        if settings is None or host not in allowed_hosts(source, settings):
            continue
        claimed.append(source.name)
        target = target_for(source, settings, text)
        if target is None:
            continue  # a mirror may serve several sources: try the next one
        if not settings.enabled:
            raise UrlRefused(f"source {source.name} is disabled in the config", where=url)
        return target
    if claimed:
        raise UrlRefused(f"not an article URL of {' or '.join(claimed)}", where=url)
    raise UrlRefused("no configured source accepts this host", where=url)


def absolutize(base: str, href: str) -> str:
    return urljoin(base, href.strip())
