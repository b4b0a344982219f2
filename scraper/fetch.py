"""HTTP with httpx: one GET with redirects kept inside the source's hosts, a size cap, charset
detection, and retries with backoff for what is worth retrying.

Layers, bottom up: ``_send_once`` (one exchange, raw bytes kept for the WARC) → ``_exchange``
(asks the ``gate``, if any, before every exchange: robots.txt, per-host pacing, host backoff;
see ``scraper.polite``) → ``Fetcher.get`` (redirects, retries, Retry-After).
The network is injected: pass ``transport=httpx.MockTransport(…)`` in tests.
"""

from __future__ import annotations

import logging
import random
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Protocol
from urllib.parse import urljoin, urlsplit

import httpx

from scraper import deadline as request_deadline
from scraper.config import HttpConfig
from scraper.dates import now_iso
from scraper.errors import (
    FetchError,
    HttpStatusError,
    RedirectRefused,
    TooLarge,
    TransientFetchError,
    Truncated,
)
from scraper.extract import decode_html
from scraper.models import FetchedPage

log = logging.getLogger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
SleepFn = Callable[[float], None]


class Gate(Protocol):
    """Consulted around every single HTTP exchange (each redirect hop and each retry).

    ``before`` may wait (pacing) or raise a ``FetchError`` (robots, a backed-off host); when it
    returns, ``after`` is always called once the exchange is over, with the status received
    (``None`` when no response came) and whether the host failed us (timeout, 429, 5xx)."""

    def before(self, url: str, source: str | None) -> None: ...

    def after(
        self, url: str, status: int | None, *, failed: bool, retry_after: float | None
    ) -> None: ...


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def _decode_body(raw: bytes, encoding: str | None, cap: int, url: str) -> bytes:
    """Undo Content-Encoding (gzip, deflate) with a cap against decompression bombs."""
    enc = (encoding or "").strip().lower()
    if enc in ("", "identity"):
        return raw
    if enc not in ("gzip", "x-gzip", "deflate"):
        raise FetchError(f"unsupported Content-Encoding {enc!r}", url=url)
    wbits = 16 + zlib.MAX_WBITS if enc in ("gzip", "x-gzip") else zlib.MAX_WBITS
    try:
        d = zlib.decompressobj(wbits)
        out = d.decompress(raw, cap + 1)
    except zlib.error:
        if enc != "deflate":
            raise Truncated("corrupt gzip body", url=url) from None
        try:  # some servers send raw deflate without the zlib header
            d = zlib.decompressobj(-zlib.MAX_WBITS)
            out = d.decompress(raw, cap + 1)
        except zlib.error as exc:
            raise Truncated("corrupt deflate body", url=url) from exc
    if len(out) > cap:
        raise TooLarge(f"decoded body larger than {cap} bytes", url=url)
    return out


