"""The Fetcher against httpx.MockTransport: redirects, caps, charsets, retries."""

from __future__ import annotations

import gzip
import random
from collections.abc import Callable

import httpx
import pytest

from scraper.config import HttpConfig
from scraper.errors import (
    HttpStatusError,
    RedirectRefused,
    TooLarge,
    TransientFetchError,
)
from scraper.fetch import Fetcher, parse_retry_after

HOSTS = {"en.yna.co.kr"}
URL = "https://en.yna.co.kr/view/AEN20230419000952325"


def resp(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> httpx.Response:
    """A response streamed like a real one, so the raw (undecoded) bytes can be read."""
    return httpx.Response(status, headers=headers or {}, stream=httpx.ByteStream(body))


class FixedRandom(random.Random):
    """A ``random.Random`` whose ``random()`` returns the given draws in order."""

    def __init__(self, draws: list[float]) -> None:
        super().__init__(0)
        self.draws = list(draws)

    def random(self) -> float:
        return self.draws.pop(0)


def make(
    handler: Callable[[httpx.Request], httpx.Response], **config: object
) -> tuple[Fetcher, list[float]]:
    sleeps: list[float] = []
    settings = HttpConfig(**{"max_retries": 3, "backoff_base": 1.0, **config})  # type: ignore[arg-type]
    fetcher = Fetcher(settings, transport=httpx.MockTransport(handler), sleep=sleeps.append)
    return fetcher, sleeps


def test_sends_honest_user_agent_and_keeps_raw_bytes() -> None:
    html = "<html><body><p>기사 본문</p></body></html>".encode()
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return resp(
            200,
            gzip.compress(html),
            {"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"},
        )

    fetcher, _ = make(handler)
    page = fetcher.get(URL, allowed_hosts=HOSTS)
    assert "kr-news-archiver" in seen[0].headers["user-agent"]
    assert page.raw_body == gzip.compress(html)  # as on the wire, for the WARC
    assert page.body == html
    assert "기사 본문" in page.text


def test_charset_from_meta_when_header_has_none() -> None:
    html = '<html><head><meta charset="euc-kr"></head><body>한국어 기사</body></html>'

    def handler(request: httpx.Request) -> httpx.Response:
        return resp(200, html.encode("euc-kr"), {"Content-Type": "text/html"})

    page = make(handler)[0].get(URL, allowed_hosts=HOSTS)
    assert page.encoding == "cp949"
    assert "한국어 기사" in page.text


def test_undeclared_euc_kr_is_detected() -> None:
    text = (
        "<html><body><p>"
        + "북한이 군사정찰위성 발사를 준비하고 있다고 밝혔다. " * 20
        + "</p></body></html>"
    )

    def handler(request: httpx.Request) -> httpx.Response:
        return resp(200, text.encode("euc-kr"), {"Content-Type": "text/html"})

    page = make(handler)[0].get(URL, allowed_hosts=HOSTS)
    assert "군사정찰위성" in page.text


def test_redirect_within_hosts_is_followed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/old":
            return resp(301, headers={"Location": URL})
        return resp(200, b"<html>ok</html>")

    page = make(handler)[0].get("https://en.yna.co.kr/old", allowed_hosts=HOSTS)
    assert page.final_url == URL
    assert page.url == "https://en.yna.co.kr/old"


def test_redirect_to_another_host_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return resp(302, headers={"Location": "http://169.254.169.254/latest"})

    with pytest.raises(RedirectRefused):
        make(handler)[0].get(URL, allowed_hosts=HOSTS)


@pytest.mark.parametrize("declare_length", [True, False])
def test_size_cap(declare_length: bool) -> None:
    body = b"x" * 5000

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {} if declare_length else {"Transfer-Encoding": "chunked"}
        return httpx.Response(
            200, headers=headers, content=iter([body]) if not declare_length else body
        )

    with pytest.raises(TooLarge):
        make(handler, max_bytes=4096)[0].get(URL, allowed_hosts=HOSTS)


def test_gzip_bomb_is_capped() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return resp(200, gzip.compress(b"\0" * 1_000_000), {"Content-Encoding": "gzip"})

    with pytest.raises(TooLarge):
        make(handler, max_bytes=100_000)[0].get(URL, allowed_hosts=HOSTS)


def test_retries_5xx_with_backoff_then_succeeds() -> None:
    statuses = iter([503, 502, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        return resp(next(statuses), b"<html>ok</html>")

    fetcher, sleeps = make(handler)
    fetcher.rng = FixedRandom([0.1, 0.9])  # jitter factors 0.6 and 1.4 (0.5 + draw)
    assert fetcher.get(URL, allowed_hosts=HOSTS).status == 200
    assert len(sleeps) == 2
    # exponential (1 s, 2 s) times the drawn jitter; the unjittered 1.0/2.0 would fail here
    assert sleeps == [pytest.approx(0.6), pytest.approx(2.8)]


def test_retry_after_is_honoured() -> None:
    statuses = iter([429, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(statuses)
        return resp(status, headers={"Retry-After": "7"} if status == 429 else {})

    fetcher, sleeps = make(handler)
    fetcher.get(URL, allowed_hosts=HOSTS)
    assert sleeps == [7.0]


def test_404_is_not_retried() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return resp(404)

    fetcher, sleeps = make(handler)
    with pytest.raises(HttpStatusError) as info:
        fetcher.get(URL, allowed_hosts=HOSTS)
    assert info.value.status == 404 and not info.value.retryable
    assert len(calls) == 1 and sleeps == []


def test_timeouts_are_retried_then_reported() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    fetcher, sleeps = make(handler, max_retries=2)
    with pytest.raises(TransientFetchError, match="timed out"):
        fetcher.get(URL, allowed_hosts=HOSTS)
    assert len(sleeps) == 2


def test_retry_after_http_date() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("soon") is None


def test_transport_returning_a_read_response_still_works() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>plain</html>")

    page = make(handler)[0].get(URL, allowed_hosts=HOSTS)
    assert page.body == b"<html>plain</html>"
