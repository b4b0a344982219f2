"""``Fetcher`` with ``httpx.MockTransport``: retries, Retry-After, truncation, the gate hook."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from email.utils import formatdate

import httpx
import pytest

from scraper.config import HttpConfig
from scraper.errors import (
    FetchError,
    HttpStatusError,
    RedirectRefused,
    TransientFetchError,
    Truncated,
)
from scraper.extract import decode_html
from scraper.fetch import Fetcher, parse_retry_after


def _response(status: int, body: bytes = b"<html>ok</html>", **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))


class Recorder:
    """A gate that records what the fetcher tells it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int | None, bool]] = []

    def before(self, url: str, source: str | None) -> None:
        self.calls.append(("before", url, None, False))

    def after(
        self, url: str, status: int | None, *, failed: bool, retry_after: float | None
    ) -> None:
        self.calls.append(("after", url, status, failed))


def _fetcher(answers: list[httpx.Response], slept: list[float], **config: object) -> Fetcher:
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        return queue.pop(0)

    return Fetcher(
        HttpConfig(backoff_base=0.5, **config),  # type: ignore[arg-type]
        transport=httpx.MockTransport(handler),
        sleep=slept.append,
    )


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(formatdate(1_000_030, usegmt=True), now=1_000_000) == 30.0
    assert parse_retry_after("soon") is None


def test_retries_with_backoff_and_honours_retry_after() -> None:
    slept: list[float] = []
    f = _fetcher([_response(503), _response(429, **{"Retry-After": "3"}), _response(200)], slept)
    f.rng = random.Random(7)  # seeded: the jitter is known, and differs from no jitter at all
    expected = 0.5 * (0.5 + random.Random(7).random())
    assert expected != pytest.approx(0.5)
    assert f.get("https://x.test/a", allowed_hosts={"x.test"}).status == 200
    assert 0.25 <= slept[0] <= 0.75 and slept[1] == 3.0  # jittered backoff, then Retry-After
    assert slept[0] == pytest.approx(expected)


def test_truncated_body_is_retried_then_reported() -> None:
    slept: list[float] = []
    short = _response(200, b"<html>cut", **{"Content-Length": "100"})
    f = _fetcher([short, _response(200)], slept, max_retries=1)
    assert f.get("https://x.test/a", allowed_hosts={"x.test"}).body == b"<html>ok</html>"
    f = _fetcher([_response(404)], slept)
    with pytest.raises(HttpStatusError) as info:
        f.get("https://x.test/a", allowed_hosts={"x.test"})
    assert info.value.status == 404 and not info.value.retryable


def test_the_gate_sees_every_exchange_including_redirects_and_retries() -> None:
    slept: list[float] = []
    f = _fetcher([_response(301, b"", Location="/b"), _response(500), _response(200)], slept)
    gate = Recorder()
    f.gate = gate
    f.get("https://x.test/a", allowed_hosts={"x.test"})
    assert gate.calls == [
        ("before", "https://x.test/a", None, False),
        ("after", "https://x.test/a", 301, False),
        ("before", "https://x.test/b", None, False),
        ("after", "https://x.test/b", 500, True),
        ("before", "https://x.test/a", None, False),  # the retry starts over at the first URL
        ("after", "https://x.test/a", 200, False),
    ]


def test_redirect_off_the_source_hosts_is_refused() -> None:
    f = _fetcher([_response(302, b"", Location="https://evil.test/")], [])
    with pytest.raises(RedirectRefused):
        f.get("https://x.test/a", allowed_hosts={"x.test"})


def test_a_retry_after_longer_than_backoff_max_is_not_waited_for() -> None:
    # a server asking for an hour's pause: the fetch fails now instead of sleeping an hour
    slept: list[float] = []
    f = _fetcher([_response(503, **{"Retry-After": "3601"}), _response(200)], slept)
    f.config = HttpConfig(backoff_max=3600.0)
    with pytest.raises(HttpStatusError) as info:
        f.get("https://x.test/a", allowed_hosts={"x.test"})
    assert info.value.status == 503 and slept == []
    # exactly backoff_max is still waited for
    f = _fetcher([_response(503, **{"Retry-After": "3600"}), _response(200)], slept)
    f.config = HttpConfig(backoff_max=3600.0)
    assert f.get("https://x.test/a", allowed_hosts={"x.test"}).status == 200
    assert slept == [3600.0]