class Fetcher:
    """A synchronous HTTP client for one process; thread-safe as httpx.Client is."""

    def __init__(
        self,
        config: HttpConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: SleepFn = time.sleep,
        rng: random.Random | None = None,
        gate: Gate | None = None,
    ) -> None:
        self.config = config
        self.sleep = sleep
        self.gate = gate
        self.rng = rng or random.Random()
        self.client = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(config.timeout),
            follow_redirects=False,
            headers={
                "User-Agent": config.user_agent,
                "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                "Accept-Language": "en",
                "Accept-Encoding": "gzip, deflate",
            },
        )
        request_deadline.install(self.client)  # http.deadline bounds the whole exchange

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one exchange -------------------------------------------------------------------------
    def _send_once(self, url: str, headers: dict[str, str], source: str | None) -> FetchedPage:
        # connect, headers and body together within http.deadline (scraper/deadline.py), so a
        # server trickling bytes cannot hold the request, nor the host's slot, any longer
        with request_deadline.within(self.config.deadline) as deadline:
            return self._send_within(url, headers, source, deadline)

    def _timed_out(self, what: str, deadline: float) -> str:
        if time.monotonic() >= deadline - 0.01:
            return f"no complete response within the {self.config.deadline:g}s deadline"
        return what

    def _transport_error(
        self,
        exc: httpx.TransportError,
        url: str,
        source: str | None,
        deadline: float,
        *,
        reading: bool,
    ) -> FetchError:
        """httpx's transport errors as ours, for the request (``reading=False``) or the body:
        all worth a retry; a connection closed mid-body is a truncation; a timeout at the
        deadline says so; a failed connection carries the OS's reason."""
        if isinstance(exc, httpx.TimeoutException):
            what = "timed out reading body" if reading else "timed out"
            return TransientFetchError(self._timed_out(what, deadline), url=url, source=source)
        if reading and isinstance(exc, httpx.RemoteProtocolError):
            return Truncated("connection closed mid-body", url=url, source=source)
        return TransientFetchError(f"connection failed: {_reason(exc)}", url=url, source=source)

    def _send_within(
        self, url: str, headers: dict[str, str], source: str | None, deadline: float
    ) -> FetchedPage:
        cap = self.config.max_bytes
        request = self.client.build_request("GET", url, headers=headers)
        try:
            response = self.client.send(request, stream=True)
        except httpx.TransportError as exc:
            raise self._transport_error(exc, url, source, deadline, reading=False) from exc
        try:
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > cap:
                raise TooLarge(
                    f"Content-Length {declared} over {cap} bytes", url=url, source=source
                )
            content_encoding = response.headers.get("content-encoding")
            try:
                raw = self._read_raw(response, cap, deadline, url, source)
            except httpx.StreamConsumed:
                # a transport that hands back an already-read response (some test doubles):
                # its content is decoded already
                raw, content_encoding = response.content, None
        except httpx.TransportError as exc:
            raise self._transport_error(exc, url, source, deadline, reading=True) from exc
        finally:
            response.close()
        if declared and declared.isdigit() and len(raw) < int(declared):
            raise Truncated(f"got {len(raw)} of {declared} bytes", url=url, source=source)
        body = _decode_body(raw, content_encoding, cap, url)
        content_type = response.headers.get("content-type")
        encoding = "utf-8"
        if response.status_code == 200 and _is_text(content_type):
            _, encoding = decode_html(body, content_type)
        log.debug("GET %s -> %s (%d bytes)", url, response.status_code, len(raw))
        return FetchedPage(
            url=url,
            final_url=str(response.url),
            status=response.status_code,
            http_version=response.http_version,
            request_headers=_raw_items(request.headers),
            response_headers=_raw_items(response.headers),
            raw_body=raw,
            body=body,
            encoding=encoding,
            fetched_at=now_iso(),
            reason=response.reason_phrase,
        )

    @staticmethod
    def _read_raw(
        response: httpx.Response, cap: int, deadline: float, url: str, source: str | None
    ) -> bytes:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_raw():
            size += len(chunk)
            if size > cap:
                raise TooLarge(f"body larger than {cap} bytes", url=url, source=source)
            if time.monotonic() > deadline:  # a transport without the deadline backend
                raise TransientFetchError("body too slow", url=url, source=source)
            chunks.append(chunk)
        return b"".join(chunks)

    def _exchange(self, url: str, headers: dict[str, str], source: str | None) -> FetchedPage:
        gate = self.gate
        if gate is None:
            return self._send_once(url, headers, source)
        gate.before(url, source)
        status: int | None = None
        failed = True
        retry_after: float | None = None
        try:
            page = self._send_once(url, headers, source)
            status = page.status
            failed = status == 429 or status >= 500  # the host is struggling
            retry_after = parse_retry_after(page.header("retry-after"))
            return page
        except FetchError as exc:
            failed = exc.retryable
            raise
        finally:
            gate.after(url, status, failed=failed, retry_after=retry_after)

    # -- redirects, retries -------------------------------------------------------------------
    def get(
        self,
        url: str,
        *,
        allowed_hosts: Iterable[str],
        source: str | None = None,
        headers: dict[str, str] | None = None,
        ok_statuses: frozenset[int] = frozenset({200, 304}),
    ) -> FetchedPage:
        """GET with retries; returns a page whose status is in ``ok_statuses`` or raises."""
        allowed = {h.lower() for h in allowed_hosts}
        attempt = 0
        while True:
            try:
                page = self._follow(url, allowed, source, headers or {})
                if page.status in ok_statuses:
                    return page
                raise HttpStatusError(
                    page.status,
                    url=page.final_url,
                    source=source,
                    retry_after=parse_retry_after(page.header("retry-after")),
                )
            except (TransientFetchError, HttpStatusError) as exc:
                if not exc.retryable or attempt >= self.config.max_retries:
                    raise
                delay = self._delay(attempt, getattr(exc, "retry_after", None))
                if delay is None:
                    raise
                log.info("retrying %s in %.1fs after %s (attempt %d)", url, delay, exc, attempt + 1)
                self.sleep(delay)
                attempt += 1

    def _delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Exponential backoff with jitter; Retry-After wins. ``None``: not worth waiting for."""
        if retry_after is not None:
            return retry_after if retry_after <= self.config.backoff_max else None
        base = self.config.backoff_base * (2**attempt)
        jittered: float = base * (0.5 + self.rng.random())
        return min(self.config.backoff_max, jittered)

    def _follow(
        self, url: str, allowed: set[str], source: str | None, headers: dict[str, str]
    ) -> FetchedPage:
        current = url
        hops: list[FetchedPage] = []  # kept for the WARC: every hop is evidence
        for _ in range(self.config.max_redirects + 1):
            page = self._exchange(current, headers, source)
            if page.status not in REDIRECT_STATUSES:
                return page if current == url else _with_origin(page, url, hops)
            location = page.header("location")
            if not location:
                return page
            target = urljoin(current, location)
            parts = urlsplit(target)
            if (
                parts.scheme not in ("http", "https")
                or (parts.hostname or "").lower() not in allowed
            ):
                raise RedirectRefused(
                    f"redirect to another host refused: {target}", url=url, source=source
                )
            log.debug("redirect %s -> %s", current, target)
            hops.append(page)
            current = target
        raise FetchError("too many redirects", url=url, source=source)


def _reason(exc: httpx.TransportError) -> str:
    """The OS's words for a failed connection ("[Errno 111] Connection refused", "[Errno -2]
    Name or service not known"), or the error's class name when httpx gives none."""
    text = str(exc).strip()
    return text or exc.__class__.__name__


def _with_origin(page: FetchedPage, original: str, hops: list[FetchedPage]) -> FetchedPage:
    return replace(page, url=original, redirects=tuple(hops))


def _raw_items(headers: httpx.Headers) -> tuple[tuple[str, str], ...]:
    """Header names as received (``multi_items`` would lowercase them) and values as bytes
    decoded 1:1 (latin-1), so the WARC can write back the same bytes."""
    return tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in headers.raw)


def _is_text(content_type: str | None) -> bool:
    ct = (content_type or "text/html").lower()
    return ct.startswith("text/") or "html" in ct or "xml" in ct
