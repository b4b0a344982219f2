"""A hostile HTTP server on 127.0.0.1 for deadline tests: ``/robots.txt`` answers 404 at once
(allow all); any other path gets a status line and then one header byte every ``interval``
seconds, for ``total`` bytes, so each single read is quick and only a total deadline stops it.
A raw socket server: ``http.server`` cannot send a partial header."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class TrickleServer:
    def __init__(self, *, interval: float = 0.5, total: int = 120) -> None:
        self.interval = interval
        self.total = total
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.stop = threading.Event()
        self.trickling = 0  # requests currently being trickled
        self.served: list[str] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
            path = data.split(b" ", 2)[1].decode()
            self.served.append(path)
            if path == "/robots.txt":
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                return
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            self.trickling += 1
            try:
                for _ in range(self.total):  # "X-Slow: aaaa…", never finished
                    if self.stop.wait(self.interval):
                        return
                    conn.sendall(b"X" if _ == 0 else b"a")
            except OSError:
                return  # the client gave up: what we want
            finally:
                self.trickling -= 1


@contextmanager
def trickle(**kwargs: float) -> Iterator[TrickleServer]:
    server = TrickleServer(**kwargs)  # type: ignore[arg-type]
    server.thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        server.sock.close()
