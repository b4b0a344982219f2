"""Item: every request has a total deadline (``http.deadline``: connect + headers + body).

A real socket server on 127.0.0.1 sends a status line and then one header byte every 0.5 s;
without a total deadline each read arrives well within ``timeout`` and the request lasts as
long as the server trickles (60 s here)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from scraper.config import HttpConfig, load_config
from scraper.deadline import DeadlineBackend
from scraper.errors import TransientFetchError
from scraper.fetch import Fetcher
from scraper.health import HealthServer
from scraper.service import Service
from tests.conftest import run_cli, write_config
from tests.test_service_helpers import http_get, service_config, wait_for
from tests.trickle import trickle

ARTICLE = "https://en.yna.co.kr/view/AEN20230419000952325"


def test_fetcher_cuts_a_trickling_server_at_the_deadline() -> None:
    with trickle(interval=0.5, total=120) as server:
        fetcher = Fetcher(HttpConfig(timeout=5, deadline=1.5, max_retries=0))
        started = time.monotonic()
        try:
            fetcher.get(server.url + "/view/x", allowed_hosts={"127.0.0.1"})
        except TransientFetchError as exc:
            assert "deadline" in str(exc)
        else:
            raise AssertionError("a trickling server gave a page")
        finally:
            fetcher.close()
        elapsed = time.monotonic() - started
    assert 1.4 <= elapsed < 3.0, elapsed


def test_the_deadline_backend_is_installed_on_the_default_transport() -> None:
    # install() reaches into httpx's private pool; this fails if an httpx upgrade moves it
    fetcher = Fetcher(HttpConfig())
    try:
        pool = fetcher.client._transport._pool  # type: ignore[attr-defined]
        assert isinstance(pool._network_backend, DeadlineBackend)
    finally:
        fetcher.close()


def test_mock_transport_is_untouched() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text="ok"))
    with Fetcher(HttpConfig(deadline=0.5), transport=transport) as fetcher:
        page = fetcher.get("http://example.test/", allowed_hosts={"example.test"})
    assert page.status == 200


def test_cli_fetch_gives_up_on_a_trickling_server_within_the_deadline(tmp_path: Path) -> None:
    with trickle(interval=0.5, total=120) as server:
        cfg = write_config(tmp_path, server.url, deadline="1")
        text = cfg.read_text().replace("max_retries = 2", "max_retries = 1")
        cfg.write_text(text)
        started = time.monotonic()
        proc = run_cli("--config", str(cfg), "fetch", ARTICLE, timeout=90)
        elapsed = time.monotonic() - started
    assert proc.returncode == 1, proc.stderr
    assert "no complete response within the 1s deadline" in proc.stderr, proc.stderr
    # two attempts of 1 s each, a short backoff and the process start-up
    assert elapsed < 8, elapsed


def test_serve_marks_a_source_unhealthy_while_its_run_is_past_its_deadline(
    tmp_path: Path,
) -> None:
    with trickle(interval=0.5, total=400) as server:
        cfg = service_config(tmp_path, server.url, service="")
        text = cfg.read_text().replace("timeout = 5", "timeout = 5\ndeadline = 1")
        # only yonhap, so its health decides the overall status
        text = text.replace("[sources.koreaherald]", "[sources.koreaherald]\nenabled = false")
        cfg.write_text(text)
        service = Service(load_config(cfg, env={}))
        service.start()
        health = HealthServer(0, service.snapshot).start()
        try:
            wait_for(lambda: server.trickling > 0, what="a trickled request")
            assert (
                http_get(f"http://127.0.0.1:{health.port}/healthz")[0] == 200
            )  # just started: not overdue yet
            # the run (every endpoint trickles, each cut at 1 s and retried) outlasts
            # max(interval 1 s, 3 x deadline) = 3 s before any run has finished
            wait_for(lambda: _overdue(service), timeout=20, what="the run to be overdue")
            status, body = http_get(f"http://127.0.0.1:{health.port}/healthz")
            snap = service.snapshot().sources[0]
            assert not snap.runs and not snap.failing  # no run finished: it is the deadline
            assert status == 503
            assert json.loads(body)["sources"]["yonhap"]["overdue"] is True
        finally:
            health.stop()
            service.shutdown()


def _overdue(service: Service) -> bool:
    return any(s.overdue for s in service.snapshot().sources)


def test_the_deadline_is_configurable_and_must_be_positive(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "http://127.0.0.1:9", deadline="7.5")
    assert load_config(cfg, env={}).http.deadline == 7.5
    assert HttpConfig().deadline == 60.0  # the documented default (config/scraper.toml)
    bad = write_config(tmp_path, "http://127.0.0.1:9", deadline="0")
    proc = run_cli("--config", str(bad), "stats")
    assert proc.returncode == 2 and "http.deadline" in proc.stderr, proc.stderr
