"""Frontier bookkeeping on a real index: seen URLs, pending work, how failures settle."""

from __future__ import annotations

from pathlib import Path

from scraper import frontier
from scraper.errors import HttpStatusError, ParseError, RedirectRefused, Truncated
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
        HttpStatusError(403, url=URL): "rejected",
        ParseError("no article text"): "rejected",
        RedirectRefused("off-site", url=URL): "rejected",
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
