"""The service at rest: resident memory and CPU time of `scraper serve` between runs.

Starts `scraper serve` (health endpoint on) against a local fixture server with a one-hour
interval, waits until the first run of both sources is recorded, then samples
/proc/<pid>/status (VmRSS) and /proc/<pid>/stat (utime + stime) over a quiet window (60 s by
default), and finally times a SIGTERM stop. Targets: RSS < 80 MB, CPU < 1 s per idle minute.

    .venv/bin/python -m bench idle [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.server import FixtureServer
from tests.test_service_helpers import add_site, free_port, http_get, service_config, wait_for

TICKS = os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    # fields after the ")" of the command name: utime is field 14, stime 15 (1-based)
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def runs_finished(archive: Path) -> int:
    db_path = archive / "index.sqlite"
    if not db_path.exists():
        return 0
    db = sqlite3.connect(db_path)
    try:
        return int(
            db.execute("SELECT COUNT(*) FROM runs WHERE finished_at IS NOT NULL").fetchone()[0]
        )
    except sqlite3.OperationalError:  # the service has not created its tables yet
        return 0
    finally:
        db.close()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench idle")
    parser.add_argument("--seconds", type=float, default=60.0, help="idle window (default 60)")
    args = parser.parse_args(argv)

    server = FixtureServer().start()
    add_site(server)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        cfg = service_config(tmp_path, server.url, interval='"1h"')
        port = free_port()
        exe = Path(sys.executable).parent / "scraper"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPER_")}
        log = (tmp_path / "serve.log").open("wb")
        started = time.monotonic()
        proc = subprocess.Popen(
            [str(exe), "--config", str(cfg), "serve", "--health-port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        try:
            wait_for(lambda: runs_finished(tmp_path / "archive") >= 2, 60, "the first runs")
            first_runs = time.monotonic() - started
            code, _ = http_get(f"http://127.0.0.1:{port}/healthz")
            rss_after_run = rss_kb(proc.pid)
            cpu_start = cpu_seconds(proc.pid)
            samples = []
            window_start = time.monotonic()
            while time.monotonic() - window_start < args.seconds:
                time.sleep(1.0)
                samples.append(rss_kb(proc.pid))
            cpu_idle = cpu_seconds(proc.pid) - cpu_start
            window = time.monotonic() - window_start
            stop_start = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(15)
            stop_took = time.monotonic() - stop_start
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
            server.stop()

    print(f"scraper serve at rest ({os.cpu_count()} cores, Python {sys.version.split()[0]})")
    print(f"first runs of both sources recorded after {first_runs:.1f} s; /healthz {code}")
    print("| figure | value | target |")
    print("|---|---|---|")
    print(f"| RSS after the first runs | {rss_after_run / 1024:.1f} MB | < 80 MB |")
    print(f"| RSS peak over the idle window | {max(samples) / 1024:.1f} MB | < 80 MB |")
    print(
        f"| CPU time over {window:.0f} s idle | {cpu_idle:.2f} s "
        f"({cpu_idle / window * 60:.2f} s per minute) | < 1 s |"
    )
    print(f"| SIGTERM to exit | {stop_took:.2f} s (exit {rc}) | < 10 s, exit 0 |")
