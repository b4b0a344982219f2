"""``scraper coverage``: per source and month, articles, parser shares, days without any."""

from __future__ import annotations

import json
from pathlib import Path

from scraper.config import load_config
from scraper.history import coverage
from scraper.history.importer import Importer
from scraper.store import Archive
from scraper.warc import WarcStore
from tests.conftest import run_cli, write_config
from tests.history_warcs import response, write_warc, yonhap_page
from tests.server import kh3_copy


def _archive(tmp_path: Path) -> Path:
    cfg = write_config(tmp_path, "https://en.yna.co.kr")
    config = load_config(cfg)
    records = [
        response(
            f"https://en.yna.co.kr/view/AEN201602{d:02d}000{d:02d}0315",
            yonhap_page(f"AEN201602{d:02d}000{d:02d}0315"),
        )
        for d in (1, 2, 29)
    ]
    records.append(response("https://www.koreaherald.com/article/3100001", kh3_copy("3100001")))
    with Archive(config.archive.path) as archive:
        warcs = WarcStore(config.archive.path)
        Importer(config, archive, warcs).run([write_warc(tmp_path / "c.warc.gz", records)])
        warcs.close()
    return cfg


def test_months_shares_and_empty_days(tmp_path: Path) -> None:
    cfg = _archive(tmp_path)
    with Archive(tmp_path / "archive") as archive:
        # the copies keep the fixture's publication date: move them into February 2016
        for d in (1, 2, 29):
            archive.db.execute(
                "UPDATE articles SET published_at = ? WHERE id LIKE ?",
                (f"2016-02-{d:02d}T10:00:00+09:00", f"%201602{d:02d}%"),
            )
        months = coverage.collect(archive, source="yonhap", today="2026-01-01")
    feb = next(m for m in months if m.month == "2016-02")
    assert (feb.articles, feb.parsers) == (3, {"yonhap/y1": 3})
    assert len(feb.empty_days) == 26 and "2016-02-03" in feb.empty_days
    assert "2016-02-29" not in feb.empty_days
    result = run_cli("--config", str(cfg), "coverage", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {d["source"] for d in data} == {"yonhap", "koreaherald"}
    assert all(abs(sum(d["shares"].values()) - 1) < 1e-6 for d in data)
    text = run_cli("--config", str(cfg), "coverage", "--source", "yonhap").stdout
    assert "yonhap  2016-02       3  yonhap/y1 100%; 26 days without articles" in text


def test_coverage_on_a_missing_archive_creates_nothing(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "https://en.yna.co.kr")
    result = run_cli("--config", str(cfg), "coverage")
    assert result.returncode == 1 and result.stderr.startswith("error: no archive here")
    assert not (tmp_path / "archive").exists()


def test_the_window_the_source_and_today_bound_the_figures(tmp_path: Path) -> None:
    _archive(tmp_path)
    with Archive(tmp_path / "archive") as archive:
        for d in (1, 2, 29):
            archive.db.execute(
                "UPDATE articles SET published_at = ? WHERE id LIKE ?",
                (f"2016-02-{d:02d}T10:00:00+09:00", f"%201602{d:02d}%"),
            )
        everything = coverage.collect(archive, today="2016-02-20")
        window = coverage.collect(
            archive, source="yonhap", since="2016-02-02", until="2016-02-28", today="2026-01-01"
        )
        herald = coverage.collect(archive, source="koreaherald", today="2026-01-01")
    assert [m.source for m in herald] == ["koreaherald"]
    assert {m.source for m in everything} == {"yonhap", "koreaherald"}
    feb = next(m for m in everything if m.month == "2016-02")
    # the current month counts its days up to today, today included
    assert feb.empty_days == tuple(f"2016-02-{d:02d}" for d in range(3, 21))
    assert feb.to_dict() == {
        "source": "yonhap",
        "month": "2016-02",
        "articles": 3,
        "parsers": {"yonhap/y1": 3},
        "empty_days": list(feb.empty_days),
        "shares": {"yonhap/y1": 1.0},
    }
    # since and until (KST days, until inclusive) leave out the 1st and the 29th
    [only] = window
    assert (only.month, only.articles) == ("2016-02", 1)
    assert only.empty_days[0] == "2016-02-01" and "2016-02-29" in only.empty_days
    assert only.share("yonhap/y1") == 1.0 and only.share("fallback/x") == 0.0
