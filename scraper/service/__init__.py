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

The package, by responsibility:
    core.py        ``Service``: start, schedule, run one source, health snapshot, stop, serve
    runs.py        a run's daemon thread and its fetcher, which a stop reaches (``Stopping``)
    accounting.py  what a finished run changes (streak, live figures) and its one log line
    stop.py        waiting for running crawls at a stop, abandoning and recording the stuck ones
"""

from scraper.service.core import Service, startup_problems
from scraper.service.runs import WRITE_GRACE, Stopping, run_deadline
from scraper.service.stop import StopReport

__all__ = ["WRITE_GRACE", "Service", "StopReport", "Stopping", "run_deadline", "startup_problems"]
