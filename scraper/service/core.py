"""The ``Service``: schedules each source, runs its crawls, and stops (``scraper.service``
docstring). Its parts live beside it: ``runs`` (a run's thread and fetcher), ``accounting``
(what a finished run changes, its log line), ``stop`` (waiting for and abandoning runs)."""

from __future__ import annotations

import contextlib
import logging
import signal
import sqlite3
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from types import FrameType

import httpx
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_RUNNING

from scraper.config import Config, SourceConfig
from scraper.crawl import SourceSummary, crawl_source
from scraper.drift import Drift, DriftWatch, measure
from scraper.errors import ConfigError, ScraperError
from scraper.health import HealthServer, HealthSnapshot
from scraper.pipeline import Context
from scraper.service.accounting import Live, RunOutcome, failure_streak, iso, log_run
from scraper.service.runs import (
    DaemonThreadExecutor,
    Run,
    ServiceFetcher,
    Stopping,
    run_deadline,
)
from scraper.service.stop import StopReport, close_abandoned, wait_for_runs
from scraper.state import (
    ArticleCounts,
    ServeLock,
    ServiceState,
    SourceState,
    backoff_delay,
    classify,
)
from scraper.store import Archive

# not __name__: the service's log lines are documented (docs/operations.md) under this name
log = logging.getLogger("scraper.service")


def startup_problems(config: Config) -> list[str]:
    """What makes ``serve`` pointless or impossible, found before anything runs."""
    problems = []
    if not config.enabled_sources():
        problems.append("no source is enabled (sources.<name>.enabled)")
    return problems


