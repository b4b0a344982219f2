"""The overview's cache: readers get the last value at once; a stale one is refreshed in the
background, one refresh at a time; a failed refresh keeps the old value."""

from __future__ import annotations

import threading

from scraper.web.cache import Refreshing


def test_stale_value_is_served_while_one_refresh_runs() -> None:
    calls: list[int] = []
    release = threading.Event()

    def compute() -> int:
        calls.append(1)
        if len(calls) > 1:
            release.wait(5)
        return len(calls)

    cache = Refreshing(compute, ttl=0.0)
    assert cache.get() == 1  # the first reader waits for the first value
    assert cache.get() == 1  # stale (ttl 0): served at once, a refresh starts
    assert cache.get() == 1  # still the old value; no second refresh while one runs
    release.set()
    cache.wait_idle(5)
    assert len(calls) == 2
    cache.ttl = 3600.0
    assert cache.get() == 2


def test_a_failed_refresh_keeps_the_old_value() -> None:
    results: list[object] = [1, RuntimeError("index locked")]

    def compute() -> int:
        value = results.pop(0)
        if isinstance(value, Exception):
            raise value
        assert isinstance(value, int)
        return value

    cache = Refreshing(compute, ttl=0.0)
    assert cache.get() == 1
    assert cache.get() == 1
    cache.wait_idle(5)
    cache.ttl = 3600.0
    assert cache.get() == 1


def test_a_fresh_value_is_computed_once_and_not_refreshed() -> None:
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    cache = Refreshing(compute, ttl=3600.0)
    assert cache.get() == 1  # the first reader computes it, and no refresh starts besides
    assert cache.get() == 1  # within the ttl: no refresh
    cache.wait_idle(5)
    assert calls == [1]
