"""A stop that arrives while a run is writing waits for the write (it is never abandoned)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from scraper.config import load_config
from scraper.service import WRITE_GRACE, Service
from scraper.store import Archive
from tests.server import FixtureServer
from tests.test_service_helpers import YONHAP, add_site, service_config, wait_for

# A write that is still going when the stop arrives: long enough that a stop which did not
# wait would see the run unfinished, far inside the grace a writing run gets.
SLOW_WRITE = 0.3


def test_stop_during_a_write_waits_for_it(
    server: FixtureServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert SLOW_WRITE < WRITE_GRACE / 2
    add_site(server)
    cfg = service_config(tmp_path, server.url, service="stop_grace = 0.01")
    only_yonhap = "[sources.koreaherald]\nenabled = false"
    cfg.write_text(cfg.read_text().replace("[sources.koreaherald]", only_yonhap, 1))
    service = Service(load_config(cfg, env={}))
    writing = threading.Event()
    in_flight: list[str] = []
    save = Archive.save

    def blocking_save(self: Archive, article: Any, *args: Any, **kwargs: Any) -> Any:
        if not writing.is_set():
            in_flight.append(article.id)
            writing.set()
            assert service.stop.wait(30), "the test never stopped the service"
            time.sleep(SLOW_WRITE)  # the write itself, after the stop arrived
        return save(self, article, *args, **kwargs)

    monkeypatch.setattr(Archive, "save", blocking_save)
    runner = threading.Thread(target=service.run_source, args=("yonhap",), daemon=True)
    runner.start()
    assert writing.wait(30), "the run never reached its first write"
    # the pages fetched ahead are all in (a request in flight at the stop may be abandoned:
    # that is the other rule, not this test's)
    run = service._running["yonhap"]
    pages = [f"/view/{native}" for native in YONHAP.values()]
    wait_for(
        lambda: all(server.requests_for(p) for p in pages) and run.in_network == 0,
        what="every article fetched, no request in flight",
    )
    report = service.shutdown()  # stop_grace is over at once: only the write grace is left
    assert report == type(report)(finished=("yonhap",), abandoned=())
    runner.join(10)
    with Archive(tmp_path / "archive") as archive:
        assert archive.get(in_flight[0]) is not None  # the write in flight at the stop completed
        row = archive.db.execute("SELECT result FROM runs WHERE source = 'yonhap'").fetchone()
        assert row["result"] == "interrupted"


def test_an_index_error_while_recording_abandoned_runs_is_logged_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    service = Service(load_config(service_config(tmp_path, "http://127.0.0.1:9"), env={}))

    class BrokenDb:
        def execute(self, *args: object) -> None:
            raise sqlite3.OperationalError("disk I/O error")

    def broken_archive(self: Archive, *args: object, **kwargs: object) -> None:
        self.db = BrokenDb()  # type: ignore[assignment]

    monkeypatch.setattr(Archive, "__init__", broken_archive)
    monkeypatch.setattr(Archive, "close", lambda self: None)
    service._close_abandoned(["yonhap"])  # a stop must get to its end whatever the index says
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [
        "cannot record the abandoned runs: disk I/O error"
    ]
