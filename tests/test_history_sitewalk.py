"""``scraper backfill --via site`` end to end: a real HTTP server on 127.0.0.1 serves Korea Herald
KH-1 era list pages (``list.php?ct=<code>&np=<N>``, article links under ``div.main_sec``, a
``.paging`` pager) and copies of the KH-1 fixture article under the listed ``ud`` ids; the real
``scraper`` console script walks them. Every assertion about "fetched once" reads the server's
request log."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from scraper.sources import koreaherald
from tests.archive_helpers import KH1, assert_consistent
from tests.conftest import ROOT, run_cli, write_config
from tests.server import FixtureServer

KH1_UD = "20230419000612"
MAIN = "020000000000"
SECTIONS = koreaherald.SOURCE.history_listings[0].codes[1:]
# the main listing, newest first, three articles a page; page 5 is the last
PAGES = [
    ["20190320000101", "20190318000102", "20190315000103"],
    ["20190312000104", "20190310000105", "20190305000106"],
    ["20190228000107", "20190225000108", "20190220000109"],
    ["20190215000110", "20190210000111", "20190201000112"],
    ["20190130000113"],
]
SINCE, UNTIL = "2019-02-22", "2019-03-11"
IN_WINDOW = {"20190310000105", "20190305000106", "20190228000107", "20190225000108"}


def list_path(code: str, page: int) -> str:
    return f"/list.php?ct={code}&np={page}"


def list_html(code: str, page: int, uds: list[str], *, last: bool) -> bytes:
    """A KH-1 list page: links in ``div.main_sec``, a sidebar link that is not part of the list,
    and a pager whose current page has class ``on`` (links up to the next page unless last)."""
    items = "".join(f'<li><a href="/view.php?ud={ud}">story {ud}</a></li>' for ud in uds)
    pager = f'<li><a class="on" href="{list_path(code, page)}">{page}</a></li>'
    if not last:
        pager += f'<li><a href="{list_path(code, page + 1)}">{page + 1}</a></li>'
    return (
        "<!doctype html><html><body>"
        f'<div class="main_sec"><ul class="main_sec_li">{items}</ul></div>'
        '<div class="main_r"><a href="/view.php?ud=20190319000999">most popular</a></div>'
        f'<div class="paging"><ul>{pager}</ul></div></body></html>'
    ).encode()


def article_path(ud: str) -> str:
    return f"/view.php?ud={ud}"


def serve_site(server: FixtureServer, robots: str = "User-agent: *\nAllow: /\n") -> None:
    for n, uds in enumerate(PAGES, start=1):
        server.add(list_path(MAIN, n), list_html(MAIN, n, uds, last=n == len(PAGES)))
    for code in SECTIONS:  # one page each, its article also in the main list
        server.add(list_path(code, 1), list_html(code, 1, ["20190228000107"], last=True))
    page = KH1.read_bytes()
    for uds in PAGES:
        for ud in uds:
            server.add(article_path(ud), page.replace(KH1_UD.encode(), ud.encode()))
    server.add("/robots.txt", robots, content_type="text/plain")


def backfill(
    cfg: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    args = ["--config", str(cfg), "backfill", "--source", "koreaherald", "--via", "site"]
    args += ["--since", SINCE, "--until", UNTIL, *extra]
    if env is None:
        return run_cli(*args)
    exe = Path(sys.executable).parent / "scraper"
    return subprocess.run(
        [str(exe), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def stored(root: Path) -> set[str]:
    with sqlite3.connect(root / "index.sqlite") as db:
        return {r[0].split(":")[1] for r in db.execute("SELECT id FROM articles")}


def article_hits(server: FixtureServer) -> list[str]:
    return [p for p in server.paths() if p.startswith("/view.php")]


def crash_env(point: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPER_")}
    env["SCRAPER_CRASH_AT"] = point
    return env


def test_stores_exactly_the_window_and_stops_paging_at_since(
    server: FixtureServer, tmp_path: Path
) -> None:
    serve_site(server)
    cfg = write_config(tmp_path, server.url)
    result = backfill(cfg)
    assert result.returncode == 0, result.stderr + result.stdout
    assert stored(tmp_path / "archive") == IN_WINDOW
    assert sorted(article_hits(server)) == sorted(article_path(ud) for ud in IN_WINDOW)
    # page 4 is the first older than --since: read, and nothing after it
    paths = server.paths()
    assert [p for p in paths if f"ct={MAIN}" in p] == [list_path(MAIN, n) for n in (1, 2, 3, 4)]
    for code in SECTIONS:  # the pager ends on page 1
        assert list_path(code, 2) not in paths
    assert "20190319000999" not in " ".join(paths)  # the sidebar is not the list
    assert result.stdout.startswith(
        "koreaherald: backfill via site: 12 listing pages read (9 of 9 listings walked to the "
        "end), 4 articles in the window, fetched 4, new 4, revised 0, unchanged 0, failed 0, "
        "skipped by robots 0, already archived 0; 16 requests"
    ), result.stdout
    assert_consistent(tmp_path / "archive")
    # everything walked and fetched: the same command makes no request at all
    before = len(server.paths())
    again = backfill(cfg)
    assert again.returncode == 0, again.stderr
    assert server.paths()[before:] == []
    assert "fetched 0" in again.stdout and "; 0 requests" in again.stdout


def test_robots_txt_is_honoured(server: FixtureServer, tmp_path: Path) -> None:
    serve_site(server, "User-agent: *\nDisallow: /view.php?ud=20190305000106\n")
    result = backfill(write_config(tmp_path, server.url))
    assert result.returncode == 0, result.stderr
    assert article_path("20190305000106") not in server.paths()
    assert stored(tmp_path / "archive") == IN_WINDOW - {"20190305000106"}
    assert "fetched 3" in result.stdout and "skipped by robots 1" in result.stdout


def test_robots_txt_disallowing_the_listing_stops_the_walk(
    server: FixtureServer, tmp_path: Path
) -> None:
    serve_site(server, "User-agent: *\nDisallow: /list.php\n")
    result = backfill(write_config(tmp_path, server.url))
    assert result.returncode == 1
    assert [p for p in server.paths() if p.startswith("/list.php")] == []
    assert "robots.txt disallows" in result.stdout


def test_kill_9_after_an_article_then_rerun_fetches_nothing_twice(
    server: FixtureServer, tmp_path: Path
) -> None:
    serve_site(server)
    cfg = write_config(tmp_path, server.url)
    # SIGKILL after the 2nd article is stored, before the walk marks it fetched
    killed = backfill(cfg, env=crash_env("sitewalk:2"))
    assert killed.returncode == -9
    assert len(article_hits(server)) == 2
    rerun = backfill(cfg)
    assert rerun.returncode == 0, rerun.stderr
    assert "fetched 2" in rerun.stdout and "already archived 1" in rerun.stdout, rerun.stdout
    hits = article_hits(server)
    assert sorted(hits) == sorted(article_path(ud) for ud in IN_WINDOW)  # each exactly once
    lists = [p for p in server.paths() if p.startswith("/list.php")]
    assert len(lists) == len(set(lists))  # no list page read twice either
    assert stored(tmp_path / "archive") == IN_WINDOW
    assert_consistent(tmp_path / "archive")


def test_kill_9_mid_walk_then_rerun_continues_at_the_cursor(
    server: FixtureServer, tmp_path: Path
) -> None:
    serve_site(server)
    cfg = write_config(tmp_path, server.url)
    killed = backfill(cfg, env=crash_env("sitewalk-page:2"))  # after page 2 is saved
    assert killed.returncode == -9
    assert [p for p in server.paths() if p.startswith("/list.php")] == [
        list_path(MAIN, 1),
        list_path(MAIN, 2),
    ]
    assert article_hits(server) == []
    rerun = backfill(cfg)
    assert rerun.returncode == 0, rerun.stderr
    lists = [p for p in server.paths() if f"ct={MAIN}" in p]
    assert lists == [list_path(MAIN, n) for n in (1, 2, 3, 4)]  # 3 and 4 only on the rerun
    assert sorted(article_hits(server)) == sorted(article_path(ud) for ud in IN_WINDOW)
    assert stored(tmp_path / "archive") == IN_WINDOW


def test_dry_run_reads_listings_and_fetches_no_article(
    server: FixtureServer, tmp_path: Path
) -> None:
    serve_site(server)
    cfg = write_config(tmp_path, server.url)
    slow = tmp_path / "slow.toml"  # the estimate at 0.25 s a request: 4 articles, 1 s
    slow.write_text(cfg.read_text().replace("min_delay = 0", "min_delay = 0.25"))
    result = backfill(slow, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert article_hits(server) == []
    assert result.stdout.startswith(
        "koreaherald: dry run via site: 12 listing pages read (9 of 9 listings walked to the "
        "end), 4 articles in the window, 4 to fetch, 0 already archived, about 1 s at the "
        "configured rate; 12 requests made"
    ), result.stdout
    assert not (tmp_path / "archive" / "articles").exists()
    # the walk is remembered: the real run reads no list page again
    before = len(server.paths())
    real = backfill(cfg)
    assert real.returncode == 0, real.stderr
    assert all(p.startswith("/view.php") for p in server.paths()[before:])
    assert stored(tmp_path / "archive") == IN_WINDOW


def test_max_requests_stops_and_the_next_run_continues(
    server: FixtureServer, tmp_path: Path
) -> None:
    serve_site(server)
    cfg = write_config(tmp_path, server.url)
    first = backfill(cfg, "--max-requests", "3")
    assert first.returncode == 0, first.stderr
    assert "(stopped: --max-requests 3 reached)" in first.stdout
    assert len([p for p in server.paths() if p != "/robots.txt"]) == 3
    second = backfill(cfg)
    assert second.returncode == 0, second.stderr
    assert stored(tmp_path / "archive") == IN_WINDOW
    pages = [p for p in server.paths() if p.startswith("/list.php")]
    assert len(pages) == len(set(pages))


def test_a_listing_gone_today_is_a_problem(server: FixtureServer, tmp_path: Path) -> None:
    server.add("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
    result = backfill(write_config(tmp_path, server.url))
    assert result.returncode == 1
    assert f"{server.url}{list_path(MAIN, 1)} answered 404" in result.stdout
    assert "0 articles in the window" in result.stdout
    # not settled: the next run asks again and says so again
    again = backfill(write_config(tmp_path, server.url))
    assert again.returncode == 1 and "answered 404" in again.stdout
    assert len(server.requests_for(list_path(MAIN, 1))) == 2


def test_yonhap_is_refused_naming_what_is_evidenced(server: FixtureServer, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, server.url)
    result = run_cli(
        "--config", str(cfg), "backfill", "--source", "yonhap", "--via", "site",
        "--since", SINCE, "--until", UNTIL,
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: yonhap has no listing evidenced to page back by date")
    assert "/news-sitemap.xml" in lines[0] and lines[0].endswith("(--via site)")
    assert server.paths() == []


def test_a_site_repeating_its_last_page_ends_the_walk(
    server: FixtureServer, tmp_path: Path
) -> None:
    """No pager, and a page number past the end answers the last page again (a common
    clamp): the walk ends on the second repeat instead of paging forever."""
    serve_site(server)
    for n, uds in enumerate(PAGES, start=1):
        server.add(list_path(MAIN, n), list_html(MAIN, n, uds, last=True).replace(b"paging", b"x"))
    for n in (6, 7):
        server.add(list_path(MAIN, n), server.routes[list_path(MAIN, 5)].body)
    cfg = write_config(tmp_path, server.url)
    args = ["--config", str(cfg), "backfill", "--source", "koreaherald", "--via", "site"]
    result = run_cli(*args, "--since", "2019-01-01", "--until", "2019-01-31", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert [p for p in server.paths() if f"ct={MAIN}" in p] == [
        list_path(MAIN, n) for n in range(1, 8)
    ]
    assert "1 articles in the window, 1 to fetch" in result.stdout


def test_a_listing_shifted_by_new_articles_between_runs_is_caught_up(
    server: FixtureServer, tmp_path: Path
) -> None:
    """Killed (here: stopped by --max-requests) after page 2, and meanwhile exactly a page of
    new articles pushed everything down: the rerun's page 3 is the old page 2. The walk must
    not take that for the end of the listing."""
    serve_site(server)
    cfg = write_config(tmp_path, server.url)
    first = backfill(cfg, "--max-requests", "2")
    assert "(stopped: --max-requests 2 reached)" in first.stdout, first.stdout
    shifted = [["20190321000201", "20190321000202", "20190321000203"], *PAGES]
    for n, uds in enumerate(shifted, start=1):
        server.add(list_path(MAIN, n), list_html(MAIN, n, uds, last=n == len(shifted)))
    second = backfill(cfg)
    assert second.returncode == 0, second.stderr
    assert stored(tmp_path / "archive") == IN_WINDOW
    main = [p for p in server.paths() if f"ct={MAIN}" in p]
    assert main == [list_path(MAIN, n) for n in (1, 2, 3, 4, 5)]
