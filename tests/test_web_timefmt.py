"""Times as the reading room shows them: publication times in KST with the offset, capture
times in UTC, a value without a zone read as KST, an unparsable one shown as stored."""

from __future__ import annotations

import time

import pytest

from scraper.web.timefmt import kst, utc


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("2023-04-19T05:02:00+00:00", "2023-04-19 14:02 KST (+09:00)"),
        ("2023-04-19T05:02:00Z", "2023-04-19 14:02 KST (+09:00)"),
        ("2023-04-19T14:02:00", "2023-04-19 14:02 KST (+09:00)"),  # no zone: already KST
        ("yesterday", "yesterday"),
        (None, "—"),
        ("", "—"),
    ],
)
def test_kst(value: str | None, shown: str) -> None:
    assert kst(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("2026-01-01T09:00:00+09:00", "2026-01-01 00:00:00 UTC"),
        ("2026-01-01T00:00:00Z", "2026-01-01 00:00:00 UTC"),
        ("2026-01-01T09:00:00", "2026-01-01 00:00:00 UTC"),  # no zone: KST
        ("not a time", "not a time"),
        (None, "—"),
    ],
)
def test_utc(value: str | None, shown: str) -> None:
    assert utc(value) == shown


def test_the_machine_zone_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert utc("2026-01-01T09:00:00+09:00") == "2026-01-01 00:00:00 UTC"
        assert kst("2023-04-19T05:02:00+00:00") == "2023-04-19 14:02 KST (+09:00)"
    finally:
        monkeypatch.undo()
        time.tzset()
