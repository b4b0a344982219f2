"""The layout-drift alarm (scraper/drift.py): the measure, the one log line per crossing, the
status/metrics/healthz views, its config keys, ``reparse --parser fallback``; and the service
end to end against a site whose Yonhap pages were redesigned."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scraper import drift, reparse
from scraper.config import build_config
from scraper.errors import ConfigError
from scraper.extract import extract
from scraper.health import HealthSnapshot, SourceHealth, render_metrics
from scraper.models import content_hash
from scraper.sources import by_name
from scraper.store import Archive
from scraper.warc import WarcStore
from tests.archive_helpers import KH3, store, yonhap
from tests.conftest import run_cli, write_config
from tests.redesign import rename
from tests.server import FixtureServer, yonhap_fixture
from tests.test_service_helpers import (
    YONHAP,
    ServeProcess,
    add_site,
    free_port,
    http_get,
    service_config,
    wait_for,
)


def _save(archive: Archive, i: int, parser: str, minutes_ago: int) -> None:
    fetched = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat(timespec="seconds")
    native = f"AEN2023041900{i:04d}"
    article = extract(yonhap_fixture(1 + i % 15), source=by_name("yonhap"), fetched_at=fetched)
    article = article.evolve(id=f"yonhap:{native}", parser=parser, title=native)
    archive.save(article, None, url=f"https://en.yna.co.kr/view/{native}")


def test_the_share_is_over_the_last_n_new_articles(tmp_path: Path) -> None:
    with Archive(tmp_path / "archive") as archive:
        for i in range(30):  # older: all by the layout parser
            _save(archive, i, "yonhap/y1", minutes_ago=600 - i)
        for i in range(30, 40):  # the newest ten: 8 from the fallback
            _save(archive, i, "fallback/yonhap" if i < 38 else "yonhap/y1", minutes_ago=40 - i)
        ten = drift.measure(archive.db, "yonhap", window=10, threshold=0.5)
        assert (ten.articles, ten.fallback, ten.share, ten.alarm) == (10, 8, 0.8, True)
        forty = drift.measure(archive.db, "yonhap", window=40, threshold=0.5)
        assert (forty.articles, forty.fallback, forty.alarm) == (40, 8, False)
        assert forty.to_dict() == {
            "window": 40,
            "articles": 40,
            "fallback": 8,
            "share": 0.2,
            "threshold": 0.5,
            "alarm": False,
        }
        empty = drift.measure(archive.db, "koreaherald", window=10, threshold=0.5)
        assert (empty.articles, empty.share, empty.alarm) == (0, 0.0, False)


def test_too_few_articles_raise_no_alarm() -> None:
    assert not drift.Drift("yonhap", 50, 3, 3, 0.5).alarm
    assert drift.Drift("yonhap", 50, 5, 3, 0.5).alarm
    assert drift.Drift("yonhap", 2, 2, 2, 0.5).alarm  # a window smaller than the sample floor


def test_one_warning_when_crossing_and_one_line_when_clearing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    watch = drift.DriftWatch()
    caplog.set_level(logging.INFO, logger="scraper.drift")
    assert not watch.update(drift.Drift("yonhap", 10, 10, 1, 0.5))
    assert watch.update(drift.Drift("yonhap", 10, 10, 6, 0.5))
    assert not watch.update(drift.Drift("yonhap", 10, 10, 9, 0.5))  # still on: no repeat
    assert not watch.update(drift.Drift("koreaherald", 10, 10, 0, 0.5))
    assert watch.update(drift.Drift("yonhap", 10, 10, 2, 0.5))
    records = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert len(records) == 2
    assert (
        records[0][0] == "WARNING" and "layout drift on yonhap: 6 of the last 10" in records[0][1]
    )
    assert "scraper reparse --parser fallback" in records[0][1]
    assert records[1][0] == "INFO" and "cleared" in records[1][1]


def test_health_is_degraded_and_metrics_carry_the_share() -> None:
    ok = SourceHealth("koreaherald", False, False, drift_share=0.0, drift_alarm=False)
    drifting = SourceHealth("yonhap", False, False, drift_share=0.8, drift_alarm=True)
    snap = HealthSnapshot(True, 0.0, (drifting, ok))
    assert snap.healthy and snap.degraded
    doc = snap.to_dict()
    assert doc["status"] == "degraded"
    assert doc["sources"]["yonhap"]["layout_drift"] is True  # type: ignore[index]
    assert HealthSnapshot(True, 0.0, (ok,)).to_dict()["status"] == "ok"
    failing = SourceHealth("yonhap", True, False, drift_alarm=True)
    assert HealthSnapshot(True, 0.0, (failing,)).to_dict()["status"] == "unhealthy"
    samples = dict(
        line.rsplit(" ", 1) for line in render_metrics(snap).splitlines() if line[:1] != "#"
    )
    assert samples['scraper_fallback_share{source="yonhap"}'] == "0.8"
    assert samples['scraper_layout_drift{source="yonhap"}'] == "1"
    assert samples['scraper_layout_drift{source="koreaherald"}'] == "0"


def test_config_keys() -> None:
    cfg = build_config({"service": {"drift_window": 20, "drift_threshold": 0.25}})
    assert (cfg.service.drift_window, cfg.service.drift_threshold) == (20, 0.25)
    assert build_config({}).service.drift_window == 50
    with pytest.raises(ConfigError) as info:
        build_config({"service": {"drift_window": 0, "drift_threshold": 1.5}})
    assert "service.drift_window" in str(info.value)
    assert "service.drift_threshold" in str(info.value)


def test_status_shows_the_alarm(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "http://127.0.0.1:9")
    cfg.write_text(cfg.read_text() + "\n[service]\ndrift_window = 10\ndrift_threshold = 0.6\n")
    with Archive(tmp_path / "archive") as archive:
        for i in range(12):
            _save(archive, i, "fallback/yonhap" if i >= 5 else "yonhap/y1", minutes_ago=60 - i)
    text = run_cli("--config", str(cfg), "status")
    assert text.returncode == 0, text.stderr
    yonhap_part, kh_part = text.stdout.split("\nkoreaherald\n")
    assert "drift      70.0% of the last 10 new articles from the fallback (alarm at 60%" in (
        yonhap_part
    )
    assert "WARNING    layout drift: no layout parser recognises" in yonhap_part
    assert "WARNING" not in kh_part
    doc = json.loads(run_cli("--config", str(cfg), "status", "--json").stdout)
    last_n = doc["sources"]["yonhap"]["fallback"]["last_n"]
    assert (last_n["articles"], last_n["fallback"], last_n["alarm"]) == (10, 7, True)
    assert doc["sources"]["koreaherald"]["fallback"]["last_n"]["alarm"] is False


def test_reparse_parser_fallback_touches_only_fallback_records(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    with Archive(root) as archive:
        warcs = WarcStore(root)
        # a page of a new layout, archived by the fallback; and two pages of known layouts
        redesigned = rename(yonhap(12).read_text("utf-8")).encode()
        url = "https://en.yna.co.kr/view/AEN20230419004200315"
        saved = store(archive, warcs, redesigned, url)
        assert saved.article.parser == "fallback/yonhap"
        for path in (yonhap(9), KH3):
            raw = path.read_bytes()
            store(archive, warcs, raw, extract(raw).url)
        warcs.close()
        # the layout parser's old output of a known page, to show it is left alone
        kh = archive.get("koreaherald:10604071")
        assert kh is not None
        archive.replace_record(
            kh.evolve(body=kh.body + "\n\nstale", content_hash=content_hash(kh.title, "x"))
        )
        # "a new layout parser" for the redesigned page: the capture now re-extracts with the
        # original markup (what a parser for the new markup would give)
        fallback_record = archive.get(saved.article.id)
        assert fallback_record is not None
        archive.replace_record(fallback_record.evolve(body=fallback_record.body + "\n\nold"))

        summary = reparse.reparse(archive, parser="fallback", workers=1)
        assert (summary.checked, summary.changed, summary.failed) == (1, 1, 0)
        kh_after = archive.get("koreaherald:10604071")
        assert kh_after is not None and kh_after.body.endswith("stale")
        assert reparse.reparse(archive, parser="koreaherald", workers=1).changed == 1
        assert reparse.reparse(archive, parser="koreaherald/kh3", workers=1).changed == 0
        assert reparse.reparse(archive, parser="yonhap/y", workers=1).checked == 0  # no prefix


def test_the_service_raises_the_alarm_once_on_a_redesigned_site(
    server: FixtureServer, tmp_path: Path
) -> None:
    add_site(server)
    for n, native in YONHAP.items():  # Yonhap's pages redesigned: no layout parser knows them
        server.add(f"/view/{native}", rename(yonhap_fixture(n).decode("utf-8")))
    cfg = service_config(tmp_path, server.url, service="drift_window = 3\ndrift_threshold = 0.5")
    port = free_port()
    serve = ServeProcess.start(
        tmp_path, "--config", str(cfg), "--log-format", "json", "serve", "--health-port", str(port)
    )
    try:

        def runs_done(n: int) -> bool:
            try:
                code, body = http_get(f"http://127.0.0.1:{port}/metrics")
            except OSError:  # the endpoint is not listening yet
                return False
            return (
                code == 200
                and f'scraper_crawl_runs_total{{source="yonhap",result="ok"}} {n}' in body
            )

        wait_for(lambda: runs_done(3), what="three crawls of yonhap")
        code, body = http_get(f"http://127.0.0.1:{port}/healthz")
        doc = json.loads(body)
        assert code == 200 and doc["status"] == "degraded"
        assert doc["sources"]["yonhap"]["layout_drift"] is True
        assert doc["sources"]["koreaherald"]["layout_drift"] is False
        _, metrics = http_get(f"http://127.0.0.1:{port}/metrics")
        assert 'scraper_fallback_share{source="yonhap"} 1.0' in metrics
        assert 'scraper_layout_drift{source="koreaherald"} 0' in metrics
        rc, _ = serve.terminate()
    finally:
        serve.kill()
    assert rc == 0, serve.log()
    warnings = [line for line in serve.log().splitlines() if "layout drift on yonhap" in line]
    assert len(warnings) == 1, serve.log()
