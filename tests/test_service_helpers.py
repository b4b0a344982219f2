"""Helpers for the service tests (no tests here): a two-source site on the fixture server, a
service config, and a ``scraper serve`` process with its logs in files (a pipe could fill and
stall it)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import FIXTURES, ROOT, write_config
from tests.server import FixtureServer, rss, yonhap_fixture

YONHAP = {  # fixture number -> article id (from each page's canonical link)
    1: "AEN20230419006200320",
    2: "AEN20230419006100320",
    3: "AEN20230419005600315",
}
KH3 = (FIXTURES / "koreaherald" / "kh3_article_10604071.html").read_bytes()
KH2 = (FIXTURES / "koreaherald" / "kh2_view_20241106050843.html").read_bytes()
YONHAP_FEED = "/RSS/news.xml"
KH_FEED = "/rss/newsAll"


def add_site(server: FixtureServer) -> None:
    """Both sources: one feed each (with ETags, so repeat crawls are conditional) and pages."""
    server.add(
        YONHAP_FEED,
        rss([f"https://en.yna.co.kr/view/{i}" for i in YONHAP.values()]),
        content_type="application/rss+xml",
    )
    for n, native in YONHAP.items():
        server.add(f"/view/{native}", yonhap_fixture(n))
    server.add(
        KH_FEED,
        rss(
            [
                "https://www.koreaherald.com/article/10604071",
                "https://www.koreaherald.com/view.php?ud=20241106050843",
            ]
        ),
        content_type="application/rss+xml",
    )
    server.add("/article/10604071", KH3)
    server.add("/view.php?ud=20241106050843", KH2)


def service_config(
    tmp_path: Path, base_url: str, *, interval: str = "1", service: str = "", http_timeout: int = 5
) -> Path:
    path = write_config(tmp_path, base_url)
    text = path.read_text().replace("interval = 600", f"interval = {interval}")
    text = text.replace("timeout = 5", f"timeout = {http_timeout}")
    text += f"\n[service]\njitter = 0\n{service}\n"
    path.write_text(text)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], object], timeout: float = 30.0, what: str = "condition") -> None:
    """Poll ``check`` every 50 ms; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def scraper_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SCRAPER_")}


@dataclass
class ServeProcess:
    proc: subprocess.Popen[bytes]
    log_path: Path

    @classmethod
    def start(
        cls,
        tmp_path: Path,
        *args: str,
        env: dict[str, str] | None = None,
        argv: list[str] | None = None,
    ) -> ServeProcess:
        exe = Path(sys.executable).parent / "scraper"
        log_path = tmp_path / f"serve-{time.monotonic_ns()}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                argv or [str(exe), *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=ROOT,
                env=env or scraper_env(),
            )
        return cls(proc, log_path)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(
        self, timeout: float = 10.0, sig: signal.Signals = signal.SIGTERM
    ) -> tuple[int, float]:
        """Send ``sig``; returns (exit status, seconds it took to exit)."""
        start = time.monotonic()
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"serve did not exit within {timeout}s:\n{self.log()}") from None
        return rc, time.monotonic() - start

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def json_lines(text: str) -> list[dict[str, object]]:
    out = []
    for line in text.splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out
