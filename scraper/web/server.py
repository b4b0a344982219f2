"""Running the reading room: uvicorn on a socket we bind ourselves, so that ``--port 0`` works
(the kernel picks a free port) and the address printed is the one actually listening."""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import uvicorn

from scraper.errors import ConfigError
from scraper.web.app import create_app
from scraper.web.readonly import ReadOnlyArchive

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown (the process then dies of
    the signal); a signal is how this server is meant to stop, so it exits 0 like ``serve``."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()


def bind(host: str, port: int) -> socket.socket:
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def serve(
    root: Path,
    sources: tuple[str, ...],
    host: str,
    port: int,
    *,
    ready: Callable[[str], None],
) -> None:
    """Serve until SIGINT/SIGTERM. ``ready`` gets the URL once the socket listens."""
    ReadOnlyArchive(root).close()  # fail now, in one line, when there is no archive
    if not _loopback(host):
        log.warning("the reading room listens on %s: reachable from other machines", host)
    sock = bind(host, port)
    bound_port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    config = uvicorn.Config(
        create_app(root, sources),
        log_config=None,  # our logging set-up (scraper.cli.common) stays in charge
        access_log=False,
        lifespan="on",
        server_header=False,
    )
    server = _Server(config)
    ready(f"http://{shown}:{bound_port}/")
    server.run(sockets=[sock])
