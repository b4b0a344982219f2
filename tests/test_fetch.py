"""``Fetcher`` with ``httpx.MockTransport``: retries, Retry-After, truncation, the gate hook."""

from __future__ import annotations

import random
from email.utils import formatdate

import httpx
import pytest

from scraper.config import HttpConfig
from scraper.errors import HttpStatusError, RedirectRefused
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
