"""``scraper backfill`` end to end against a real pywb on 127.0.0.1 (the Wayback stand-in):
its collection is built here with warcio from fixture pages under their real article URLs at
several timestamps, including a page captured twice with the same digest, a changed page, a
404 capture, a redirect and a capture outside the window."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from scraper.store import Archive
from tests.archive_helpers import assert_consistent
from tests.conftest import ROOT, run_cli, write_config
from tests.history_warcs import response, write_warc, yonhap_page
from tests.server import kh3_copy

BIN = Path(sys.executable).parent
A, B, C, D = (
    "AEN20160301000100315",
    "AEN20160310000200315",
    "AEN20160312000300315",
    "AEN20170101000400315",
)
Y = "https://en.yna.co.kr/view/"


def _collection() -> list[bytes]:
    page_b = yonhap_page(B, 11)
    at = page_b.index(b"<p>", page_b.index(b"story-news")) + 3
    changed_b = page_b[:at] + b"An earlier version of this story was wrong. " + page_b[at:]
    return [
        response(Y + A, yonhap_page(A), date="2016-03-01T09:00:00Z"),
        response(Y + A, yonhap_page(A), date="2016-04-01T09:00:00Z"),  # same digest
        response(Y + B, page_b, date="2016-03-10T00:00:00Z"),
        response(Y + B, changed_b, date="2016-03-20T00:00:00Z"),  # a revision
        response(
            Y + C, b"<html>not found</html>", status="404 Not Found", date="2016-03-12T00:00:00Z"
        ),
        response(
            "http://en.yna.co.kr/view/AEN20160313000500315?section=news",
            b"",
            status="301 Moved Permanently",
            date="2016-03-13T00:00:00Z",
        ),
        response(Y + D, yonhap_page(D), date="2017-01-01T00:00:00Z"),  # outside the window
        response(
            "https://www.koreaherald.com/article/3100001",
            kh3_copy("3100001"),
            date="2016-05-01T00:00:00Z",
        ),
    ]


@dataclass
class Pywb:
    url: str
    log: Path

    def replays(self) -> list[str]:
        return [
            line for line in self.log.read_text().splitlines() if "id_/" in line and "GET" in line
        ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def pywb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pywb]:
    for tool in ("wb-manager", "wayback"):
        assert (BIN / tool).exists(), f"pywb is missing: {tool} (the dev extras install it)"
    home = tmp_path_factory.mktemp("pywb")
    write_warc(home / "captures.warc.gz", _collection())
    subprocess.run(
        [str(BIN / "wb-manager"), "init", "news"], cwd=home, check=True, capture_output=True
    )
    subprocess.run(
        [str(BIN / "wb-manager"), "add", "news", "captures.warc.gz"],
        cwd=home,
        check=True,
        capture_output=True,
    )
    port = _free_port()
    log = home / "wayback.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "wayback"), "-p", str(port), "-b", "127.0.0.1"],
            cwd=home,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + 60
        while True:  # until the port accepts connections (pywb takes a few seconds)
            assert proc.poll() is None, log.read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "pywb did not start"
                time.sleep(0.1)
        yield Pywb(url=f"http://127.0.0.1:{port}", log=log)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(home, ignore_errors=True)


def _config(tmp_path: Path, pywb: Pywb) -> Path:
    path = write_config(tmp_path, "https://en.yna.co.kr")
    path.write_text(
        path.read_text()
        + f'\n[backfill]\ncdx_url = "{pywb.url}/news/cdx"\n'
        + f'replay_url = "{pywb.url}/news/{{timestamp}}id_/{{url}}"\nmin_delay = 0\n'
    )
    return path


def _rows(root: Path, sql: str) -> list[tuple[object, ...]]:
    with Archive(root) as archive:
        return [tuple(r) for r in archive.db.execute(sql)]


def _backfill(cfg: Path, source: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli(
        "--config", str(cfg), "backfill", "--source", source,
        "--since", "2016-01-01", "--until", "2016-12-31", *extra,
    )  # fmt: skip


def test_backfill_stores_exactly_the_expected_articles_then_fetches_nothing(
    tmp_path: Path, pywb: Pywb
) -> None:
    cfg = _config(tmp_path, pywb)
    dry = _backfill(cfg, "yonhap", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "3 to fetch (2 new articles)" in dry.stdout
    before = len(pywb.replays())
    first = _backfill(cfg, "yonhap")
    assert first.returncode == 0, first.stderr
    assert "fetched 3, new 2, revised 1" in first.stdout, first.stdout
    assert len(pywb.replays()) - before == 3
    kh = _backfill(cfg, "koreaherald")
    assert "fetched 1, new 1" in kh.stdout, kh.stdout + kh.stderr
    root = tmp_path / "archive"
    assert _rows(root, "SELECT id, revision, first_fetched_at FROM articles ORDER BY id") == [
        ("koreaherald:3100001", 1, "2016-05-01T00:00:00+00:00"),
        (f"yonhap:{A}", 1, "2016-03-01T09:00:00+00:00"),
        (f"yonhap:{B}", 2, "2016-03-10T00:00:00+00:00"),
    ]
    assert _rows(root, "SELECT fetched_at FROM revisions WHERE article_id LIKE '%" + B + "'") == [
        ("2016-03-10T00:00:00+00:00",),
        ("2016-03-20T00:00:00+00:00",),
    ]
    seen = len(pywb.log.read_text().splitlines())
    again = _backfill(cfg, "yonhap")
    assert again.returncode == 0 and "fetched 0" in again.stdout and "0 requests" in again.stdout
    assert len(pywb.log.read_text().splitlines()) == seen  # not one request
    assert_consistent(root)


def test_kill_9_mid_backfill_then_rerun_fetches_each_capture_once(
    tmp_path: Path, pywb: Pywb
) -> None:
    cfg = _config(tmp_path, pywb)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPER_")}
    env["SCRAPER_CRASH_AT"] = "backfill:2"  # after the 2nd capture is stored, before it is marked
    before = len(pywb.replays())
    killed = subprocess.run(
        [str(BIN / "scraper"), "--config", str(cfg), "backfill", "--source", "yonhap",
         "--since", "2016-01-01", "--until", "2016-12-31"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert killed.returncode == -9
    rerun = _backfill(cfg, "yonhap")
    assert rerun.returncode == 0, rerun.stderr
    assert "fetched 1" in rerun.stdout and "already-stored 1" in rerun.stdout, rerun.stdout
    assert len(pywb.replays()) - before == 3  # each capture downloaded once
    root = tmp_path / "archive"
    assert _rows(root, "SELECT count(*), count(DISTINCT record_id) FROM captures") == [(3, 3)]
    assert_consistent(root)


def test_via_site_is_refused_with_a_reason(tmp_path: Path, pywb: Pywb) -> None:
    result = _backfill(_config(tmp_path, pywb), "yonhap", "--via", "site")
    assert result.returncode == 2
    assert result.stderr.startswith("error: yonhap has no listing evidenced to page back")
