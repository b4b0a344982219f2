"""What the read-only commands say to a person: failures grouped by reason in ``stats``,
``search`` saying how it read the query and when nothing matched, and ``status`` after a
killed service."""

from __future__ import annotations

from pathlib import Path

from scraper import stats
from scraper.store import Archive


def _fail(archive: Archive, url: str, error: str) -> None:
    archive.mark_url(url, "yonhap", state="failed", error=f"{error} ({url})")


def test_stats_groups_failures_by_reason_with_one_example(tmp_path: Path) -> None:
    base = "https://en.yna.co.kr/view/AEN2023041900000"
    with Archive(tmp_path / "archive") as archive:
        for n in range(3):
            _fail(archive, f"{base}{n}", "HTTP 503")
        _fail(archive, f"{base}9", "timed out")
        result = stats.collect(archive)
    (yna,) = result.sources
    assert yna.failed_urls == 4
    assert yna.failures == {"HTTP 503": 3, "timed out": 1}
    assert yna.failure_examples == {"HTTP 503": f"{base}0", "timed out": f"{base}9"}
    text = stats.render(result)
    assert f"  failure x3: HTTP 503 (e.g. {base}0)" in text.splitlines()
    assert f"  failure x1: timed out (e.g. {base}9)" in text.splitlines()
