"""One HTTP/1.1 response written by hand to a ``http.server`` handler, shared by the health
endpoint (scraper/health.py) and the tests' fixture server.

Why not ``send_response``/``send_header``: those add ``Server`` and ``Date`` headers, log every
request, and send the head and the body in two writes; here the head and the body go out in one
``write`` (with TCP_NODELAY set by the handler, loopback requests stay fast), and the fixture
server can announce a ``Content-Length`` other than the body's to fake a truncated response.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler


def write_response(
    h: BaseHTTPRequestHandler,
    status: int,
    headers: dict[str, str],
    body: bytes,
    *,
    length: int | None = None,
) -> None:
    """Status line, ``Content-Length`` (the body's, or ``length``), ``headers``, then ``body``."""
    lines = [f"HTTP/1.1 {status} {h.responses.get(status, ('',))[0]}"]
    headers = {"Content-Length": str(len(body) if length is None else length), **headers}
    lines += [f"{k}: {v}" for k, v in headers.items()]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    h.wfile.write(head + body)
    h.wfile.flush()
