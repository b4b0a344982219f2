"""``scraper serve``, ``scraper status`` and ``scraper healthcheck``: the scheduled service and
what an operator reads about it."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from scraper import drift, failures
from scraper.cli.common import EXIT_FAILED, EXIT_OK, Paragraphs, config_from
from scraper.config import Config
from scraper.errors import ConfigError
from scraper.health import HOST
from scraper.state import LockHolder, ServiceState, SourceStatus, serving
from scraper.store import Archive

SERVE_HELP = """\
Crawl every enabled source on its own schedule (sources.<name>.interval, plus up to
service.jitter seconds of random delay), the first run at start-up. One crawl of a source at a
time; runs missed while busy or suspended collapse into one. A failing source does not stop the
others; after service.failure_threshold failed runs in a row it pauses for twice its interval,
doubling each time (at most service.backoff_max). Every run is logged on one line and recorded
in the archive for `scraper status`.

SIGTERM or Ctrl-C stops it: the running crawl finishes its current article, a request still
stuck after service.stop_grace seconds is abandoned, and the process exits 0 within 10 s. A
second signal abandons running crawls at once. Only one `serve` may use an archive (lock file
<archive>/serve.lock); `scraper crawl` and `scraper fetch` may run alongside it.

With --health-port N (or service.health_port), http://127.0.0.1:N/healthz answers 200 while the
scheduler runs and not every source is failing (503 otherwise; "status": "degraded", still
200, while a source's layout-drift alarm is on: service.drift_window, service.drift_threshold),
and /metrics gives Prometheus text metrics."""

SERVE_EPILOG = """\
examples:
  scraper --config config/scraper.toml serve
  scraper --log-format json serve --health-port 9108
  curl -s http://127.0.0.1:9108/metrics | grep scraper_crawl_runs_total"""

STATUS_HELP = """\
Per source: the last scheduled run (start, duration, result, counts, error), the next run,
articles in the archive (total, first archived today, UTC), failed runs, and the share of
records that needed the fallback parser, with a layout-drift warning when that share over the
last 24 hours jumps against the share before, or when at least service.drift_threshold of the
last service.drift_window new articles came from the fallback (the drift alarm). Reads the
archive only; works whether or not the service runs. Exit 0, or 1 when some source's last
run failed."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "serve",
        help="run the scheduled archiver until SIGTERM/SIGINT",
        description=SERVE_HELP,
        epilog=SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--health-port",
        type=int,
        metavar="N",
        help="serve /healthz and /metrics on 127.0.0.1:N (overrides service.health_port; "
        "0 turns it off)",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "status",
        help="what the service did and will do, per source",
        description=STATUS_HELP,
        epilog="examples:\n  scraper status\n  scraper status --json | jq .sources.yonhap",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--json", action="store_true", help="one JSON document instead of text")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser(
        "healthcheck",
        help="exit 0 if the running service's /healthz says healthy",
        description="Ask the service's health endpoint (127.0.0.1, service.health_port or "
        "--port) and exit 0 when it answers 200, 1 otherwise, with one line saying why. This "
        "is the container's HEALTHCHECK.",
        epilog="example:\n  scraper healthcheck --port 9108",
        formatter_class=Paragraphs,
    )
    p.add_argument("--port", type=int, metavar="N", help="default: service.health_port")
    p.add_argument("--timeout", type=float, default=5.0, metavar="S", help="default: 5")
    p.set_defaults(func=cmd_healthcheck)


def cmd_serve(args: argparse.Namespace) -> int:
    config = config_from(args)
    port = args.health_port
    if port is not None and not 0 <= port <= 65535:
        raise ConfigError(f"--health-port must be 0 to 65535, got {port}")
    from scraper.service import Service  # APScheduler loads only for the command that needs it

    Service(config).serve_forever(health_port=port)
    return EXIT_OK


# -- status -------------------------------------------------------------------------------------
def _when(iso: str | None, now: datetime) -> str:
    if not iso:
        return "-"
    seconds = (datetime.fromisoformat(iso) - now).total_seconds()
    span = abs(seconds)
    if span < 90:
        rel = f"{span:.0f}s"
    elif span < 5400:
        rel = f"{span / 60:.0f}m"
    elif span < 172800:
        rel = f"{span / 3600:.1f}h"
    else:
        rel = f"{span / 86400:.1f}d"
    return f"{iso} ({'in ' + rel if seconds > 0 else rel + ' ago'})"


def _status_dict(st: SourceStatus, running: bool) -> dict[str, Any]:
    run = st.last_run
    a = st.articles
    return {
        "last_run": None
        if run is None
        else {
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "duration_s": run.duration,
            "result": run.result,
            "discovered": run.discovered,
            "new": run.new,
            "revised": run.revised,
            "unchanged": run.unchanged,
            "failed": run.failed,
            "method": run.method,
            "error": run.error,
        },
        "last_success_at": st.last_success_at,
        "next_run_at": st.state.next_run_at if running else None,
        "consecutive_failures": st.state.consecutive_failures,
        "backoff_until": st.state.backoff_until,
        "failed_runs_24h": st.failed_runs_recent,
        "runs_total": st.runs_total,
        "articles": {"total": a.total, "today": a.today, "last_24h": a.recent},
        "fallback": {
            "share": round(a.fallback_share, 4),
            "share_24h": round(a.recent_fallback_share, 4),
            "drift": a.drift,
        },
    }


def _status_text(st: SourceStatus, running: bool, now: datetime) -> list[str]:
    run = st.last_run
    a = st.articles
    lines = [st.source]
    if run is None:
        lines.append("  last run   never")
    else:
        took = f", took {run.duration:.1f}s" if run.duration is not None else ""
        lines.append(f"  last run   {_when(run.started_at, now)}{took}: {run.result}")
        lines.append(
            f"             discovered {run.discovered}, new {run.new}, revised {run.revised}, "
            f"unchanged {run.unchanged}, failed {run.failed}"
            + (f" (via {run.method})" if run.method else "")
        )
        if run.error:
            lines.append(f"             error: {run.error}")
    if running:
        lines.append(f"  next run   {_when(st.state.next_run_at, now)}")
    else:
        lines.append("  next run   - (the service is not running)")
    lines.append(f"  articles   {a.total} total, {a.today} today, {a.recent} in the last 24 h")
    failures = f"  failures   {st.state.consecutive_failures} in a row, "
    failures += f"{st.failed_runs_recent} failed runs in the last 24 h"
    if st.state.backoff_until and datetime.fromisoformat(st.state.backoff_until) > now:
        failures += f"; backing off until {st.state.backoff_until}"
    lines.append(failures)
    lines.append(
        f"  fallback   {a.fallback_share:.1%} of records ({a.fallback} of {a.total}); "
        f"last 24 h {a.recent_fallback_share:.1%} ({a.recent_fallback} of {a.recent})"
    )
    if a.drift:
        lines.append(
            "  WARNING    layout drift: the fallback parser's share jumped in the last 24 h; "
            "the site may have changed its page layout (check `scraper stats`, add a parser)"
        )
    return lines


def _dead_runs(st: SourceStatus, holder: LockHolder | None) -> SourceStatus:
    """A run still marked ``running`` whose service is gone (killed with SIGKILL, or the
    machine went down) is reported as ``interrupted``: the next ``serve`` records it so, and
    until then "running" would contradict "the service is not running"."""
    run = st.last_run
    if run is None or run.result != "running":
        return st
    if holder is not None and holder.pid in (None, run.pid):
        return st  # the service that started it still holds the archive
    stopped = replace(run, result="interrupted", error=run.error or "the service stopped")
    return replace(st, last_run=stopped)


def _drift_text(d: drift.Drift) -> list[str]:
    lines = [
        f"  drift      {d.share:.1%} of the last {d.articles} new articles from the fallback "
        f"(alarm at {d.threshold:.0%} of the last {d.window})"
    ]
    if d.alarm:
        lines.append(
            "  WARNING    layout drift: no layout parser recognises most new pages; add one "
            "(docs/extraction.md), then `scraper reparse --parser fallback`"
        )
    return lines


def status_report(config: Config, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    holder = serving(config.archive.path)
    with Archive(config.archive.path, readonly=True) as archive:
        state = ServiceState(archive.db)
        statuses = [_dead_runs(state.status(name, now), holder) for name in config.sources]
        url_states = failures.counts(archive)
        window, threshold = config.service.drift_window, config.service.drift_threshold
        drifts = {
            name: drift.measure(archive.db, name, window, threshold) for name in config.sources
        }
    return {
        "drifts": drifts,
        "service": {
            "running": holder is not None,
            "pid": holder.pid if holder else None,
            "since": holder.since if holder else None,
        },
        "statuses": statuses,
        "url_states": url_states,  # per source: failed / rejected / abandoned / gone URLs
    }


def cmd_status(args: argparse.Namespace) -> int:
    config = config_from(args)
    now = datetime.now(UTC)
    report = status_report(config, now)
    service = report["service"]
    statuses: list[SourceStatus] = report["statuses"]
    running = bool(service["running"])
    out = sys.stdout
    if args.json:
        doc = {
            "archive": str(config.archive.path),
            "service": service,
            "sources": {
                st.source: {
                    **_status_dict(st, running),
                    "urls": report["url_states"].get(st.source, dict.fromkeys(failures.STATES, 0)),
                }
                for st in statuses
            },
        }
        for name, measured in report["drifts"].items():
            doc["sources"][name]["fallback"]["last_n"] = measured.to_dict()
        out.write(json.dumps(doc, indent=2) + "\n")
    else:
        if running:
            out.write(f"service    running (pid {service['pid']}, since {service['since']})\n")
        else:
            out.write("service    not running\n")
        out.write(f"archive    {config.archive.path}\n")
        for st in statuses:
            lines = _status_text(st, running, now) + _drift_text(report["drifts"][st.source])
            urls = failures.render_counts(report["url_states"].get(st.source))
            lines.append(f"  urls       {urls} (scraper failures)")
            out.write("\n" + "\n".join(lines) + "\n")
    out.flush()
    failing = any(st.last_run is not None and st.last_run.result == "failed" for st in statuses)
    return EXIT_FAILED if failing else EXIT_OK


# -- healthcheck --------------------------------------------------------------------------------
def cmd_healthcheck(args: argparse.Namespace) -> int:
    config = config_from(args)
    port = args.port if args.port is not None else config.service.health_port
    if not port:
        raise ConfigError("the health endpoint is off; set service.health_port or --port")
    url = f"http://{HOST}:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as response:
            body = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        print(f"unhealthy: {url} answered {exc.code}", file=sys.stderr)
        return EXIT_FAILED
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        print(f"unhealthy: {url} unreachable ({reason})", file=sys.stderr)
        return EXIT_FAILED
    print(f"healthy: {body.get('status', 'ok')}")
    return EXIT_OK
