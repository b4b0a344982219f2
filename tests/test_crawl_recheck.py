"""A crawl ends with the re-check of recently published articles (conditional GET)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import run_cli, write_config
from tests.mirror import rss
from tests.server import FixtureServer, yonhap_fixture

ID = "AEN20230419005000320"  # yna_article_8


def _recent_page(published: datetime, extra: str = "") -> bytes:
    page = yonhap_fixture(8).decode()
    stamp = published.astimezone(UTC).isoformat(timespec="seconds")
    page = page.replace("2023-04-19T14:56:02+09:00", stamp)
    if extra:
        page = page.replace("authorities said.</p>", f"authorities said. {extra}</p>", 1)
    return page.encode()


def test_second_crawl_rechecks_a_recent_article_and_keeps_its_revision(
    server: FixtureServer, tmp_path: Path
) -> None:
    published = datetime.now(UTC) - timedelta(hours=1)
    server.add(f"/view/{ID}", _recent_page(published))
    server.add("/RSS/news.xml", rss([(f"https://en.yna.co.kr/view/{ID}", "mpox")]))
    server.add("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
    cfg = write_config(tmp_path, server.url)
    first = run_cli("--config", str(cfg), "crawl", "--source", "yonhap")
    assert first.returncode == 0, first.stderr
    assert "new 1" in first.stdout and "rechecked" not in first.stdout

    # the page changes; the article's last check is 20 minutes old (due: every 15 min at 1 h)
    server.add(f"/view/{ID}", _recent_page(published, "The patients are in stable condition."))
    db = sqlite3.connect(tmp_path / "archive" / "index.sqlite")
    old = (datetime.now(UTC) - timedelta(minutes=20)).isoformat(timespec="seconds")
    db.execute("UPDATE urls SET last_checked = ? WHERE url LIKE ?", (old, f"%{ID}"))
    db.commit()
    db.close()

    second = run_cli("--config", str(cfg), "crawl", "--source", "yonhap")
    assert second.returncode == 0, second.stderr
    assert "revised 1" in second.stdout and "rechecked 1" in second.stdout, second.stdout
    article_hits = server.requests_for(f"/view/{ID}")
    assert len(article_hits) == 2
    assert "if-none-match" in article_hits[1].headers  # a conditional request

    shown = run_cli("--config", str(cfg), "show", f"yonhap:{ID}", "--revisions")
    assert shown.returncode == 0, shown.stderr
    assert "stable condition" in shown.stdout

    # nothing due right after: a third crawl sends no article request at all
    third = run_cli("--config", str(cfg), "crawl", "--source", "yonhap")
    assert third.returncode == 0 and "rechecked" not in third.stdout
    assert len(server.requests_for(f"/view/{ID}")) == 2
