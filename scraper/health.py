"""The service's optional HTTP endpoint on 127.0.0.1: ``/healthz`` and ``/metrics``.

A stdlib ``http.server`` in one daemon thread. It never touches the archive: it renders a
``HealthSnapshot`` that the service builds from what it keeps in memory, so a scrape costs
microseconds and cannot contend with a crawl for the SQLite write lock.

    /healthz   200 while the scheduler runs and not every source is failing, else 503; JSON body
               whose "status" is "ok", "degraded" (still 200: some source's layout-drift alarm
               is on, scraper/drift.py) or "unhealthy" (503)
    /metrics   Prometheus text exposition format 0.0.4
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from scraper.errors import ConfigError
from scraper.httpreply import write_response

log = logging.getLogger(__name__)

HOST = "127.0.0.1"


@dataclass(frozen=True)
class SourceHealth:
    source: str
    failing: bool  # the last finished run failed
    backing_off: bool
    overdue: bool = False  # a run is still going past its deadline (service.run_deadline)
    consecutive_failures: int = 0
    last_run_ts: float | None = None  # end of the last finished run, Unix seconds
    last_success_ts: float | None = None
    last_duration_s: float | None = None
    next_run_ts: float | None = None
    articles_total: int | None = None
    fallback_total: int | None = None
    # layout drift (scraper/drift.py): fallback share of the last N new articles, alarm on/off
    drift_share: float | None = None
    drift_alarm: bool = False
    runs: dict[str, int] = field(default_factory=dict)  # result -> runs since start
    articles: dict[str, int] = field(default_factory=dict)  # new/revised/unchanged/failed


@dataclass(frozen=True)
class HealthSnapshot:
    alive: bool  # the scheduler thread runs and no stop was asked for
    started_ts: float
    sources: tuple[SourceHealth, ...]

    @property
    def healthy(self) -> bool:
        return self.alive and not (
            self.sources and all(s.failing or s.overdue for s in self.sources)
        )

    @property
    def degraded(self) -> bool:
        """Working, but some source's records come from the fallback parser (layout drift)."""
        return any(s.drift_alarm for s in self.sources)

    def to_dict(self) -> dict[str, object]:
        status = "unhealthy" if not self.healthy else "degraded" if self.degraded else "ok"
        return {
            "status": status,
            "alive": self.alive,
            "sources": {
                s.source: {
                    "failing": s.failing,
                    "overdue": s.overdue,
                    "backing_off": s.backing_off,
                    "consecutive_failures": s.consecutive_failures,
                    "last_run": s.last_run_ts,
                    "next_run": s.next_run_ts,
                    "layout_drift": s.drift_alarm,
                    "fallback_share_recent": s.drift_share,
                }
                for s in self.sources
            },
        }


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _num(value: float) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)


