from __future__ import annotations

import pytest

from scraper.config import build_config
from scraper.errors import UrlRefused
from scraper.urls import resolve

CONFIG = build_config(
    {
        "sources": {
            "yonhap": {"base_url": "http://127.0.0.1:8080"},
            "koreaherald": {},
        }
    }
)


@pytest.mark.parametrize(
    ("url", "article_id", "canonical", "fetch_url"),
    [
        (
            "https://en.yna.co.kr/view/AEN20230419000952325?section=nk/nk&input=rss",
            "yonhap:AEN20230419000952325",
            "https://en.yna.co.kr/view/AEN20230419000952325",
            "http://127.0.0.1:8080/view/AEN20230419000952325",
        ),
        (
            "http://www.koreaherald.com/view.php?ud=20230419000612&np=1",
            "koreaherald:20230419000612",
            "https://www.koreaherald.com/view.php?ud=20230419000612",
            "https://www.koreaherald.com/view.php?ud=20230419000612",
        ),
        (
            "https://www.koreaherald.com/view.php?ud=/view.php?ud=20230419000612",  # 2023 RSS bug
            "koreaherald:20230419000612",
            "https://www.koreaherald.com/view.php?ud=20230419000612",
            "https://www.koreaherald.com/view.php?ud=20230419000612",
        ),
        (
            "https://m.koreaherald.com/article/10604071",
            "koreaherald:10604071",
            "https://www.koreaherald.com/article/10604071",
            "https://www.koreaherald.com/article/10604071",
        ),
    ],
)
def test_accepted_urls(url: str, article_id: str, canonical: str, fetch_url: str) -> None:
    target = resolve(url, CONFIG)
    assert target.article_id == article_id
    assert target.canonical_url == canonical
    assert target.fetch_url == fetch_url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", r"only http\(s\)"),
        ("ftp://en.yna.co.kr/view/AEN20230419000952325", r"only http\(s\)"),
        ("https://evil.example/view/AEN20230419000952325", "no configured source"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[fe80::1]/view/AEN20230419000952325", "link-local"),
        ("https://en.yna.co.kr/news", "not an article URL of yonhap"),
        ("https://en.yna.co.kr/view/AEN123", "not an article URL"),
        ("/view/AEN20230419000952325", r"only http\(s\)"),
        ("https:///view/AEN20230419000952325", "no host"),
    ],
)
def test_refused_urls(url: str, reason: str) -> None:
    with pytest.raises(UrlRefused, match=reason):
        resolve(url, CONFIG)


def test_disabled_source_is_refused() -> None:
    config = build_config({"sources": {"yonhap": {"enabled": False}, "koreaherald": {}}})
    with pytest.raises(UrlRefused, match="disabled"):
        resolve("https://en.yna.co.kr/view/AEN20230419000952325", config)