class Service:
    def __init__(self, config: Config, *, transport: httpx.BaseTransport | None = None) -> None:
        problems = startup_problems(config)
        if problems:
            raise ConfigError(
                "; ".join(problems),
                where=str(config.path) if config.path else None,
                problems=tuple(problems),
            )
        self.config = config
        self.transport = transport  # tests may inject one; None = the network
        self.sources = {s.name: s for s in config.enabled_sources()}
        self.stop = threading.Event()
        self.hurry = threading.Event()  # a second signal: abandon running crawls now
        self.scheduler = BackgroundScheduler(
            timezone=UTC, executors={"default": DaemonThreadExecutor()}
        )
        self.lock = ServeLock(config.archive.path)
        self.health: HealthServer | None = None
        self.started_ts = time.time()
        self._mutex = threading.Lock()
        self._running: dict[str, Run] = {}
        self._live = {name: Live(name) for name in self.sources}
        self._drift_watch = DriftWatch()

    # -- start ----------------------------------------------------------------------------------
    def start(self, health_port: int | None = None) -> None:
        self.lock.acquire()
        try:
            self._start(self.config.service.health_port if health_port is None else health_port)
        except BaseException:
            self.lock.release()
            raise

    def _start(self, health_port: int) -> None:
        now = datetime.now(UTC)
        with Archive(self.config.archive.path) as archive:  # also applies migrations
            state = ServiceState(archive.db)
            stale = state.close_stale_runs()
            if stale:
                log.warning("closed %d run(s) left open by a service that was killed", stale)
            first_runs = {}
            for name in self.sources:
                saved = state.source_state(name)
                live = self._live[name]
                live.consecutive_failures = saved.consecutive_failures
                live.articles = state.article_counts(name)
                live.drift = self._measure_drift(state, name)
                first = now + timedelta(milliseconds=10)
                if saved.backoff_until and datetime.fromisoformat(saved.backoff_until) > first:
                    first = datetime.fromisoformat(saved.backoff_until)  # a pause survives restarts
                    live.backoff_until = first.timestamp()
                    log.info("%s is backing off until %s", name, saved.backoff_until)
                first_runs[name] = first
                live.next_run_ts = first.timestamp()
                state.save_source_state(
                    SourceState(name, iso(first), saved.consecutive_failures, saved.backoff_until)
                )
        for name, settings in self.sources.items():
            self.scheduler.add_job(
                self.run_source,
                "interval",
                args=(name,),
                id=name,
                name=f"crawl {name}",
                seconds=settings.interval,
                jitter=min(self.config.service.jitter, settings.interval / 10) or None,
                next_run_time=first_runs[name],
                max_instances=1,  # a slow crawl delays its next run rather than doubling up
                coalesce=True,  # runs missed (suspend, slow crawl) collapse into one
                misfire_grace_time=int(max(1, settings.interval)),
            )
        if health_port:
            self.health = HealthServer(health_port, self.snapshot).start()
        self.scheduler.start()
        log.info(
            "serving %s; archive at %s",
            ", ".join(f"{n} every {s.interval:g}s" for n, s in self.sources.items()),
            self.config.archive.path.absolute(),
        )

    # -- one run --------------------------------------------------------------------------------
    def _sleep(self, seconds: float) -> None:
        if self.stop.wait(seconds):  # a stop cuts every wait short and unwinds the crawl
            raise Stopping

    def run_source(self, name: str) -> None:
        """One scheduled crawl of ``name``; never raises (a failure is recorded and logged)."""
        run = Run(name)
        with self._mutex:  # with shutdown()'s, so a run either starts visibly or not at all
            if self.stop.is_set():
                return
            self._running[name] = run
        try:
            self._run(self.sources[name], run)
        finally:
            run.done.set()
            with self._mutex:
                self._running.pop(name, None)

    def _run(self, settings: SourceConfig, run: Run) -> None:
        name = settings.name
        started = time.monotonic()
        fetcher = ServiceFetcher(
            self.config.http,
            transport=self.transport,
            sleep=self._sleep,
            stop=self.stop,
            run=run,
        )
        try:
            ctx = Context.open(self.config, fetcher=fetcher)
        except ScraperError as exc:
            fetcher.close()
            log.error("crawl %s failed: cannot open the archive: %s", name, exc)
            self._account(RunOutcome(name, "failed", None, time.monotonic() - started), None, None)
            return
        with ctx:
            state = ServiceState(ctx.archive.db)
            summary: SourceSummary | None = None
            error: str | None = None
            run_id: int | None = None
            try:
                run_id = state.begin_run(name)
                summary = crawl_source(ctx, settings, stop=self.stop)
                result = classify(summary, stopped=self.stop.is_set())
            except Stopping:
                result = "interrupted"
            except ScraperError as exc:
                result, error = "failed", str(exc)
            except Exception as exc:  # a bug in one source's crawl must not end the service
                log.exception("crawl %s crashed", name)
                result, error = "failed", f"internal error: {exc.__class__.__name__}: {exc}"
            try:
                if run_id is not None:
                    state.finish_run(run_id, result, summary, error)
                counts = state.article_counts(name)
                drift = self._measure_drift(state, name)
                with self._mutex:
                    self._live[name].drift = drift
            except (ScraperError, sqlite3.Error) as exc:
                log.error("crawl %s: cannot record the run: %s", name, exc)
                counts = None
            try:
                outcome = RunOutcome(name, result, summary, time.monotonic() - started, error)
                self._account(outcome, counts, state)
            except (ScraperError, sqlite3.Error) as exc:
                log.error("crawl %s: cannot record the source state: %s", name, exc)

    def _account(
        self, outcome: RunOutcome, counts: ArticleCounts | None, state: ServiceState | None
    ) -> None:
        """Failure streak, backoff, next run, live figures, state row and the log line."""
        name = outcome.source
        settings = self.sources[name]
        live = self._live[name]
        # only this source's one running job changes its streak (max_instances=1)
        failures = failure_streak(live.consecutive_failures, outcome.result)
        pause = backoff_delay(
            settings.interval,
            failures,
            self.config.service.failure_threshold,
            self.config.service.backoff_max,
        )
        backoff_until = None
        if pause is not None and outcome.result == "failed" and not self.stop.is_set():
            backoff_until = datetime.now(UTC) + timedelta(seconds=pause)
            self._reschedule(name, backoff_until)
        next_run = self._next_run(name)
        now = time.time()
        with self._mutex:  # one block, so a snapshot never sees half an update
            live.record(outcome, failures, backoff_until, next_run, counts, now)
        if state is not None:
            state.save_source_state(SourceState(name, iso(next_run), failures, iso(backoff_until)))
        log_run(outcome, failures, next_run, backoff_until)

    def _reschedule(self, name: str, when: datetime) -> None:
        # LookupError: the scheduler is shutting down and dropped the job
        with contextlib.suppress(LookupError):
            self.scheduler.modify_job(name, next_run_time=when)

    def _next_run(self, name: str) -> datetime | None:
        try:
            job = self.scheduler.get_job(name)
        except LookupError:
            return None
        when: datetime | None = job.next_run_time if job is not None else None
        return when

    def _measure_drift(self, state: ServiceState, name: str) -> Drift:
        """The source's layout-drift figure; logs once when it crosses the threshold."""
        cfg = self.config.service
        drift = measure(state.db, name, cfg.drift_window, cfg.drift_threshold)
        self._drift_watch.update(drift)
        return drift

    # -- health ---------------------------------------------------------------------------------
    def alive(self) -> bool:
        return bool(self.scheduler.state == STATE_RUNNING) and not self.stop.is_set()

    def snapshot(self) -> HealthSnapshot:
        now = time.time()
        with self._mutex:
            overdue = {
                name: now - run.started > run_deadline(self.sources[name], self.config.http)
                for name, run in self._running.items()
            }
            sources = tuple(
                live.health(now, overdue.get(live.source, False)) for live in self._live.values()
            )
        return HealthSnapshot(alive=self.alive(), started_ts=self.started_ts, sources=sources)

    # -- stop -----------------------------------------------------------------------------------
    def shutdown(self) -> StopReport:
        """Stop scheduling, let running crawls finish their article (up to ``stop_grace``),
        abandon what is stuck in a request, close the endpoint and the lock."""
        with self._mutex:
            self.stop.set()
            running = list(self._running.values())
        if self.scheduler.state == STATE_RUNNING:
            self.scheduler.shutdown(wait=False)
        report = wait_for_runs(running, self.config.service.stop_grace, self.hurry)
        abandoned = list(report.abandoned)
        if abandoned:
            self._close_abandoned(abandoned)
        if self.health is not None:
            self.health.stop()
        if not abandoned:  # else the kernel drops the lock when the process exits
            self.lock.release()
        log.info(
            "stopped%s",
            f"; abandoned the crawl of {', '.join(abandoned)} inside a request"
            if abandoned
            else "",
        )
        return report

    def _close_abandoned(self, names: list[str]) -> None:
        close_abandoned(self.config.archive.path, names)

    def serve_forever(self, health_port: int | None = None) -> StopReport:
        def on_signal(signum: int, frame: FrameType | None) -> None:
            if self.stop.is_set():
                self.hurry.set()
                return
            log.info("%s received; stopping", signal.Signals(signum).name)
            self.stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.start(health_port)
        try:
            while not self.stop.wait(1.0):
                pass
        finally:
            report = self.shutdown()
            sys.stderr.flush()
        return report
