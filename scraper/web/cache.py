"""A value that is costly to compute and may be a little old: the overview page.

Readers never wait for a refresh: once the value is older than ``ttl`` the next reader gets the
old one at once and starts a recomputation in a background thread (one at a time). Only the
very first readers wait, for one computation (``warm`` starts it when the server starts).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class Refreshing(Generic[T]):
    def __init__(self, compute: Callable[[], T], ttl: float) -> None:
        self.compute = compute
        self.ttl = ttl
        self._lock = threading.Lock()  # guards the fields below
        self._first = threading.Lock()  # the first computation, which readers wait for
        self._value: T | None = None
        self._at = 0.0
        self._thread: threading.Thread | None = None

    def get(self) -> T:
        with self._lock:
            value = self._value
            if value is not None and time.monotonic() - self._at > self.ttl:
                self._start()
        if value is not None:
            return value
        with self._first:
            with self._lock:
                if self._value is not None:
                    return self._value
            return self._store(self.compute())

    def warm(self) -> None:
        with self._lock:
            self._start()

    def wait_idle(self, timeout: float | None = None) -> None:
        """Until a running refresh is done (tests, shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _store(self, value: T) -> T:
        with self._lock:
            self._value, self._at = value, time.monotonic()
        return value

    def _start(self) -> None:
        """With ``_lock`` held: one refresh thread at a time."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._thread = threading.Thread(target=self._refresh, name="overview", daemon=True)
        self._thread.start()

    def _refresh(self) -> None:
        try:
            with self._first:
                self._store(self.compute())
        except Exception:  # the old value stays; the next reader tries again
            log.exception("refreshing the overview failed")
