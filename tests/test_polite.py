"""The politeness gate with ``httpx.MockTransport``, a fake clock and a recorded sleep."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from scraper.config import HttpConfig, load_config
from scraper.errors import (
    Cancelled,
    HostBackedOff,
    HostUnreachable,
    HttpStatusError,
    RobotsDisallowed,
)
from scraper.fetch import Fetcher
from scraper.polite import HOST_FAILURE_LIMIT, ROBOTS_TTL, HostSlots, Polite
from scraper.store import Archive

UA = "kr-news-archiver/0.1.0 (+https://example.org)"
ROBOTS = (
    "User-agent: *\nDisallow: /\n\n"  # not for us: our own group below is more specific
    "User-agent: kr-news-archiver\nDisallow: /private\nCrawl-delay: 3\n"
)


class Clock:
    """Monotonic and wall time that only move when something sleeps."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def _response(status: int, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    # a stream, as from the network: the fetcher reads raw bytes
    return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))


class Site:
    def __init__(self, robots: str | None = ROBOTS, robots_status: int = 200) -> None:
        self.robots = robots
        self.robots_status = robots_status
        self.requests: list[httpx.Request] = []
        self.statuses: dict[str, list[int]] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/robots.txt":
            if request.headers.get("if-none-match") == '"r1"':
                return _response(304, b"")
            return _response(self.robots_status, (self.robots or "").encode(), {"ETag": '"r1"'})
        queue = self.statuses.get(request.url.path)
        status = queue.pop(0) if queue else 200
        headers = {"Retry-After": "7"} if status == 429 else None
        return _response(status, b"<html>ok</html>", headers)

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    return Archive(tmp_path / "archive")


def _polite(
    site: Site, archive: Archive, clock: Clock, *, min_delay: float = 1.0, **kwargs: object
) -> Polite:
    fetcher = Fetcher(
        HttpConfig(user_agent=UA, max_retries=0),
        transport=httpx.MockTransport(site),
        sleep=clock.sleep,
    )
    return Polite(
        fetcher,
        archive,
        min_delay=min_delay,
        slots=HostSlots(),
        clock=clock,
        wall=clock,
        **kwargs,  # type: ignore[arg-type]
    )


def _get(polite: Polite, url: str) -> int:
    with polite.attached():
        return polite.fetcher.get(
            url, allowed_hosts={"news.test"}, ok_statuses=frozenset({200})
        ).status


def test_robots_disallow_and_crawl_delay_for_our_user_agent(archive: Archive) -> None:
    site, clock = Site(), Clock()
    polite = _polite(site, archive, clock)
    assert _get(polite, "https://news.test/a") == 200
    assert _get(polite, "https://news.test/b") == 200
    with pytest.raises(RobotsDisallowed):
        _get(polite, "https://news.test/private/c")
    assert site.paths() == ["/robots.txt", "/a", "/b"]  # the disallowed URL never requested
    assert clock.slept == [3.0, 3.0]  # Crawl-delay 3 wins over min_delay 1


def test_robots_is_cached_in_the_index_and_read_again_after_a_day(archive: Archive) -> None:
    site, clock = Site(), Clock()
    _get(_polite(site, archive, clock), "https://news.test/a")
    _get(_polite(site, archive, clock), "https://news.test/b")  # a new run: from the index
    assert site.paths().count("/robots.txt") == 1
    clock.now += ROBOTS_TTL + 1
    _get(_polite(site, archive, clock), "https://news.test/c")
    robots = [r for r in site.requests if r.url.path == "/robots.txt"]
    assert len(robots) == 2 and robots[1].headers["if-none-match"] == '"r1"'  # a 304
    clock.now += 10
    with pytest.raises(RobotsDisallowed):  # the stored rules survived the 304
        _get(_polite(site, archive, clock), "https://news.test/private/x")


@pytest.mark.parametrize(("status", "allowed"), [(404, True), (403, True)])
def test_robots_status_rules(archive: Archive, status: int, allowed: bool) -> None:
    site, clock = Site(robots="User-agent: *\nDisallow: /\n", robots_status=status), Clock()
    polite = _polite(site, archive, clock)
    assert polite.allowed("https://news.test/a") is allowed


def test_robots_5xx_is_an_outage_not_a_rule(archive: Archive) -> None:
    site, clock = Site(robots="User-agent: *\nDisallow: /\n", robots_status=500), Clock()
    polite = _polite(site, archive, clock)
    with pytest.raises(HostUnreachable, match=r"robots\.txt answered HTTP 500"):
        polite.allowed("https://news.test/a")  # RFC 9309: nothing is fetched from the host
    assert polite.unreachable("https://news.test/b") == "robots.txt answered HTTP 500"


