"""`scraper parse` as a user runs it: good pages, and every kind of bad input."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, run_cli

YNA = FIXTURES / "yonhap"
KH = FIXTURES / "koreaherald"


def test_parse_prints_one_record_per_file_in_order() -> None:
    files = [
        YNA / "yna_article_9.html",
        KH / "kh3_article_10604071.html",
        YNA / "yna_article_1.html",
    ]
    result = run_cli("parse", *map(str, files))
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in records] == [
        "yonhap:AEN20230419003851320",
        "koreaherald:10604071",
        "yonhap:AEN20230419006200320",
    ]
    lead = records[0]
    assert lead["update_tag"] == "LEAD" and lead["title"].startswith("(LEAD) ")
    assert lead["authors"] == ["Kang Yoon-seung"]
    assert lead["editor_note"].startswith("(ATTN: UPDATES")
    assert not lead["body"].startswith(("By ", "(ATTN"))
    prices = records[2]["body"].splitlines()
    assert prices[0] == "Asiana Airlines 13,310 UP 70" and "(MORE)" not in prices[-1]


def _bad(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("empty.html", lambda: b"", "empty input"),
        ("blank.html", lambda: b"  \n\t ", "empty input"),
        ("random.bin", lambda: random.Random(4096).randbytes(4096), "not HTML"),  # seeded
        ("invalid-utf8.html", lambda: b"\xff\xfe\xfa" * 500, "not HTML"),
        ("plain.txt", lambda: b"just some words, no markup at all " * 10, "not HTML"),
        (
            "list.html",
            lambda: (
                b'<html><head><link rel="canonical" href="https://en.yna.co.kr/news"></head>'
                b'<body><ul><li><a href="/view/AEN20230419000952325">x</a></li></ul></body></html>'
            ),
            "not an article page",
        ),
        (
            "nested.html",
            lambda: (
                b"<html><body>"
                + b"<div>" * 50_000
                + b"deep"
                + b"</div>" * 50_000
                + b"</body></html>"
            ),
            "not an article page",
        ),
    ],
)
def test_bad_input_gives_one_clear_line(tmp_path: Path, name: str, make, message: str) -> None:  # type: ignore[no-untyped-def]
    path = _bad(tmp_path, name, make())
    result = run_cli("parse", str(path))
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert name in lines[0]


def test_page_with_some_invalid_utf8_still_parses(tmp_path: Path) -> None:
    data = (YNA / "yna_article_8.html").read_bytes().replace(b"mpox", b"mp\xffox", 1)
    result = run_cli("parse", str(_bad(tmp_path, "broken.html", data)))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["id"] == "yonhap:AEN20230419005000320"


def test_one_bad_file_does_not_stop_the_others(tmp_path: Path) -> None:
    empty = _bad(tmp_path, "empty.html", b"")
    result = run_cli(
        "parse", str(empty), str(YNA / "yna_article_3.html"), str(tmp_path / "missing.html")
    )
    assert result.returncode == 1
    assert len(result.stdout.splitlines()) == 1
    assert len(result.stderr.splitlines()) == 2 and "cannot read file" in result.stderr


def test_url_option_names_a_page_without_canonical(tmp_path: Path) -> None:
    html = (KH / "kh2_view_20241106050843.html").read_text()
    html = html.replace('<link rel="canonical"', '<link rel="x"').replace(
        'property="og:url"', 'property="x"'
    )
    page = _bad(tmp_path, "page.html", html.encode())
    assert run_cli("parse", str(page)).returncode == 1
    page_url = "https://www.koreaherald.com/view.php?ud=20241106050843"  # named, not fetched
    result = run_cli("parse", str(page), "--url", page_url)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["id"] == "koreaherald:20241106050843"
