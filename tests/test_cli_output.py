"""What the read-only commands say to a person: failures grouped by reason in ``stats``,
``search`` saying how it read the query and when nothing matched, and ``status`` after a
killed service."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from scraper import stats
from scraper.store import Archive
from tests.conftest import run_cli, write_config
from tests.server import Fault, FixtureServer, yonhap_fixture
from tests.test_service_helpers import YONHAP, ServeProcess, add_site, service_config, wait_for


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


@pytest.fixture
def archive_cfg(server: FixtureServer, tmp_path: Path) -> Path:
    """Two stored articles (fetched from a local server), and a config reading them."""
    server.add("/view/AEN20230419000952325", yonhap_fixture(15))
    cfg = write_config(tmp_path, server.url)
    fetched = run_cli("--config", str(cfg), "fetch", f"{server.url}/view/AEN20230419000952325")
    assert fetched.returncode == 0, fetched.stderr
    return cfg


def test_search_says_no_matches_and_exits_1(archive_cfg: Path) -> None:
    found = run_cli("--config", str(archive_cfg), "search", "satellite")
    assert found.returncode == 0 and "yonhap:AEN20230419000952325" in found.stdout
    none = run_cli("--config", str(archive_cfg), "search", "zeppelin")
    assert (none.returncode, none.stdout) == (1, "")
    assert none.stderr == "no matches for 'zeppelin'\n"


def test_search_reads_column_filters_and_says_how_it_read_the_rest(archive_cfg: Path) -> None:
    in_title = run_cli("--config", str(archive_cfg), "search", "title:launch")
    assert in_title.returncode == 0 and "AEN20230419000952325" in in_title.stdout
    # "Pyongyang" is in the body only
    assert run_cli("--config", str(archive_cfg), "search", "body:Pyongyang").returncode == 0
    only_title = run_cli("--config", str(archive_cfg), "search", "title:Pyongyang")
    assert only_title.returncode == 1, only_title.stdout
    unbalanced = run_cli("--config", str(archive_cfg), "search", '"satellite')
    assert unbalanced.returncode == 0
    assert unbalanced.stderr.startswith('note: unbalanced " ignored\n')
    field = run_cli("--config", str(archive_cfg), "search", "section:nk")
    assert "note: section: is not a search field (title:, body:)" in field.stderr
    ops = run_cli("--config", str(archive_cfg), "search", "AND OR")
    assert ops.returncode == 1
    assert ops.stderr.startswith("error: the query has only operators (AND, OR, NOT)")


def test_status_shows_a_run_of_a_killed_service_as_interrupted(
    server: FixtureServer, tmp_path: Path
) -> None:
    add_site(server)
    stuck = f"/view/{YONHAP[2]}"
    server.fault(stuck, Fault(status=200, stall=30))  # the crawl is mid-run when killed
    cfg = service_config(tmp_path, server.url, http_timeout=60)
    serve = ServeProcess.start(tmp_path, "--config", str(cfg), "serve")
    try:
        wait_for(lambda: server.requests_for(stuck), what="the stuck request")
        live = run_cli("--config", str(cfg), "status")
        assert "service    running" in live.stdout and ": running\n" in live.stdout, live.stdout
        rc, _ = serve.terminate(sig=signal.SIGKILL)
    finally:
        serve.kill()
    assert rc == -signal.SIGKILL
    after = run_cli("--config", str(cfg), "status")
    assert after.stdout.startswith("service    not running\n")
    yonhap = after.stdout.split("\nyonhap\n", 1)[1].split("\n\n", 1)[0]
    assert ": interrupted\n" in yonhap and ": running" not in yonhap, after.stdout
    assert "error: the service stopped" in yonhap
    doc = json.loads(run_cli("--config", str(cfg), "status", "--json").stdout)
    assert doc["sources"]["yonhap"]["last_run"]["result"] == "interrupted"


def test_every_help_text_is_wrapped_to_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from scraper.cli import build_parser

    monkeypatch.setenv("COLUMNS", "100")
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in sub.choices.items():
        long = [line for line in command.format_help().splitlines() if len(line) > 100]
        assert long == [], f"scraper {name} --help has unwrapped lines"
