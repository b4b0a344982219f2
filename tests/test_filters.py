"""--since / --until / --section of the read commands (issue 9 item 13, issue 12): dates are
validated and compared as instants, a bare date is a KST day, sections match by name or slug."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scraper import filters, search, stats
from scraper.cli import main
from scraper.errors import UsageError
from scraper.store import Archive
from tests.archive_helpers import KH1, KH2, KH3, build_archive, yonhap

# 19 pages: 17 published on 2023-04-19 KST (one at 11:12:32 KST = 02:12:32Z), one on
# 2019-08-20 (yna_article_16), one on 2024-11-06 (KH2)
PAGES = [yonhap(n) for n in range(1, 17)] + [KH1, KH2, KH3]
EARLY = "yonhap:AEN20230419000952325"  # 2023-04-19T11:12:32+09:00


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_archive(tmp_path_factory.mktemp("filters") / "archive", PAGES)


def export_ids(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    assert main(["--archive", str(root), "-q", "export", *args]) == 0
    return [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize(
    ("text", "end", "instant"),
    [
        ("2023-04-19", False, "2023-04-18T15:00:00+00:00"),  # 00:00 KST
        ("2023-04-19", True, "2023-04-19T15:00:00+00:00"),  # the end of that KST day
        ("2023-04-19T03:00Z", False, "2023-04-19T03:00:00+00:00"),
        ("2023-04-19T12:00+09:00", False, "2023-04-19T03:00:00+00:00"),
        ("2023-04-19 12:00:30", False, "2023-04-19T03:00:30+00:00"),  # no offset: KST
        ("2023-04-19T03:00:00.5-0100", False, "2023-04-19T04:00:00.500000+00:00"),
    ],
)
def test_bounds_are_instants(text: str, end: bool, instant: str) -> None:
    got = filters.parse_bound(text, end=end)
    assert got == datetime.fromisoformat(instant).astimezone(UTC)


@pytest.mark.parametrize(
    "text", ["2023/04/01", "2023-02-30", "2023-13-45", "20230419", "yesterday", "2023-04-19T25:00"]
)
def test_invalid_dates_are_refused(text: str) -> None:
    with pytest.raises(UsageError) as info:
        filters.Window.parse(text, None)
    assert text in str(info.value)


def test_an_inverted_range_is_refused() -> None:
    with pytest.raises(UsageError, match="--since is after --until"):
        filters.Window.parse("2023-04-20", "2023-04-19")
    with pytest.raises(UsageError):
        filters.Window.parse("2023-04-19T12:00Z", "2023-04-19T11:59Z")
    filters.Window.parse("2023-04-19", "2023-04-19")  # one whole day
    filters.Window.parse("2023-04-19T12:00Z", "2023-04-19T12:00Z")  # one instant


def test_export_filters_by_instant(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert len(export_ids(built, capsys)) == 19
    # compared as strings, "2023/04/01" sorted after every stored date and gave one row
    assert len(export_ids(built, capsys, "--since", "2023-04-01")) == 18
    # 02:12:32Z is before 03:00Z; as strings "2023-04-19T11:12…" sorted after "2023-04-19T03…"
    after = export_ids(built, capsys, "--since", "2023-04-19T03:00Z")
    assert EARLY not in after and len(after) == 17  # 16 that day after 03:00Z, and 2024
    assert EARLY in export_ids(built, capsys, "--since", "2023-04-19T02:12:32Z")
    # --until a date runs through the end of that KST day; with a time it includes the instant
    assert len(export_ids(built, capsys, "--until", "2023-04-19")) == 18
    assert len(export_ids(built, capsys, "--until", "2023-04-18")) == 1
    assert export_ids(built, capsys, "--until", "2023-04-19T02:12:32Z")[-1] == EARLY
    assert EARLY not in export_ids(built, capsys, "--until", "2023-04-19T02:12:31Z")
    day = export_ids(built, capsys, "--since", "2024-11-06", "--until", "2024-11-06")
    assert day == ["koreaherald:20241106050843"]


@pytest.mark.parametrize(
    "args",
    [
        ("export", "--since", "2023/04/01"),
        ("export", "--since", "2023-02-30"),
        ("export", "--until", "2023-13-45"),
        ("export", "--since", "2023-04-20", "--until", "2023-04-19"),
        ("search", "Korea", "--since", "2023-02-30"),
        ("search", "Korea", "--since", "2023-04-20", "--until", "2023-04-19"),
        ("stats", "--until", "2023/04/01"),
        ("stats", "--since", "2023-04-20", "--until", "2023-04-19"),
        ("reparse", "--since", "2023-13-45"),
    ],
)
def test_every_filtering_command_refuses_bad_dates(
    built: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    assert main(["--archive", str(built), "-q", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert line.startswith("error: --")


def test_search_and_stats_use_the_same_window(built: Path) -> None:
    with Archive(built) as archive:
        hits = search.search(archive, "Korea", since="2023-04-19T03:00Z", limit=50)
        assert hits and EARLY not in {h.id for h in hits}
        assert EARLY in {h.id for h in search.search(archive, "satellite", since="2023-04-19")}
        counted = stats.collect(archive, since="2023-04-19", until="2023-04-19")
        assert sum(s.articles for s in counted.sources) == 17
        assert sum(s.articles for s in stats.collect(archive).sources) == 19


@pytest.mark.parametrize(
    ("section", "count"),
    [("nk", 3), ("NK", 3), ("north korea", 3), ("north-korea", 3), ("politics", 5)],
)
def test_section_by_slug_or_name_any_case(
    built: Path, capsys: pytest.CaptureFixture[str], section: str, count: int
) -> None:
    ids = export_ids(built, capsys, "--section", section)
    assert len(ids) == count


def test_the_help_examples_for_sections_work(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--archive", str(built), "search", "satellite", "--section", "nk"]) == 0
    assert EARLY in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("stats", "--days", "-3"), "argument --days: must be 0 or more, got -3"),
        (("search", "x", "--limit", "-1"), "argument --limit: must be 1 or more, got -1"),
        (("search", "x", "--limit", "0"), "argument --limit: must be 1 or more, got 0"),
    ],
)
def test_negative_counts_are_refused(
    built: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--archive", str(built), *args])
    assert info.value.code == 2
    assert message in capsys.readouterr().err
