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


def render_metrics(snap: HealthSnapshot) -> str:
    m = _Metrics()
    m.family("scraper_up", "gauge", "1 while the scheduler runs.", [({}, 1 if snap.alive else 0)])
    m.family(
        "scraper_start_time_seconds", "gauge", "When the service started.", [({}, snap.started_ts)]
    )

    def per_source(
        get: Callable[[SourceHealth], float | int | None],
    ) -> list[tuple[dict[str, str], float]]:
        return [({"source": s.source}, v) for s in snap.sources if (v := get(s)) is not None]

    m.family(
        "scraper_source_failing",
        "gauge",
        "1 when the last finished crawl of the source failed.",
        per_source(lambda s: int(s.failing)),
    )
    m.family(
        "scraper_source_overdue",
        "gauge",
        "1 while a crawl of the source runs past its deadline.",
        per_source(lambda s: int(s.overdue)),
    )
    m.family(
        "scraper_source_backing_off",
        "gauge",
        "1 while a failing source is paused.",
        per_source(lambda s: int(s.backing_off)),
    )
    m.family(
        "scraper_consecutive_failures",
        "gauge",
        "Failed crawls in a row.",
        per_source(lambda s: s.consecutive_failures),
    )
    m.family(
        "scraper_articles_total",
        "counter",
        "Articles in the archive.",
        per_source(lambda s: s.articles_total),
    )
    m.family(
        "scraper_fallback_articles_total",
        "counter",
        "Articles in the archive extracted by the fallback parser.",
        per_source(lambda s: s.fallback_total),
    )
    m.family(
        "scraper_fallback_share",
        "gauge",
        "Share of the source's last N new articles extracted by the fallback parser "
        "(service.drift_window).",
        per_source(lambda s: s.drift_share),
    )
    m.family(
        "scraper_layout_drift",
        "gauge",
        "1 when scraper_fallback_share is at or over service.drift_threshold.",
        per_source(lambda s: int(s.drift_alarm) if s.drift_share is not None else None),
    )
    m.family(
        "scraper_crawl_runs_total",
        "counter",
        "Finished crawls since the service started, by result.",
        [
            ({"source": s.source, "result": result}, count)
            for s in snap.sources
            for result, count in sorted(s.runs.items())
        ],
    )
    m.family(
        "scraper_crawl_articles_total",
        "counter",
        "Articles handled by crawls since the service started, by outcome.",
        [
            ({"source": s.source, "outcome": outcome}, count)
            for s in snap.sources
            for outcome, count in sorted(s.articles.items())
        ],
    )
    m.family(
        "scraper_last_run_timestamp_seconds",
        "gauge",
        "End of the last finished crawl.",
        per_source(lambda s: s.last_run_ts),
    )
    m.family(
        "scraper_last_success_timestamp_seconds",
        "gauge",
        "End of the last crawl that stored something or found nothing new.",
        per_source(lambda s: s.last_success_ts),
    )
    m.family(
        "scraper_last_run_duration_seconds",
        "gauge",
        "How long the last finished crawl took.",
        per_source(lambda s: s.last_duration_s),
    )
    m.family(
        "scraper_next_run_timestamp_seconds",
        "gauge",
        "When the next crawl is scheduled.",
        per_source(lambda s: s.next_run_ts),
    )
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
