"""Revisions: the decaying re-check schedule, conditional GET against a real local server whose
page changes between requests, and ``show --revisions``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scraper.config import load_config
from scraper.pipeline import Context, archive_article
from scraper.revisions import SCHEDULE, due, interval_for, recheck
from scraper.store import Archive
from scraper.urls import resolve
from tests.conftest import run_cli, write_config
from tests.server import FixtureServer, yonhap_fixture

YNA_ID = "AEN20230419003800320"  # fixture 11
PATH = f"/view/{YNA_ID}"
URL = f"https://en.yna.co.kr{PATH}"
PUBLISHED = "2023-04-19T14:00:04+09:00"


@pytest.mark.parametrize(
    ("age", "every"),
    [
        (timedelta(minutes=-5), timedelta(minutes=15)),
        (timedelta(0), timedelta(minutes=15)),
        (timedelta(hours=2, minutes=59), timedelta(minutes=15)),
        (timedelta(hours=3), timedelta(hours=1)),
        (timedelta(hours=23), timedelta(hours=1)),
        (timedelta(days=1), timedelta(days=1)),
        (timedelta(days=7, hours=23), timedelta(days=1)),
        (timedelta(days=8), None),
        (timedelta(days=400), None),
    ],
)
def test_schedule_decays(age: timedelta, every: timedelta | None) -> None:
    assert interval_for(age) == every
    assert SCHEDULE[0].every == timedelta(minutes=15)


def _page(published: datetime, paragraph_edit: tuple[str, str] | None = None) -> bytes:
    """Fixture 11 re-dated to ``published`` (so it is "recent"), optionally with an edit."""
    stamp = published.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    raw = yonhap_fixture(11).replace(PUBLISHED.encode(), stamp.encode())
    if paragraph_edit:
        old, new = paragraph_edit
        assert old.encode() in raw
        raw = raw.replace(old.encode(), new.encode())
    return raw


def test_recheck_uses_conditional_get_and_stores_real_changes(
    server: FixtureServer, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    published = now - timedelta(minutes=30)
    server.add(PATH, _page(published))
    config = load_config(write_config(tmp_path, server.url), env={})
    settings = config.source("yonhap")
    with Context.open(config) as ctx:
        first = archive_article(ctx, resolve(URL, config))
        assert first.status == "new"
        assert due(ctx.archive, now + timedelta(minutes=1)) == []  # just fetched
        later = now + timedelta(minutes=16)
        [item] = due(ctx.archive, later)
        assert item.article_id == f"yonhap:{YNA_ID}" and item.etag

        # 1. nothing changed: one conditional request, answered 304
        summary = recheck(ctx, settings, now=later)
        assert (summary.due, summary.not_modified) == (1, 1)
        assert server.requests_for(PATH)[-1].headers["if-none-match"] == item.etag
        assert server.requests_for(PATH)[-1].status == 304

        # 2. only the updated time and whitespace changed: a 200, but no new revision
        edited = _page(published).replace(
            b'article:modified_time" content="', b'article:modified_time" content="2099'
        )
        edited = edited.replace(b"</p>", b"  \n </p>")
        server.add(PATH, edited)
        summary = recheck(ctx, settings, now=later + timedelta(minutes=16))
        assert (summary.due, summary.unchanged, summary.revised) == (1, 1, 0)

        # 3. a real correction: a new revision, the old one kept
        body = first.article.body.split("\n\n")[1]
        server.add(PATH, _page(published, (body[:50], "Correction: " + body[:50])))
        summary = recheck(ctx, settings, now=later + timedelta(minutes=32))
        assert (summary.due, summary.revised, summary.failed) == (1, 1, 0)
        history = ctx.archive.revisions(f"yonhap:{YNA_ID}")
        assert [a.revision for a in history] == [1, 2]
        assert "Correction: " in history[1].body and "Correction: " not in history[0].body

        # not due again before its interval; never once past the schedule
        assert recheck(ctx, settings, now=later + timedelta(minutes=40)).due == 0
        assert due(ctx.archive, published + timedelta(days=9)) == []

        # withdrawn: 404 marks the URL gone and keeps the article
        server.routes.pop(PATH)
        summary = recheck(ctx, settings, now=later + timedelta(hours=2))
        assert summary.gone == 1
        assert ctx.archive.count() == 1
        assert due(ctx.archive, later + timedelta(hours=5)) == []

    shown = run_cli(
        "--config",
        str(write_config(tmp_path, server.url)),
        "show",
        f"yonhap:{YNA_ID}",
        "--revisions",
    )
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert out.startswith("revision 1\t")
    assert "\nrevision 2\t" in out
    assert "--- revision 1" in out and "+++ revision 2" in out
    assert "\n+Correction: " in out and f"\n-{body[:30]}" in out


def test_recheck_cli_reports_a_summary_per_source(server: FixtureServer, tmp_path: Path) -> None:
    published = datetime.now(UTC) - timedelta(hours=2)
    server.add(PATH, _page(published))
    cfg = write_config(tmp_path, server.url)
    assert run_cli("--config", str(cfg), "fetch", URL).returncode == 0
    with Archive(tmp_path / "archive") as archive:  # pretend the last check was 20 minutes ago
        stamp = (datetime.now(UTC) - timedelta(minutes=20)).isoformat()
        archive.db.execute("UPDATE urls SET last_checked = ?", (stamp,))
    result = run_cli("--config", str(cfg), "recheck", "--source", "yonhap")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "yonhap: rechecked 1, not modified 1, unchanged 0, revised 0, gone 0, failed 0"
    )


def test_recheck_logs_an_http_error_that_is_not_a_withdrawal(
    server: FixtureServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    server.add(PATH, _page(now - timedelta(minutes=30)))
    config = load_config(write_config(tmp_path, server.url), env={})
    with Context.open(config) as ctx:
        assert archive_article(ctx, resolve(URL, config)).status == "new"
        server.add(PATH, b"forbidden", status=403)
        with caplog.at_level("WARNING", logger="scraper.revisions"):
            summary = recheck(ctx, config.source("yonhap"), now=now + timedelta(minutes=16))
        assert (summary.due, summary.failed, summary.gone) == (1, 1, 0)
        assert "HTTP 403" in summary.errors[0]
        # logged like every other failed recheck, and the URL stays due (not marked gone)
        warnings = [r for r in caplog.records if r.levelname == "WARNING"]
        assert [r.getMessage() for r in warnings if r.name == "scraper.revisions"] == [
            f"recheck of {URL} failed: {summary.errors[0]}"
        ]
        assert [i.url for i in due(ctx.archive, now + timedelta(minutes=40))] == [URL]