class _Metrics:
    """Collects samples grouped by metric name (the format wants each family together)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(
        self, name: str, kind: str, text: str, samples: list[tuple[dict[str, str], float]]
    ) -> None:
        self.lines.append(f"# HELP {name} {text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            inner = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
            self.lines.append(
                f"{name}{{{inner}}} {_num(value)}" if inner else f"{name} {_num(value)}"
            )


Samples = list[tuple[dict[str, str], float]]


@dataclass(frozen=True)
class _PerSource:
    """One metric family with one sample per source (sources where ``get`` is None are left out)."""

    name: str
    kind: str
    text: str
    get: Callable[[SourceHealth], float | int | None]


# In the order they are exposed. The archive counts are gauges: they are read from the index
# and say how many articles it holds now, not how many events happened since the start.
_PER_SOURCE = (
    _PerSource(
        "scraper_source_failing",
        "gauge",
        "1 when the last finished crawl of the source failed.",
        lambda s: int(s.failing),
    ),
    _PerSource(
        "scraper_source_overdue",
        "gauge",
        "1 while a crawl of the source runs past its deadline.",
        lambda s: int(s.overdue),
    ),
    _PerSource(
        "scraper_source_backing_off",
        "gauge",
        "1 while a failing source is paused.",
        lambda s: int(s.backing_off),
    ),
    _PerSource(
        "scraper_consecutive_failures",
        "gauge",
        "Failed crawls in a row.",
        lambda s: s.consecutive_failures,
    ),
    _PerSource(
        "scraper_articles_total",
        "gauge",
        "Articles in the archive.",
        lambda s: s.articles_total,
    ),
    _PerSource(
        "scraper_fallback_articles_total",
        "gauge",
        "Articles in the archive extracted by the fallback parser.",
        lambda s: s.fallback_total,
    ),
    _PerSource(
        "scraper_fallback_share",
        "gauge",
        "Share of the source's last N new articles extracted by the fallback parser "
        "(service.drift_window).",
        lambda s: s.drift_share,
    ),
    _PerSource(
        "scraper_layout_drift",
        "gauge",
        "1 when scraper_fallback_share is at or over service.drift_threshold.",
        lambda s: int(s.drift_alarm) if s.drift_share is not None else None,
    ),
)

# Per-source families after the counters since the start, in the order they are exposed.
_PER_SOURCE_TIMES = (
    _PerSource(
        "scraper_last_run_timestamp_seconds",
        "gauge",
        "End of the last finished crawl.",
        lambda s: s.last_run_ts,
    ),
    _PerSource(
        "scraper_last_success_timestamp_seconds",
        "gauge",
        "End of the last crawl that stored something or found nothing new.",
        lambda s: s.last_success_ts,
    ),
    _PerSource(
        "scraper_last_run_duration_seconds",
        "gauge",
        "How long the last finished crawl took.",
        lambda s: s.last_duration_s,
    ),
    _PerSource(
        "scraper_next_run_timestamp_seconds",
        "gauge",
        "When the next crawl is scheduled.",
        lambda s: s.next_run_ts,
    ),
)


def _service_families(m: _Metrics, snap: HealthSnapshot) -> None:
    m.family("scraper_up", "gauge", "1 while the scheduler runs.", [({}, 1 if snap.alive else 0)])
    m.family(
        "scraper_start_time_seconds", "gauge", "When the service started.", [({}, snap.started_ts)]
    )


def _per_source_families(m: _Metrics, snap: HealthSnapshot, specs: tuple[_PerSource, ...]) -> None:
    for spec in specs:
        samples: Samples = [
            ({"source": s.source}, v) for s in snap.sources if (v := spec.get(s)) is not None
        ]
        m.family(spec.name, spec.kind, spec.text, samples)


def _by_key(
    snap: HealthSnapshot, label: str, counts: Callable[[SourceHealth], dict[str, int]]
) -> Samples:
    """One sample per source and key of ``counts(source)``, keys sorted."""
    return [
        ({"source": s.source, label: key}, count)
        for s in snap.sources
        for key, count in sorted(counts(s).items())
    ]


def _since_start_families(m: _Metrics, snap: HealthSnapshot) -> None:
    m.family(
        "scraper_crawl_runs_total",
        "counter",
        "Finished crawls since the service started, by result.",
        _by_key(snap, "result", lambda s: s.runs),
    )
    m.family(
        "scraper_crawl_articles_total",
        "counter",
        "Articles handled by crawls since the service started, by outcome.",
        _by_key(snap, "outcome", lambda s: s.articles),
    )


def render_metrics(snap: HealthSnapshot) -> str:
    """The Prometheus text exposition (format 0.0.4) of ``snap``."""
    m = _Metrics()
    _service_families(m, snap)
    _per_source_families(m, snap, _PER_SOURCE)
    _since_start_families(m, snap)
    _per_source_families(m, snap, _PER_SOURCE_TIMES)
    return "\n".join(m.lines) + "\n"


class HealthServer:
    """Serves ``snapshot()`` on 127.0.0.1:``port`` (0 picks a free port; see ``.port``)."""

    def __init__(self, port: int, snapshot: Callable[[], HealthSnapshot]) -> None:
        self.snapshot = snapshot
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # headers and body go out in one write; no Nagle delay on loopback
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: object) -> None:
                log.debug("health %s", format % args)

            def do_GET(self) -> None:
                outer._answer(self)

        try:
            self.httpd = ThreadingHTTPServer((HOST, port), Handler)
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {HOST}:{port} for health checks: {exc.strerror}",
                where="service.health_port",
            ) from exc
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, name="health", kwargs={"poll_interval": 0.5}
        )
        self.thread.daemon = True

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> HealthServer:
        self.thread.start()
        log.info("health endpoint on http://%s:%d/healthz and /metrics", HOST, self.port)
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _answer(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path.split("?", 1)[0]
        if path == "/healthz":
            snap = self.snapshot()
            status = 200 if snap.healthy else 503
            body = (json.dumps(snap.to_dict()) + "\n").encode()
            ctype = "application/json"
        elif path == "/metrics":
            status = 200
            body = render_metrics(self.snapshot()).encode()
            ctype = "text/plain; version=0.0.4; charset=utf-8"
        else:
            status, body, ctype = 404, b"not found\n", "text/plain"
        write_response(h, status, {"Content-Type": ctype, "Cache-Control": "no-store"}, body)
