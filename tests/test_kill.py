"""kill -9 at several points of a real ``scraper fetch`` process, then run again: every article
file readable, no duplicates, index and files agree, every WARC file readable by warcio, and
``scraper check`` reports a consistent archive.

Points that timing cannot hit reliably use the documented fault hook
``SCRAPER_CRASH_AT=<warc|file|index>:<n>`` (scraper/crashpoints.py): the process SIGKILLs
itself the n-th time it reaches that point."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from scraper.warc import marker
from tests.archive_helpers import assert_consistent
from tests.conftest import FIXTURES, ROOT, run_cli, write_config
from tests.server import Fault, FixtureServer, rss, yonhap_fixture

ARTICLES = {
    "/view/AEN20230419003800320": yonhap_fixture(11),
    "/view/AEN20230419003851320": yonhap_fixture(9),
    "/view/AEN20230419000952325": yonhap_fixture(15),
    "/article/10604071": (FIXTURES / "koreaherald" / "kh3_article_10604071.html").read_bytes(),
}
URLS = [
    "https://en.yna.co.kr/view/AEN20230419003800320",
    "https://en.yna.co.kr/view/AEN20230419003851320",
    "https://en.yna.co.kr/view/AEN20230419000952325",
    "https://www.koreaherald.com/article/10604071",
]


def _spawn(cfg: Path, crash_at: str | None = None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPER_")}
    if crash_at:
        env["SCRAPER_CRASH_AT"] = crash_at
    exe = Path(sys.executable).parent / "scraper"
    return subprocess.Popen(
        [str(exe), "--config", str(cfg), "fetch", *URLS],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def _setup(server: FixtureServer, tmp_path: Path) -> Path:
    for path, body in ARTICLES.items():
        server.add(path, body)
    return write_config(tmp_path, server.url)


def _run_again_and_verify(cfg: Path, archive: Path) -> None:
    again = run_cli("--config", str(cfg), "fetch", *URLS)
    assert again.returncode == 0, again.stderr
    statuses = [line.split("\t")[0] for line in again.stdout.splitlines()]
    assert len(statuses) == len(URLS) and set(statuses) <= {"new", "unchanged"}
    result = run_cli("--config", str(cfg), "check")
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip().endswith(": consistent")
    assert_consistent(archive)
    assert len(list((archive / "articles").rglob("*.json"))) == len(URLS)
    assert list((archive / "warc").glob("*/.*.open")) == []  # every file closed or repaired


@pytest.mark.parametrize("point", ["warc:2", "file:2", "index:2"])
def test_crash_point_then_run_again(server: FixtureServer, tmp_path: Path, point: str) -> None:
    cfg = _setup(server, tmp_path)
    archive = tmp_path / "archive"
    proc = _spawn(cfg, crash_at=point)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, stderr

    if point.startswith("warc"):
        # the dead writer left half a record and its marker; check names it before repair
        assert list((archive / "warc").glob("*/.*.open"))
        found = run_cli("--config", str(cfg), "check")
        assert found.returncode == 1
        assert "bytes of an interrupted record at the end" in found.stdout
    if point.startswith("index"):
        found = run_cli("--config", str(cfg), "check")
        assert found.returncode == 1 and "is not in the index" in found.stdout
        repaired = run_cli("--config", str(cfg), "check", "--repair")
        assert repaired.returncode == 0, repaired.stdout
        assert "repaired: " in repaired.stdout
    if point.startswith("file"):
        found = run_cli("--config", str(cfg), "check", "--repair")
        assert "temp file left by a dead writer: removed" in found.stdout
    _run_again_and_verify(cfg, archive)


def test_kill_mid_fetch(server: FixtureServer, tmp_path: Path) -> None:
    cfg = _setup(server, tmp_path)
    archive = tmp_path / "archive"
    stalled = "/view/AEN20230419000952325"
    server.fault(stalled, Fault(status=200, body=ARTICLES[stalled], stall=30))
    proc = _spawn(cfg)
    deadline = time.monotonic() + 30
    while not server.requests_for(stalled):  # the third request is hanging on the server
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.02)
    proc.kill()
    proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    warcs = list((archive / "warc").glob("*/*.warc.gz"))
    held = [w for w in warcs if marker(w).exists()]
    assert held  # killed with files open: the next start-up repairs and closes them
    _run_again_and_verify(cfg, archive)


def _indexed(archive: Path) -> int:
    """Articles in the index, read with sqlite3 alone (0 when the index is not there yet)."""
    if not (archive / "index.sqlite").exists():
        return 0
    db = sqlite3.connect(f"file:{archive / 'index.sqlite'}?mode=ro", uri=True)
    try:
        return int(db.execute("SELECT count(*) FROM articles").fetchone()[0])
    except sqlite3.OperationalError:  # killed before the first migration committed
        return 0
    finally:
        db.close()


# Moments to kill at, each one observable: a named crash point (the process kills itself there)
# or "request:<n>": the n-th article's request is hanging on the server when the test kills it.
MOMENTS = ["warc:1", "file:1", "index:1", "warc:4", "index:4", "request:1", "request:4"]


@pytest.mark.parametrize("moment", MOMENTS)
def test_kill_at_many_moments(server: FixtureServer, tmp_path: Path, moment: str) -> None:
    """Killed mid-work at each moment, then checked, repaired and run again: the invariants
    always hold and the second run finishes the job."""
    cfg = _setup(server, tmp_path)
    archive = tmp_path / "archive"
    point, _, nth = moment.partition(":")
    if point == "request":
        stalled = urlsplit(URLS[int(nth) - 1]).path
        server.fault(stalled, Fault(status=200, body=ARTICLES[stalled], stall=30))
        proc = _spawn(cfg)
        deadline = time.monotonic() + 30
        while not server.requests_for(stalled):
            assert time.monotonic() < deadline and proc.poll() is None, "never reached"
            time.sleep(0.02)
        proc.kill()
        proc.communicate(timeout=10)
        assert _indexed(archive) < int(nth)  # the stalled article (at least) is not stored
    else:
        proc = _spawn(cfg, crash_at=moment)
        proc.communicate(timeout=60)
        # the n-th write of that kind never completed, so at most n-1 articles are indexed
        assert _indexed(archive) <= int(nth) - 1
    assert proc.returncode == -signal.SIGKILL  # killed, not exited on its own
    check = run_cli("--config", str(cfg), "check", "--repair")
    assert check.returncode == 0, check.stdout
    assert_consistent(archive)
    _run_again_and_verify(cfg, archive)


def test_kill_a_crawl_mid_index_then_crawl_again(server: FixtureServer, tmp_path: Path) -> None:
    cfg = _setup(server, tmp_path)
    yonhap_urls = [u for u in URLS if "yna" in u]
    server.add("/RSS/news.xml", rss(yonhap_urls), content_type="application/rss+xml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPER_")}
    env["SCRAPER_CRASH_AT"] = "index:2"
    exe = Path(sys.executable).parent / "scraper"
    args = [str(exe), "--config", str(cfg), "crawl", "--source", "yonhap"]
    killed = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    archive = tmp_path / "archive"
    repaired = run_cli("--config", str(cfg), "check", "--repair")
    assert repaired.returncode == 0, repaired.stdout
    env.pop("SCRAPER_CRASH_AT")
    again = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    assert_consistent(archive)
    assert len(list((archive / "articles").rglob("*.json"))) == len(yonhap_urls)
    result = run_cli("--config", str(cfg), "check")
    assert result.returncode == 0 and result.stdout.strip().endswith(": consistent")
