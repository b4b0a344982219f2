"""How a scheduled crawl runs and how a stop reaches it.

Each run has its own daemon thread (``DaemonThreadExecutor``) and its own fetcher
(``ServiceFetcher``), which refuses new requests once the service stops and tells the stopping
main thread whether the run is inside the network (safe to abandon) or writing (wait for it).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from apscheduler.executors.base import BaseExecutor, run_job

from scraper.config import HttpConfig, SourceConfig
from scraper.fetch import Fetcher
from scraper.models import FetchedPage

WRITE_GRACE = 1.5  # extra seconds a stop waits for a run that is writing, not in the network


class Stopping(Exception):
    """The service is stopping: unwinds a crawl out of a retry or politeness wait."""


class DaemonThreadExecutor(BaseExecutor):  # type: ignore[misc]  # apscheduler is untyped
    """Each job in its own daemon thread. APScheduler's thread pool joins its workers at
    interpreter exit, so one request stuck in a read would hold the exit for the whole HTTP
    timeout; a daemon thread is abandoned instead (see the ``scraper.service`` docstring for
    why that is safe)."""

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        def target() -> None:
            try:
                events = run_job(job, job._jobstore_alias, run_times, self._logger.name)
            except BaseException as exc:  # handed to APScheduler, which logs and emits it
                self._run_job_error(job.id, exc, exc.__traceback__)
            else:
                self._run_job_success(job.id, events)

        threading.Thread(target=target, name=f"crawl-{job.id}", daemon=True).start()


@dataclass
class Run:
    """A crawl in progress, as the stopping main thread sees it."""

    source: str
    in_network: int = 0  # > 0 while inside Fetcher.get: safe to abandon
    done: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.time)


def run_deadline(settings: SourceConfig, http: HttpConfig) -> float:
    """Seconds a run of ``settings`` may last before health calls it overdue: its interval
    (the next run is due and cannot start), but at least three whole requests."""
    return max(settings.interval, 3 * http.deadline)


class ServiceFetcher(Fetcher):
    """A Fetcher that refuses new requests once the service stops and tells the stopping main
    thread whether its run is inside the network (abandonable) or writing (wait for it)."""

    def __init__(self, *args: Any, stop: threading.Event, run: Run, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stop = stop
        self._run = run

    def get(self, *args: Any, **kwargs: Any) -> FetchedPage:
        if self._stop.is_set():
            raise Stopping
        self._run.in_network += 1
        try:
            return super().get(*args, **kwargs)
        finally:
            self._run.in_network -= 1
