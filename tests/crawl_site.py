"""A small two-source news site on the test server, shared by the crawl tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tests.server import FixtureServer, kh3_copy, list_page, rss, sitemap, yonhap_copy

YNA = "https://en.yna.co.kr"
KH = "https://www.koreaherald.com"


def yna_id(i: int) -> str:
    return f"AEN20230419{900000000 + i}"


def kh_no(i: int) -> str:
    return str(20000000 + i)


@dataclass
class Site:
    """What was published: article paths on the server, by source."""

    yonhap: list[str] = field(default_factory=list)
    koreaherald: list[str] = field(default_factory=list)

    @property
    def articles(self) -> list[str]:
        return self.yonhap + self.koreaherald


def publish(
    server: FixtureServer,
    *,
    yonhap: int = 4,
    koreaherald: int = 2,
    robots: str = "User-agent: *\nDisallow: /private/\n",
) -> Site:
    """Articles on both sources, listed in their main feeds (with tracking query strings, on
    the real hosts, as the sites do), plus robots.txt. Section feeds are left unserved (404)."""
    site = Site()
    for i in range(1, yonhap + 1):
        path = f"/view/{yna_id(i)}"
        server.add(path, yonhap_copy(1 + (i - 1) % 16, yna_id(i)))
        site.yonhap.append(path)
    for i in range(1, koreaherald + 1):
        path = f"/article/{kh_no(i)}"
        server.add(path, kh3_copy(kh_no(i)))
        site.koreaherald.append(path)
    server.add(
        "/RSS/news.xml",
        rss([f"{YNA}{p}?section=news&input=rss" for p in site.yonhap]),
        content_type="application/rss+xml",
    )
    server.add(
        "/rss/newsAll",
        rss([f"{KH}{p}" for p in site.koreaherald]),
        content_type="application/xml",
    )
    if robots:
        server.add("/robots.txt", robots, content_type="text/plain")
    return site


def fallbacks(server: FixtureServer, site: Site) -> None:
    """The Yonhap sitemap and section pages listing the same articles."""
    server.add("/news-sitemap.xml", sitemap([YNA + p for p in site.yonhap]))
    server.add("/news", list_page(site.yonhap))
    server.add("/National", list_page(site.koreaherald, korea_herald=True))


def write_config(
    tmp_path: Path,
    base_url: str,
    *,
    timeout: float = 2.0,
    max_retries: int = 2,
    min_delay: float = 0.0,
    backoff_max: float = 5.0,
) -> Path:
    """Both sources on ``base_url``; tiny backoffs so fault tests stay fast."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "scraper.toml"
    path.write_text(
        f"""
[archive]
path = "{tmp_path / "archive"}"

[http]
timeout = {timeout}
max_retries = {max_retries}
backoff_base = 0.01
backoff_max = {backoff_max}

[sources.yonhap]
base_url = "{base_url}"
min_delay = {min_delay}

[sources.koreaherald]
base_url = "{base_url}"
min_delay = {min_delay}
"""
    )
    return path
