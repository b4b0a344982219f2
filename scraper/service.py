"""``scraper serve``: one APScheduler interval job per enabled source, until SIGTERM/SIGINT.

Each run opens its own archive connection and HTTP client (SQLite connections are per thread),
crawls its source once, logs one summary line and closes everything it opened.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime, timedelta
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler

from scraper.config import Config, SourceConfig
from scraper.crawl import crawl_source
from scraper.errors import ScraperError
from scraper.fetch import Fetcher
from scraper.pipeline import Context

log = logging.getLogger(__name__)


class Service:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.stop = threading.Event()
        self.scheduler = BackgroundScheduler(timezone="UTC")

    def run_source(self, settings: SourceConfig) -> None:
        if self.stop.is_set():
            return
        fetcher = Fetcher(self.config.http, sleep=self._sleep)
        try:
            with Context.open(self.config, fetcher=fetcher) as ctx:
                summary = crawl_source(ctx, settings, stop=self.stop)
            log.info("crawl %s", summary.line())
        except ScraperError as exc:
            log.error("crawl of %s failed: %s", settings.name, exc)

    def _sleep(self, seconds: float) -> None:
        self.stop.wait(seconds)  # a shutdown interrupts backoff waits

    def start(self) -> None:
        now = datetime.now().astimezone()
        for settings in self.config.enabled_sources():
            self.scheduler.add_job(
                self.run_source,
                "interval",
                args=(settings,),
                id=settings.name,
                seconds=settings.interval,
                jitter=min(self.config.service.jitter, settings.interval / 10),
                next_run_time=now + timedelta(milliseconds=10),
                max_instances=1,
                coalesce=True,
                misfire_grace_time=int(max(1, settings.interval)),
            )
        self.scheduler.start()
        log.info(
            "serving %s; archive %s",
            ", ".join(s.name for s in self.config.enabled_sources()) or "no sources",
            self.config.archive.path,
        )

    def shutdown(self) -> None:
        self.stop.set()
        self.scheduler.shutdown(wait=True)
        log.info("stopped")

    def serve_forever(self) -> None:
        def on_signal(signum: int, frame: FrameType | None) -> None:
            log.info("signal %d received; stopping", signum)
            self.stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.start()
        try:
            while not self.stop.wait(1.0):
                pass
        finally:
            self.shutdown()
