"""A total deadline per request: connect + headers + body, whatever the server does.

httpx's timeouts bound each socket operation, not the exchange: a server that sends one header
byte every 0.5 s never trips a 20 s read timeout and holds the request (and the host's slot)
for as long as it likes. So every socket read, write, connect and TLS handshake of a request is
given ``min(its own timeout, time left before the deadline)``; past the deadline the operation
fails at once with a timeout.

The deadline lives in a thread-local set by ``within(seconds)`` around one exchange
(``Fetcher._send_once``), and ``install(client)`` wraps the network backend of the client's
connection pools (the default transport and any proxy mounts taken from the environment), so it
holds for pooled connections too. A transport without a pool (``httpx.MockTransport`` in unit
tests) is left as it is.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx
from httpcore import NetworkBackend, NetworkStream

_local = threading.local()


@contextmanager
def within(seconds: float) -> Iterator[float]:
    """Run the block's socket operations under a deadline ``seconds`` from now; yields it
    (``time.monotonic()`` based)."""
    previous = getattr(_local, "deadline", None)
    _local.deadline = time.monotonic() + seconds
    try:
        yield _local.deadline
    finally:
        _local.deadline = previous


def _clamp(timeout: float | None, error: type[Exception]) -> float | None:
    deadline: float | None = getattr(_local, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("request deadline passed")
    return left if timeout is None else min(timeout, left)


class _Stream(NetworkStream):
    def __init__(self, inner: NetworkStream) -> None:
        self.inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> NetworkStream:
        tls = self.inner.start_tls(
            ssl_context, server_hostname, _clamp(timeout, httpcore.ConnectTimeout)
        )
        return _Stream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class DeadlineBackend(NetworkBackend):
    """Wraps a network backend so that every stream it opens honours ``within``."""

    def __init__(self, inner: NetworkBackend) -> None:
        self.inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> NetworkStream:
        stream = self.inner.connect_tcp(
            host, port, _clamp(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _Stream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> NetworkStream:
        stream = self.inner.connect_unix_socket(
            path, _clamp(timeout, httpcore.ConnectTimeout), socket_options
        )
        return _Stream(stream)

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


def install(client: httpx.Client) -> int:
    """Put ``DeadlineBackend`` under every connection pool of ``client``; returns how many.

    httpx does not expose the pool's backend, so this reaches into ``_pool`` (httpx 0.28):
    ``tests/test_deadline.py`` fails if that ever stops working."""
    transports = [getattr(client, "_transport", None)]
    transports += list(getattr(client, "_mounts", {}).values())
    installed = 0
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is None or isinstance(backend, DeadlineBackend):
            continue
        pool._network_backend = DeadlineBackend(backend)  # type: ignore[union-attr]
        installed += 1
    return installed
