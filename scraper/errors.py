"""One exception tree for the whole package.

    ScraperError                      anything this package raises on purpose
    ├── ConfigError                   bad or unreadable configuration (exit 2)
    ├── UrlRefused                    no enabled source accepts the URL; nothing sent (exit 2)
    ├── UsageError                    a bad command-line value, e.g. an invalid --since (exit 2)
    ├── FetchError                    the network gave us nothing usable (carries url, source)
    │   ├── TransientFetchError       timeout, dropped connection: worth another try
    │   │   └── Truncated             fewer bytes than Content-Length promised
    │   ├── HttpStatusError           final non-2xx status (``.status``; retryable: 429, 5xx)
    │   ├── TooLarge                  the body passed ``http.max_bytes``
    │   ├── RedirectRefused           a redirect left the source's hosts
    │   ├── RobotsDisallowed          robots.txt forbids the URL
    │   ├── HostBackedOff             the host kept failing; no more requests to it this run
    │   ├── HostUnreachable           robots.txt could not be read (DNS, refused, 5xx): the
    │   │                             host is left alone this run; not the URL's fault
    │   └── Cancelled                 the run is stopping (service shutdown); not the URL's fault
    ├── ParseError                    the bytes are not an article we can extract (yet:
    │   │                             an empty or broken answer is retried in later runs)
    │   └── NotAnArticle              positively not an article (not HTML, not an article
    │                                 URL): settled for good, never retried by a crawl
    └── StoreError                    the archive could not be written or read
        ├── IndexDamaged              index.sqlite is damaged or missing (rebuild-index)
        └── DiskFull                  no space left while writing (``disk full while writing X``)

Third-party errors (httpx, sqlite3, OSError) are translated at the boundary with
``raise … from exc``; the CLI turns any ``ScraperError`` into one ``error: …`` line and an
exit status.
"""

from __future__ import annotations

import errno


class ScraperError(Exception):
    """Base class; ``where`` is the URL, file or source the error is about."""

    def __init__(self, message: str, *, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        return f"{self.message} ({self.where})" if self.where else self.message


class ConfigError(ScraperError):
    """The configuration is invalid or unreadable; ``problems`` lists each problem found."""

    def __init__(
        self, message: str, *, where: str | None = None, problems: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message, where=where)
        self.problems = problems or (message,)

    def lines(self) -> list[str]:
        """One line per problem, each naming the file (for ``error: …`` output)."""
        return [f"{p} ({self.where})" if self.where else p for p in self.problems]


class UrlRefused(ScraperError):
    """No enabled source accepts the URL; refused before any request."""


class UsageError(ScraperError):
    """A command-line value is invalid (a date that does not exist, an inverted range)."""


class FetchError(ScraperError):
    """A request failed; ``retryable`` says whether trying again may help."""

    retryable = False

    def __init__(self, message: str, *, url: str, source: str | None = None) -> None:
        super().__init__(message, where=url)
        self.url = url
        self.source = source


class TransientFetchError(FetchError):
    """A timeout, a dropped connection or similar: worth another try."""

    retryable = True


class HttpStatusError(FetchError):
    """The final response had a non-success status."""

    def __init__(
        self,
        status: int,
        *,
        url: str,
        source: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"HTTP {status}", url=url, source=source)
        self.status = status
        self.retry_after = retry_after
        self.retryable = status == 429 or status >= 500


class TooLarge(FetchError):
    """The response body exceeded the configured cap."""


class Truncated(TransientFetchError):
    """The connection closed before Content-Length bytes arrived."""


class RedirectRefused(FetchError):
    """A redirect pointed outside the source's hosts."""


class RobotsDisallowed(FetchError):
    """robots.txt disallows this URL for our user agent."""


class HostBackedOff(FetchError):
    """The host failed too many exchanges in a row; it is left alone for the rest of the run."""


class HostUnreachable(FetchError):
    """robots.txt of the host could not be read (no answer, or 5xx): nothing is sent to the
    host this run (RFC 9309), and its URLs wait for the next run without counting a failure."""


class Cancelled(FetchError):
    """A stop was requested while waiting to send; the URL is left for the next run."""


class ParseError(ScraperError):
    """The input is not an article any parser (or the fallback) can extract."""


class NotAnArticle(ParseError):
    """The page is positively not an article (another content type, a URL of no article form);
    fetching it again cannot help."""


class StoreError(ScraperError):
    """The archive could not be written or read."""


class IndexDamaged(StoreError):
    """``index.sqlite`` is damaged or missing; ``scraper rebuild-index`` rebuilds it from the
    WARC and article files."""


class DiskFull(StoreError):
    """The file system (or a quota) had no room left for a write; what was half written has
    been taken back, so the archive stays consistent and a run after freeing space resumes."""

    def __init__(self, what: str, *, where: str | None = None) -> None:
        super().__init__(f"disk full while writing {what}", where=where)


_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
_SQLITE_FULL = 13  # sqlite3.SQLITE_FULL: "database or disk is full"


def is_disk_full(exc: BaseException) -> bool:
    """Whether an ``OSError`` or ``sqlite3.Error`` says the disk (or quota) is full."""
    if isinstance(exc, OSError):
        return exc.errno in _NO_SPACE
    return getattr(exc, "sqlite_errorcode", None) == _SQLITE_FULL
