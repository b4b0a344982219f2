"""Frontier bookkeeping on a real index: seen URLs, pending work, how failures settle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from scraper import frontier
from scraper.errors import (
    FetchError,
    HttpStatusError,
    NotAnArticle,
    ParseError,
    RedirectRefused,
    Truncated,
)
from scraper.store import Archive

URL = "https://en.yna.co.kr/view/AEN20230419000952325"


def test_seen_urls_are_recorded_once_and_pending_until_settled(tmp_path: Path) -> None:
    with Archive(tmp_path) as archive:
        assert frontier.record_seen(archive, "yonhap", [URL, URL + "1"]) == 2
        assert frontier.record_seen(archive, "yonhap", [URL, URL + "2"]) == 1
        assert frontier.pending(archive, "yonhap") == [URL, URL + "1", URL + "2"]
        assert frontier.pending(archive, "koreaherald") == []
        frontier.mark(archive, URL, "yonhap", "done")
        assert frontier.states(archive, [URL, "https://x"]) == {URL: "done"}
        assert URL not in frontier.pending(archive, "yonhap")


def test_failures_settle_by_kind_and_transient_ones_are_abandoned_after_a_while(
    tmp_path: Path,
) -> None:
    cases = {
        HttpStatusError(404, url=URL): "gone",
        HttpStatusError(410, url=URL): "gone",
        HttpStatusError(403, url=URL): "failed",
        ParseError("no article text"): "failed",
        ParseError("empty input"): "failed",
        FetchError("too many redirects", url=URL): "failed",
        RedirectRefused("off-site", url=URL): "failed",
        NotAnArticle("not a web page (Content-Type application/pdf)"): "rejected",
        HttpStatusError(503, url=URL): "failed",
        Truncated("short", url=URL): "failed",
    }
    for exc, state in cases.items():
        assert frontier.failure_state(exc) == state, exc
    with Archive(tmp_path) as archive:
        frontier.record_seen(archive, "yonhap", [URL])
        states = [
            frontier.record_failure(archive, URL, "yonhap", HttpStatusError(503, url=URL))
            for _ in range(frontier.MAX_ATTEMPTS)
        ]
        assert states == ["failed"] * (frontier.MAX_ATTEMPTS - 1) + ["abandoned"]
        row = archive.url_row(URL)
        assert row is not None and row["http_status"] == 503 and row["error"] == f"HTTP 503 ({URL})"
        assert frontier.pending(archive, "yonhap") == []


def test_failed_urls_wait_longer_after_each_failure(tmp_path: Path) -> None:
    empty = ParseError("empty input", where=URL)
    with Archive(tmp_path) as archive:
        frontier.record_seen(archive, "yonhap", [URL])
        assert frontier.record_failure(archive, URL, "yonhap", empty) == "failed"
        assert frontier.pending(archive, "yonhap") == [URL]  # the first retry: next run
        frontier.record_failure(archive, URL, "yonhap", empty)
        assert frontier.pending(archive, "yonhap") == []  # now it waits
        assert frontier.waiting(archive, "yonhap") == {URL}
        row = archive.url_row(URL)
        assert row is not None
        due = frontier.next_retry(row["attempts"], row["last_checked"])
        assert due is not None and due > row["last_checked"]
        for attempts, delay in ((2, 3600), (3, 4 * 3600), (5, 24 * 3600), (9, 24 * 3600)):
            assert (
                frontier.next_retry(attempts, "2026-01-01T00:00:00+00:00")
                == (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=delay)).isoformat()
            )
        # an hour later it is due again
        archive.mark_url(URL, "yonhap", last_checked="2000-01-01T00:00:00+00:00")
        assert frontier.pending(archive, "yonhap") == [URL]
