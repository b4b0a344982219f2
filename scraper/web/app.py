"""The reading room: a read-only Starlette app over one archive, pages rendered by Jinja2.

Archived text is untrusted. Templates autoescape everything; no archived HTML is rendered in our
pages: the raw capture has its own route, served with ``Content-Security-Policy: sandbox`` (no
script runs, the page gets an opaque origin) and ``default-src 'none'`` (it loads nothing from
anywhere). Every response carries ``SECURITY_HEADERS``. Unknown ids are a 404 page, bad
parameters a 400 page, and any other failure a 500 page without a traceback.

Routes: ``/``, ``/search``, ``/articles/<id>``, ``/articles/<id>/revisions``,
``/articles/<id>/capture``, ``/stories/<story_id>``, ``/healthz``; the search, article,
revisions and story pages also answer in JSON (``.json`` suffix or ``Accept: application/json``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from scraper.errors import StoreError
from scraper.web import pages
from scraper.web.cache import Refreshing
from scraper.web.params import SearchParams, positive_int, search_params
from scraper.web.readonly import Connections, ReadOnlyArchive
from scraper.web.timefmt import kst, utc

log = logging.getLogger(__name__)

# Our pages: nothing but our own stylesheet and inline SVG; no script at all; forms post
# nowhere else; not framable.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
# The archived page: sandboxed (no scripts, no forms, opaque origin) and cut off from the
# network (its images and scripts point at the live site; loading them would leak the reader).
CAPTURE_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
SECURITY_HEADERS = {
    "content-security-policy": PAGE_CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
# seconds: the overview scans the whole index (0.2-1.2 s at 100,000 articles), so it is
# recomputed in the background at most this often (scraper/web/cache.py)
OVERVIEW_TTL = 60.0
ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


class SecurityHeaders:
    """ASGI wrapper outside everything (errors included): adds ``SECURITY_HEADERS`` to every
    response that does not set the header itself (the capture route sets its own CSP)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def add_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.decode("latin-1").lower() for k, _ in headers}
                for key, value in SECURITY_HEADERS.items():
                    if key not in present:
                        headers.append((key.encode("latin-1"), value.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, add_headers)


def _highlight(snippet: str) -> Markup:
    """A search snippet, escaped, with the match marks turned into ``<mark>``."""
    text = str(escape(snippet))  # escaped first: only our own marks become tags
    return Markup(text.replace(pages.MARK_OPEN, "<mark>").replace(pages.MARK_CLOSE, "</mark>"))


def _plain_marks(snippet: str) -> str:
    return snippet.replace(pages.MARK_OPEN, "[").replace(pages.MARK_CLOSE, "]")


def _href(url: str) -> str:
    """Only web links from archived records become links; anything else (``javascript:``)
    is made inert."""
    return url if url.lower().startswith(("https://", "http://")) else "#"


def _paragraphs(body: str) -> list[str]:
    return [p for p in body.split("\n\n") if p.strip()]


def make_templates() -> Environment:
    env = Environment(
        loader=PackageLoader("scraper.web", "templates"),
        autoescape=True,  # every template, whatever its name
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        kst=kst,
        utc=utc,
        highlight=_highlight,
        paragraphs=_paragraphs,
        href=_href,
        path=lambda value: quote(str(value), safe=":"),
        num=lambda value: f"{value:,}",
        pct=lambda value: f"{value:.1%}",
    )
    return env


def wants_json(request: Request) -> bool:
    if request.url.path.endswith(".json"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _strip_json(value: str) -> str:
    return value[: -len(".json")] if value.endswith(".json") else value


def create_app(root: Path, sources: tuple[str, ...]) -> SecurityHeaders:
    """The reading room over the archive at ``root``; ``sources`` are the configured source
    names (shown on the overview even before they have articles)."""
    connections = Connections(root)
    templates = make_templates()
    stylesheet = resources.files("scraper.web").joinpath("static/style.css").read_bytes()

    def compute_overview() -> pages.Overview:
        # its own connection: it runs in the refresh thread as well as in request threads
        with ReadOnlyArchive(root) as archive:
            return pages.overview(archive, sources)

    overview = Refreshing(compute_overview, OVERVIEW_TTL)

    def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("q", "")
        html = templates.get_template(name).render(request_path=request.url.path, **context)
        return HTMLResponse(html, status_code=status)

    def not_found(what: str) -> HTTPException:
        return HTTPException(404, detail=what)

    def index(request: Request) -> Response:
        return render(
            request, "index.html", overview=overview.get(), chart_height=pages.CHART_HEIGHT
        )

    def search_route(request: Request) -> Response:
        params = search_params(request.query_params, sources)
        result = None
        if params.q:
            try:
                result = pages.search_page(
                    connections.get(),
                    params.q,
                    source=params.source,
                    since=params.since,
                    until=params.until,
                    section=params.section,
                    page=params.page,
                )
            except StoreError as exc:  # a query with no searchable word in it
                raise HTTPException(400, detail=f"bad search query: {exc.message}") from exc
        if wants_json(request):
            return JSONResponse(_search_json(params, result))
        return render(
            request,
            "search.html",
            params=params,
            q=params.q,
            result=result,
            sources=sources,
            page_url=lambda n: "/search?" + urlencode(params.query(page=n)),
        )

    def article_route(request: Request) -> Response:
        article_id = _strip_json(request.path_params["article_id"])
        found = pages.article_page(connections.get(), article_id)
        if found is None:
            raise not_found(f"no article with id {article_id}")
        if wants_json(request):
            return JSONResponse(
                {
                    **found.article.to_dict(),
                    "story_id": found.story_id,
                    "links": _links(article_id, found.story_id),
                }
            )
        return render(request, "article.html", page=found, a=found.article)

    def revisions_route(request: Request) -> Response:
        article_id = request.path_params["article_id"]
        found = pages.revisions_page(connections.get(), article_id)
        if found is None:
            raise not_found(f"no article with id {article_id}")
        if wants_json(request):
            return JSONResponse(
                {
                    "id": article_id,
                    "revisions": [
                        {
                            "revision": a.revision,
                            "fetched_at": a.fetched_at,
                            "content_hash": a.content_hash,
                            "title": a.title,
                        }
                        for a in found.history
                    ],
                    "changes": [
                        {
                            "from": c.old.revision,
                            "to": c.new.revision,
                            "words_added": c.title.added + c.body.added,
                            "words_removed": c.title.removed + c.body.removed,
                            "fields": [f.name for f in c.fields],
                        }
                        for c in found.changes
                    ],
                }
            )
        return render(request, "revisions.html", page=found, a=found.article)

    def capture_route(request: Request) -> Response:
        article_id = request.path_params["article_id"]
        revision = positive_int(request.query_params, "revision")
        archive = connections.get()
        if (
            archive.db.execute("SELECT 1 FROM articles WHERE id = ?", (article_id,)).fetchone()
            is None
        ):
            raise not_found(f"no article with id {article_id}")
        stored = pages.capture(archive, article_id, revision)
        if stored is None:
            raise not_found(f"no stored capture of {article_id}")
        content_type = stored.headers.get("Content-Type") or stored.headers.get("content-type")
        if not content_type or not content_type.lower().startswith("text/html"):
            content_type = "application/octet-stream"
        return Response(
            stored.body,
            media_type=content_type,
            headers={
                "content-security-policy": CAPTURE_CSP,
                "x-archived-url": quote(stored.uri, safe=":/?&=#%"),
                "x-archived-date": stored.date or "",
                "cache-control": "private, max-age=3600",
            },
        )

    def story_route(request: Request) -> Response:
        story_id = _strip_json(request.path_params["story_id"])
        found = pages.story_page(connections.get(), story_id)
        if found is None:
            raise not_found(f"no story with id {story_id}")
        if wants_json(request):
            return JSONResponse(
                {
                    "story_id": story_id,
                    "versions": [
                        {
                            "id": a.id,
                            "published_at": a.published_at,
                            "title": a.title,
                            "update_tag": a.update_tag,
                        }
                        for a in found.versions
                    ],
                }
            )
        return render(request, "story.html", page=found)

    def healthz(request: Request) -> Response:
        count = connections.get().count()
        return JSONResponse({"status": "ok", "articles": count})

    def style(request: Request) -> Response:
        return Response(
            stylesheet, media_type="text/css", headers={"cache-control": "max-age=3600"}
        )

    def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        detail = exc.detail if isinstance(exc, HTTPException) else "internal error"
        if status == 404 and detail == "Not Found":
            detail = f"nothing at {request.url.path}"
        if wants_json(request):
            return JSONResponse({"error": detail, "status": status}, status_code=status)
        return render(request, "error.html", status=status, code=status, detail=detail)

    def server_error(request: Request, exc: Exception) -> Response:
        log.error("%s %s failed: %r", request.method, request.url.path, exc, exc_info=exc)
        if isinstance(exc, StoreError):
            detail = f"the archive could not be read: {exc.message}"
        else:
            detail = "internal error (logged on the server)"
        return render(request, "error.html", status=500, code=500, detail=detail)

    routes = [
        Route("/", index),
        Route("/search", search_route),
        Route("/search.json", search_route),
        Route("/articles/{article_id}/revisions", revisions_route),
        Route("/articles/{article_id}/revisions.json", revisions_route),
        Route("/articles/{article_id}/capture", capture_route),
        Route("/articles/{article_id}", article_route),
        Route("/stories/{story_id}", story_route),
        Route("/healthz", healthz),
        Route("/static/style.css", style),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        overview.warm()
        yield
        overview.wait_idle(timeout=5)
        connections.close_all()

    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )
    return SecurityHeaders(app)


def _links(article_id: str, story_id: str) -> dict[str, str]:
    base = f"/articles/{quote(article_id, safe=':')}"
    return {
        "html": base,
        "revisions": base + "/revisions",
        "capture": base + "/capture",
        "story": f"/stories/{quote(story_id, safe=':')}",
    }


def _search_json(params: SearchParams, result: pages.SearchPage | None) -> dict[str, Any]:
    return {
        "query": params.q,
        "filters": params.filters(),
        "page": params.page,
        "pages": result.pages if result else 0,
        "total": result.total if result else 0,
        "total_is_lower_bound": result.capped if result else False,
        "hits": [
            {
                "id": h.id,
                "title": h.title,
                "published_at": h.published_at,
                "section": h.section,
                "snippet": _plain_marks(h.snippet),
                "score": h.score,
                "links": {"html": f"/articles/{quote(h.id, safe=':')}"},
            }
            for h in (result.hits if result else ())
        ],
    }
