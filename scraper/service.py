"""``scraper serve``: one APScheduler interval job per enabled source, until SIGTERM/SIGINT.

Life of the service:
    start      take ``<archive>/serve.lock`` (a second ``serve`` refuses), close runs a killed
               service left open, schedule each source (first run now, or when its backoff ends),
               start the optional health endpoint
    each run   its own archive connection, HTTP client and WARC files (SQLite connections are
               per thread); crawl the source once; record the run in ``runs``; one log line
    failures   a failed run never touches the other sources; after ``failure_threshold`` failed
               runs in a row the source pauses for an exponentially growing time (the job's next
               run is moved; the pause survives a restart through ``service_sources``)
    stop       the stop event ends the crawl after its current article and cuts retry and
               politeness waits short (``Stopping``); a run still stuck in an HTTP request after
               ``stop_grace`` seconds is abandoned: its thread is a daemon, it holds no open
               transaction while in the network, and every write is atomic, so the archive stays
               consistent and the process exits within 10 s
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sqlite3
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

import httpx
from apscheduler.executors.base import BaseExecutor, run_job
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_RUNNING

from scraper.config import Config, HttpConfig, SourceConfig
from scraper.crawl import SourceSummary, crawl_source
from scraper.dates import now_iso
from scraper.drift import Drift, DriftWatch, measure
from scraper.errors import ConfigError, ScraperError
from scraper.fetch import Fetcher
from scraper.health import HealthServer, HealthSnapshot, SourceHealth
from scraper.models import FetchedPage
from scraper.pipeline import Context
from scraper.state import (
    ArticleCounts,
    ServeLock,
    ServiceState,
    SourceState,
    backoff_delay,
    classify,
)
from scraper.store import Archive

log = logging.getLogger(__name__)

WRITE_GRACE = 1.5  # extra seconds a stop waits for a run that is writing, not in the network


class Stopping(Exception):
    """The service is stopping: unwinds a crawl out of a retry or politeness wait."""


class _DaemonThreadExecutor(BaseExecutor):  # type: ignore[misc]  # apscheduler is untyped
    """Each job in its own daemon thread. APScheduler's thread pool joins its workers at
    interpreter exit, so one request stuck in a read would hold the exit for the whole HTTP
    timeout; a daemon thread is abandoned instead (see the module docstring for why that is
    safe)."""

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
class _Run:
    """A crawl in progress, as the stopping main thread sees it."""

    source: str
    in_network: int = 0  # > 0 while inside Fetcher.get: safe to abandon
    done: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.time)


def run_deadline(settings: SourceConfig, http: HttpConfig) -> float:
    """Seconds a run of ``settings`` may last before health calls it overdue: its interval
    (the next run is due and cannot start), but at least three whole requests."""
    return max(settings.interval, 3 * http.deadline)


class _ServiceFetcher(Fetcher):
    """A Fetcher that refuses new requests once the service stops and tells the stopping main
    thread whether its run is inside the network (abandonable) or writing (wait for it)."""

    def __init__(self, *args: Any, stop: threading.Event, run: _Run, **kwargs: Any) -> None:
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


@dataclass
class _Live:
    """Per-source figures kept in memory for the health endpoint."""

    source: str
    consecutive_failures: int = 0
    failing: bool = False
    backoff_until: float | None = None
    last_run_ts: float | None = None
    last_success_ts: float | None = None
    last_duration_s: float | None = None
    next_run_ts: float | None = None
    articles: ArticleCounts | None = None
    drift: Drift | None = None
    runs: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class StopReport:
    finished: tuple[str, ...]  # sources whose running crawl ended on its own
    abandoned: tuple[str, ...]  # sources whose crawl was cut off inside a request


def _iso(when: datetime | None) -> str | None:
    # milliseconds, like the run stamps, so the two compare as text
    return when.astimezone(UTC).isoformat(timespec="milliseconds") if when else None


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
            timezone=UTC, executors={"default": _DaemonThreadExecutor()}
        )
        self.lock = ServeLock(config.archive.path)
        self.health: HealthServer | None = None
        self.started_ts = time.time()
        self._mutex = threading.Lock()
        self._running: dict[str, _Run] = {}
        self._live = {name: _Live(name) for name in self.sources}
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
                    SourceState(name, _iso(first), saved.consecutive_failures, saved.backoff_until)
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
        run = _Run(name)
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

    def _run(self, settings: SourceConfig, run: _Run) -> None:
        name = settings.name
        started = time.monotonic()
        fetcher = _ServiceFetcher(
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
            self._account(name, "failed", None, time.monotonic() - started, None, None)
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
                self._account(
                    name, result, summary, time.monotonic() - started, counts, state, error
                )
            except (ScraperError, sqlite3.Error) as exc:
                log.error("crawl %s: cannot record the source state: %s", name, exc)

    def _account(
        self,
        name: str,
        result: str,
        summary: SourceSummary | None,
        duration: float,
        counts: ArticleCounts | None,
        state: ServiceState | None,
        error: str | None = None,
    ) -> None:
        """Failure streak, backoff, next run, live figures, state row and the log line."""
        settings = self.sources[name]
        live = self._live[name]
        # only this source's one running job changes its streak (max_instances=1)
        failures = live.consecutive_failures
        if result == "failed":
            failures += 1
        elif result in ("ok", "partial"):
            failures = 0
        pause = backoff_delay(
            settings.interval,
            failures,
            self.config.service.failure_threshold,
            self.config.service.backoff_max,
        )
        backoff_until = None
        if pause is not None and result == "failed" and not self.stop.is_set():
            backoff_until = datetime.now(UTC) + timedelta(seconds=pause)
            self._reschedule(name, backoff_until)
        next_run = self._next_run(name)
        now = time.time()
        with self._mutex:  # one block, so a snapshot never sees half an update
            live.consecutive_failures = failures
            live.runs[result] += 1
            if summary is not None:
                live.outcomes["new"] += summary.new
                live.outcomes["revised"] += summary.revised
                live.outcomes["unchanged"] += summary.unchanged + summary.known
                live.outcomes["failed"] += summary.failed
            if result != "interrupted":
                live.failing = result == "failed"
                live.last_run_ts = now
                live.last_duration_s = duration
            if result in ("ok", "partial"):
                live.last_success_ts = now
            live.backoff_until = backoff_until.timestamp() if backoff_until else None
            live.next_run_ts = next_run.timestamp() if next_run else None
            if counts is not None:
                live.articles = counts
        if state is not None:
            state.save_source_state(
                SourceState(name, _iso(next_run), failures, _iso(backoff_until))
            )
        self._log_run(name, result, summary, duration, next_run, failures, error, backoff_until)

    def _log_run(
        self,
        name: str,
        result: str,
        summary: SourceSummary | None,
        duration: float,
        next_run: datetime | None,
        failures: int,
        error: str | None,
        backoff_until: datetime | None,
    ) -> None:
        s = summary or SourceSummary(source=name)
        counts = s.line().split(": ", 1)[1] if summary is not None else "no counts"
        detail = f"; {error}" if error else ""
        if backoff_until is not None:
            detail += f"; {failures} failures in a row, paused until {_iso(backoff_until)}"
        extra = {
            "event": "crawl",
            "source": name,
            "result": result,
            "discovered": s.discovered,
            "new": s.new,
            "revised": s.revised,
            "unchanged": s.unchanged + s.known,
            "failed": s.failed,
            "skipped_robots": s.skipped_robots,
            "resumed": s.resumed,
            "feeds_not_modified": s.not_modified,
            "method": s.method,
            "duration_s": round(duration, 3),
            "consecutive_failures": failures,
            "next_run": _iso(next_run),
            "error": error,
        }
        level = logging.WARNING if result == "failed" else logging.INFO
        log.log(
            level,
            "crawl %s %s in %.1fs: %s%s; next run %s",
            name,
            result,
            duration,
            counts,
            detail,
            _iso(next_run) or "none",
            extra=extra,
        )

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
                SourceHealth(
                    source=live.source,
                    failing=live.failing,
                    overdue=overdue.get(live.source, False),
                    backing_off=live.backoff_until is not None and live.backoff_until > now,
                    consecutive_failures=live.consecutive_failures,
                    last_run_ts=live.last_run_ts,
                    last_success_ts=live.last_success_ts,
                    last_duration_s=live.last_duration_s,
                    next_run_ts=live.next_run_ts,
                    articles_total=live.articles.total if live.articles else None,
                    fallback_total=live.articles.fallback if live.articles else None,
                    drift_share=live.drift.share if live.drift else None,
                    drift_alarm=live.drift.alarm if live.drift else False,
                    runs=dict(live.runs),
                    articles=dict(live.outcomes),
                )
                for live in self._live.values()
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
        deadline = time.monotonic() + self.config.service.stop_grace
        finished, abandoned = [], []
        for run in running:
            while not run.done.is_set() and time.monotonic() < deadline:
                if self.hurry.is_set():
                    break
                run.done.wait(0.05)
        hard = time.monotonic() + WRITE_GRACE
        for run in running:
            if run.done.is_set():
                finished.append(run.source)
                continue
            # not in a request means it is writing: an atomic step that ends in milliseconds
            while run.in_network == 0 and not run.done.is_set() and time.monotonic() < hard:
                run.done.wait(0.02)
            if run.done.is_set():
                finished.append(run.source)
            else:
                abandoned.append(run.source)
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
        return StopReport(tuple(finished), tuple(abandoned))

    def _close_abandoned(self, names: list[str]) -> None:
        try:
            with Archive(self.config.archive.path) as archive:
                for name in names:
                    archive.db.execute(
                        "UPDATE runs SET result = 'interrupted', finished_at = ?, error = ? "
                        "WHERE source = ? AND result = 'running'",
                        (now_iso(), "abandoned inside a request at shutdown", name),
                    )
        except (ScraperError, OSError, sqlite3.Error) as exc:  # the stop goes on regardless
            log.error("cannot record the abandoned runs: %s", exc)

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