class _BodyThenRaise(httpx.SyncByteStream):
    """A body that sends one chunk, then fails the way the network did."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def __iter__(self) -> Iterator[bytes]:
        yield b"<html>half"
        raise self.exc


def _failing(handler_result: Exception | httpx.Response, **config: object) -> Fetcher:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(handler_result, Exception):
            raise handler_result
        return handler_result

    settings = HttpConfig(max_retries=0, **config)  # type: ignore[arg-type]
    return Fetcher(settings, transport=httpx.MockTransport(handler), sleep=lambda s: None)


def _error_of(f: Fetcher) -> FetchError:
    with pytest.raises(FetchError) as info:
        f.get("https://x.test/a", allowed_hosts={"x.test"}, source="yonhap")
    assert info.value.url == "https://x.test/a" and info.value.source == "yonhap"
    return info.value


def test_transport_failures_name_what_failed_the_url_and_the_source() -> None:
    # what a user reads in `error: <what> (<url>)`: where in the exchange it failed
    err = _error_of(_failing(httpx.ConnectTimeout("connect")))
    assert type(err) is TransientFetchError and err.message == "timed out"
    stream = _BodyThenRaise(httpx.ReadTimeout("read"))
    err = _error_of(_failing(httpx.Response(200, stream=stream)))
    assert type(err) is TransientFetchError and err.message == "timed out reading body"
    stream = _BodyThenRaise(httpx.RemoteProtocolError("peer closed"))
    err = _error_of(_failing(httpx.Response(200, stream=stream)))
    assert type(err) is Truncated and err.message == "connection closed mid-body"
    # another failure while reading the body is a failed connection, not a truncation
    stream = _BodyThenRaise(httpx.ReadError("[Errno 104] Connection reset by peer"))
    err = _error_of(_failing(httpx.Response(200, stream=stream)))
    assert type(err) is TransientFetchError
    assert err.message == "connection failed: [Errno 104] Connection reset by peer"
    # a protocol error before any response is a failed connection too
    err = _error_of(_failing(httpx.RemoteProtocolError("bad status line")))
    assert type(err) is TransientFetchError and err.message == "connection failed: bad status line"


def test_a_timeout_well_before_the_deadline_is_not_blamed_on_it() -> None:
    # http.deadline of 1 s, and the connect times out at once: a plain timeout, not the deadline
    err = _error_of(_failing(httpx.ConnectTimeout("connect"), deadline=1.0))
    assert err.message == "timed out"


KOREAN = "<html><p>한국어 기사 본문입니다. 서울에서 열린 회의.</p></html>".encode("cp949")


@pytest.mark.parametrize(
    ("content_type", "sniffed"),
    [
        ("text/plain; charset=euc-kr", True),
        ("application/xml; charset=euc-kr", True),
        ("application/xhtml+xml; charset=euc-kr", True),
        (None, True),  # no Content-Type: read as HTML
        ("image/png", False),  # bytes that are not text keep the default, nothing is guessed
    ],
)
def test_the_charset_is_worked_out_for_text_types_only(
    content_type: str | None, sniffed: bool
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    f = _fetcher([_response(200, KOREAN, **headers)], [])
    page = f.get("https://x.test/a", allowed_hosts={"x.test"})
    expected = decode_html(KOREAN, "text/html; charset=euc-kr")[1] if sniffed else "utf-8"
    assert expected != "utf-8" or not sniffed
    assert page.encoding == expected


def test_a_retry_after_date_without_a_zone_is_utc_whatever_the_local_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # RFC 5322's "-0000" (no zone information) parses to a naive datetime: read it as UTC,
    # not as the machine's local time (Seoul is 9 hours off)
    monkeypatch.setenv("TZ", "Asia/Seoul")
    time.tzset()
    try:
        value = formatdate(1_000_030)  # "Mon, 12 Jan 1970 13:47:10 -0000"
        assert value.endswith("-0000")
        assert parse_retry_after(value, now=1_000_000) == 30.0
    finally:
        monkeypatch.undo()
        time.tzset()