def test_retry_after_holds_the_host_and_failures_back_it_off(archive: Archive) -> None:
    site, clock = Site(robots=None, robots_status=404), Clock()
    polite = _polite(site, archive, clock, min_delay=0.0)
    site.statuses["/busy"] = [429]
    with polite.attached():
        page = polite.fetcher.get(
            "https://news.test/busy", allowed_hosts={"news.test"}, ok_statuses=frozenset({429})
        )
    assert page.status == 429
    clock.slept.clear()
    assert _get(polite, "https://news.test/ok") == 200  # any request to the host waits
    assert clock.slept == [7.0]
    site.statuses["/down"] = [503] * 100
    for _ in range(HOST_FAILURE_LIMIT):
        with pytest.raises(HttpStatusError):
            _get(polite, "https://news.test/down")
    with pytest.raises(HostBackedOff):
        _get(polite, "https://news.test/ok")
    assert polite.backed_off("https://news.test/anything")
    assert site.paths().count("/down") == HOST_FAILURE_LIMIT


def test_a_stop_cancels_the_wait(archive: Archive) -> None:
    site, clock = Site(robots=None, robots_status=404), Clock()
    stop = threading.Event()
    polite = _polite(site, archive, clock, min_delay=5.0, stop=stop)
    _get(polite, "https://news.test/a")
    clock.sleep = lambda seconds: stop.set()  # type: ignore[method-assign]
    polite.sleep = clock.sleep
    with pytest.raises(Cancelled):
        _get(polite, "https://news.test/b")
    assert site.paths() == ["/robots.txt", "/a"]
    assert not polite.slots.get("https://news.test").lock.locked()  # the slot was given back


def test_a_robots_txt_redirected_on_its_own_origin_is_followed(archive: Archive) -> None:
    # pywb answers /robots.txt with a 307 to /robots.txt/; the hop used to wait for the very
    # robots.txt it was reading (a deadlock)
    def site(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/robots.txt":
            return _response(307, b"", {"Location": "https://news.test/robots.txt/"})
        if request.url.path == "/robots.txt/":
            return _response(200, b"User-agent: *\nDisallow: /private\n")
        return _response(200, b"<html>ok</html>")

    fetcher = Fetcher(HttpConfig(user_agent=UA, max_retries=0), transport=httpx.MockTransport(site))
    polite = Polite(fetcher, archive, min_delay=0, slots=HostSlots())
    results: list[object] = []

    def fetch() -> None:
        try:
            results.append(_get(polite, "https://news.test/a"))
            _get(polite, "https://news.test/private/b")
        except RobotsDisallowed as exc:
            results.append(exc)

    worker = threading.Thread(target=fetch, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "the robots.txt redirect deadlocked"
    assert results[0] == 200 and isinstance(results[1], RobotsDisallowed)


def test_refusals_name_the_url_and_the_source(archive: Archive) -> None:
    site, clock = Site(), Clock()
    polite = _polite(site, archive, clock, source="yonhap")

    def get(url: str) -> None:
        with polite.attached():
            polite.fetcher.get(url, allowed_hosts={"news.test"}, source="yonhap")

    with pytest.raises(RobotsDisallowed) as refused:
        get("https://news.test/private/c")
    assert (refused.value.url, refused.value.source) == ("https://news.test/private/c", "yonhap")
    site.statuses["/down"] = [503] * 100
    for _ in range(HOST_FAILURE_LIMIT):
        with pytest.raises(HttpStatusError):
            get("https://news.test/down")
    with pytest.raises(HostBackedOff) as backed_off:
        get("https://news.test/ok")
    assert (backed_off.value.url, backed_off.value.source) == ("https://news.test/ok", "yonhap")
    assert f"failed {HOST_FAILURE_LIMIT} times in a row" in str(backed_off.value)
    assert all(r.url.path != "/ok" for r in site.requests)


def test_no_crawl_delay_means_only_min_delay(archive: Archive) -> None:
    site, clock = Site(robots="User-agent: *\nDisallow: /private\n"), Clock()
    polite = _polite(site, archive, clock, min_delay=0.5)
    _get(polite, "https://news.test/a")
    _get(polite, "https://news.test/b")
    assert clock.slept == [0.5, 0.5]  # after robots.txt, after /a: min_delay, nothing more


def test_each_origin_has_its_own_slot() -> None:
    slots = HostSlots()
    assert slots.get("https://a.test") is slots.get("https://a.test")
    assert slots.get("https://a.test") is not slots.get("https://b.test")


def test_for_source_takes_the_name_and_the_stop(archive: Archive) -> None:
    stop = threading.Event()
    fetcher = Fetcher(HttpConfig(user_agent=UA), transport=httpx.MockTransport(Site()))
    settings = load_config(None, env={}).source("yonhap")
    polite = Polite.for_source(fetcher, archive, settings, stop=stop)
    assert (polite.source, polite.stop, polite.min_delay) == ("yonhap", stop, settings.min_delay)
