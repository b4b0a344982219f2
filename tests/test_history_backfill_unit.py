"""Backfill against the Internet Archive's CDX answer shape, written by hand from its
documentation (wayback-cdx-server README: ``output=json`` gives an array of rows whose first
row names the fields; with ``showResumeKey=true`` an empty row and ``[resumeKey]`` end a page
that has more to come), over ``httpx.MockTransport``."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from scraper.config import Config, load_config
from scraper.errors import FetchError
from scraper.fetch import Fetcher
from scraper.filters import Window
from scraper.history import backfill, cdx
from scraper.store import Archive
from tests.conftest import write_config
from tests.history_warcs import yonhap_page

HEADER = ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]
A, B, C = "AEN20160301000100315", "AEN20160305000300315", "AEN20160306000400315"


def ia_row(native: str, ts: str, digest: str, *, original: str | None = None) -> list[str]:
    url = original or f"http://en.yna.co.kr:80/view/{native}"
    return [f"kr,co,yna,en)/view/{native.lower()}", ts, url, "text/html", "200", digest, "9000"]


PAGE_1 = [
    HEADER,
    ia_row(A, "20160301090000", "DIGESTA"),
    # the same content under a tracking form of the URL, a month later: one fetch
    ia_row(A, "20160401090000", "DIGESTA", original=f"https://en.yna.co.kr/view/{A}?input=1195m"),
    [],
    ["kr%2Cco%2Cyna%2Cen%29%2Fview%2Faen20160305000300315+20160305120000"],
]
PAGE_2 = [
    HEADER,
    ia_row(B, "20160305120000", "DIGESTB"),
    ["kr,co,yna,en)/view/" + C.lower(), "20160306000000", f"http://en.yna.co.kr/view/{C}",
     "text/html", "404", "DIGESTC", "300"],
    ["kr,co,yna,en)/news/index", "20160306000000", "http://en.yna.co.kr/news/index",
     "text/html", "200", "DIGESTD", "300"],
]  # fmt: skip


class FakeArchive:
    def __init__(self) -> None:
        self.calls: list[tuple[float, str]] = []
        self.throttle_once = True

    def __call__(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.calls.append((time.monotonic(), url))
        assert "kr-news-archiver" in request.headers["user-agent"]
        parts = urlsplit(url)
        if parts.path == "/robots.txt":
            return httpx.Response(404)
        if parts.path == "/cdx/search/cdx":
            query = parse_qs(parts.query)
            assert query["matchType"] == ["prefix"]
            assert query["showResumeKey"] == ["true"]
            assert query["filter"] == ["statuscode:200", "mimetype:text/html"]
            if query["url"] != ["en.yna.co.kr/view/AEN"]:
                return httpx.Response(200, text="[]")
            page = PAGE_2 if "resumeKey" in query else PAGE_1
            return httpx.Response(200, text=json.dumps(page))
        if "id_/" in parts.path:
            if self.throttle_once:
                self.throttle_once = False
                return httpx.Response(429, headers={"Retry-After": "0"})
            native = parts.path.rsplit("/", 1)[1].split("?")[0]
            return httpx.Response(
                200, content=yonhap_page(native), headers={"Content-Type": "text/html"}
            )
        return httpx.Response(404)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    path = write_config(tmp_path, "https://en.yna.co.kr")
    path.write_text(path.read_text() + "\n[backfill]\nmin_delay = 0.05\npage_size = 2\n")
    return load_config(path)


def run(config: Config, fake: FakeArchive, **kwargs: object) -> backfill.Summary:
    fetcher = Fetcher(config.http, transport=httpx.MockTransport(fake))
    window = Window.parse("2016-03-01", "2016-04-30")
    return backfill.run(config, "yonhap", window, fetcher=fetcher, **kwargs)  # type: ignore[arg-type]


def test_parse_ia_json_pages_and_resume_key() -> None:
    first = cdx.parse(json.dumps(PAGE_1), "x")
    assert [r.timestamp for r in first.rows] == ["20160301090000", "20160401090000"]
    assert first.resume_key == PAGE_1[-1][0]
    second = cdx.parse(json.dumps(PAGE_2), "x")
    assert second.resume_key is None and len(second.rows) == 3
    assert cdx.parse("[]", "x").rows == ()


def test_parse_pywb_json_lines() -> None:
    text = "\n".join(
        json.dumps(
            {"urlkey": "kr,co,yna,en)/view/x", "timestamp": ts, "url": "http://en.yna.co.kr/view/x",
             "mime": "text/html", "status": "200", "digest": "D", "length": "1"}
        )
        for ts in ("20160301000000", "20160302000000")
    )  # fmt: skip
    page = cdx.parse(text, "x")
    assert [r.original for r in page.rows] == ["http://en.yna.co.kr/view/x"] * 2
    assert page.resume_key is None


def test_backfill_pages_through_resume_keys_and_is_polite(config: Config) -> None:
    fake = FakeArchive()
    summary = run(config, fake)
    assert (summary.captures, summary.fetched, summary.new) == (2, 2, 2), summary.line()
    cdx_calls = [u for _, u in fake.calls if "/cdx/" in u]
    assert len(cdx_calls) == 2 and "resumeKey=" in cdx_calls[1]
    replays = [u for _, u in fake.calls if "id_/" in u]
    assert len(replays) == 3  # one 429 answered with Retry-After, then both captures
    assert replays[0].startswith("https://web.archive.org/web/20160301090000id_/http://en.yna")
    times = [t for t, u in fake.calls if "robots" not in u]
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.05
    with Archive(config.archive.path) as archive:
        got = [
            tuple(r) for r in archive.db.execute("SELECT id, fetched_at FROM articles ORDER BY id")
        ]
    assert got == [
        (f"yonhap:{A}", "2016-03-01T09:00:00+00:00"),
        (f"yonhap:{B}", "2016-03-05T12:00:00+00:00"),
    ]
    fake.calls.clear()
    again = run(config, fake)
    assert fake.calls == [] and again.fetched == 0


def test_dry_run_counts_and_fetches_no_capture(config: Config) -> None:
    fake = FakeArchive()
    summary = run(config, fake, dry_run=True)
    assert (summary.todo, summary.new_articles) == (2, 2)
    assert not [u for _, u in fake.calls if "id_/" in u]
    assert "2 to fetch (2 new articles)" in summary.line()


def test_max_requests_stops_and_the_next_run_continues(config: Config) -> None:
    fake = FakeArchive()
    # two CDX pages and one capture (its retry after the 429 is part of the same request)
    first = run(config, fake, max_requests=3)
    assert first.stopped and first.fetched == 1
    seen = len(fake.calls)
    second = run(config, fake)
    assert second.fetched == 1 and second.requests == 1
    assert not [u for _, u in fake.calls[seen:] if "/cdx/" in u]


def test_backfill_config_keys_are_checked(tmp_path: Path) -> None:
    from scraper.config import build_config
    from scraper.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        build_config(
            {"backfill": {"replay_url": "https://web.archive.org/web/{timestamp}/", "cdx_url": "x"}}
        )
    assert caught.value.lines() == [
        "backfill.cdx_url must be an http(s) URL, got 'x'",
        "backfill.replay_url must contain {timestamp} and {url}, got "
        "'https://web.archive.org/web/{timestamp}/'",
    ]


def test_failed_captures_are_tried_again_and_gone_ones_are_not(config: Config) -> None:
    fake = FakeArchive()
    fake.throttle_once = False
    broken = {A: 503, B: 404}

    def flaky(request: httpx.Request) -> httpx.Response:
        native = str(request.url).rsplit("/", 1)[1]
        if "id_/" in str(request.url) and native in broken:
            fake.calls.append((time.monotonic(), str(request.url)))
            return httpx.Response(broken[native])
        return fake(request)

    fetcher = Fetcher(config.http, transport=httpx.MockTransport(flaky))
    window = Window.parse("2016-03-01", "2016-04-30")
    first = backfill.run(config, "yonhap", window, fetcher=fetcher)
    assert (first.fetched, first.failed) == (0, 2)
    del broken[A]  # the archive is back for A; B stays gone
    fake.calls.clear()
    second = backfill.run(config, "yonhap", window, fetcher=fetcher)
    assert (second.fetched, second.new, second.failed) == (1, 1, 0)
    assert [u for _, u in fake.calls if "id_/" in u] == [
        f"https://web.archive.org/web/20160301090000id_/http://en.yna.co.kr:80/view/{A}"
    ]


def test_the_window_is_sent_as_inclusive_utc_stamps(monkeypatch: pytest.MonkeyPatch) -> None:
    # bare dates are KST days: 1 March 00:00 KST is 29 February 15:00 UTC, and the last second
    # of 31 March KST is the inclusive end; the machine's own zone plays no part
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        since, until = backfill.stamp14(Window.parse("2016-03-01", "2016-03-31"))
    finally:
        monkeypatch.undo()
        time.tzset()
    assert (since, until) == ("20160229150000", "20160331145959")
    assert backfill.capture_date("20160301090000") == "2016-03-01T09:00:00Z"


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (119.4, "about 119 s"),
        (120, "about 2 min"),
        (7199, "about 120 min"),
        (7200, "about 2.0 h"),
        (172799, "about 48.0 h"),
        (172800, "about 2.0 days"),
        (3 * 86400, "about 3.0 days"),
    ],
)
def test_the_dry_run_estimate_is_in_a_unit_a_person_reads(seconds: float, shown: str) -> None:
    summary = backfill.Summary(
        source="yonhap", dry_run=True, captures=3, todo=2, new_articles=1, eta_seconds=seconds
    )
    assert summary.line() == (
        f"yonhap: dry run: 3 captures listed, 2 to fetch (1 new articles), {shown} at the "
        "configured rate; 0 requests made"
    )


def test_the_cdx_query_asks_for_exactly_the_documented_parameters() -> None:
    url = cdx.query_url(
        "http://cdx.test/cdx", "en.yna.co.kr/view/", "20160301000000", "20160331235959",
        limit=50, resume_key="k 1",
    )  # fmt: skip
    assert urlsplit(url)[:3] == ("http", "cdx.test", "/cdx")
    assert parse_qs(urlsplit(url).query) == {
        "url": ["en.yna.co.kr/view/"],
        "matchType": ["prefix"],
        "from": ["20160301000000"],
        "to": ["20160331235959"],
        "output": ["json"],
        "filter": ["statuscode:200", "mimetype:text/html"],
        "collapse": ["digest"],
        "limit": ["50"],
        "showResumeKey": ["true"],
        "resumeKey": ["k 1"],
    }


def test_cdx_rows_that_cannot_be_fetched_are_dropped_and_short_rows_are_read() -> None:
    rows = [
        HEADER,
        ["k", "20160301090000", "", "text/html", "200", "D1", "1"],  # no URL
        ["k", "2016030109", "http://en.yna.co.kr/view/x", "text/html", "200", "D2", "1"],  # short
        ["k", "20160302090000", "http://en.yna.co.kr/view/y"],  # fields left off at the end
        [],
        [],  # an empty resume key row: the listing is complete
    ]
    page = cdx.parse(json.dumps(rows), "x")
    assert page.rows == (
        cdx.CdxRow(
            original="http://en.yna.co.kr/view/y",
            timestamp="20160302090000",
            status="",
            mime="",
            digest="",
        ),
    )
    assert page.resume_key is None
    assert cdx.parse("  \n", "x") == cdx.CdxPage(rows=(), resume_key=None)


def test_an_answer_that_is_not_cdx_json_names_the_query() -> None:
    with pytest.raises(FetchError) as info:
        cdx.parse("<html>rate limited</html>", "http://cdx.test/cdx?url=x")
    assert info.value.url == "http://cdx.test/cdx?url=x"
    assert info.value.message.startswith("not a CDX JSON answer: ")


@pytest.mark.parametrize("status", [403, 410])
def test_a_capture_the_archive_refuses_for_good_is_not_asked_for_again(
    config: Config, status: int
) -> None:
    fake = FakeArchive()
    fake.throttle_once = False

    def refusing(request: httpx.Request) -> httpx.Response:
        if "id_/" in str(request.url) and str(request.url).endswith(B):
            fake.calls.append((time.monotonic(), str(request.url)))
            return httpx.Response(status)
        return fake(request)

    fetcher = Fetcher(config.http, transport=httpx.MockTransport(refusing))
    window = Window.parse("2016-03-01", "2016-04-30")
    first = backfill.run(config, "yonhap", window, fetcher=fetcher)
    assert (first.fetched, first.new, first.failed) == (1, 1, 1)
    with Archive(config.archive.path) as archive:
        [(state, error)] = archive.db.execute(
            "SELECT state, error FROM backfill_captures WHERE original LIKE ?", (f"%{B}",)
        ).fetchall()
    assert (state, str(error)) == (
        "gone",
        f"HTTP {status} (https://web.archive.org/web/"
        f"20160305120000id_/http://en.yna.co.kr:80/view/{B})",
    )
    fake.calls.clear()
    second = backfill.run(config, "yonhap", window, fetcher=fetcher)
    assert not [u for _, u in fake.calls if "id_/" in u] and second.fetched == 0
    assert second.line() == (
        "yonhap: backfill: 2 captures listed, fetched 0, new 0, revised 0, unchanged 0, "
        "failed 0; skipped: none; 0 requests"
    )
