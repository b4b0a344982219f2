"""Query parameters of the reading room, checked: a bad one is a 400 page naming it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from starlette.exceptions import HTTPException

from scraper import filters
from scraper.errors import UsageError

MAX_QUERY = 500  # characters; a longer "query" is not a search
MAX_PAGE = 500  # 500 pages of 20: past that, refine the query


def bad(message: str) -> HTTPException:
    return HTTPException(400, detail=message)


def positive_int(params: Mapping[str, str], name: str, *, maximum: int | None = None) -> int | None:
    """``name`` as an integer from 1 (to ``maximum``), None when absent or empty."""
    raw = params.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1 or (maximum is not None and int(raw) > maximum):
        upper = f" to {maximum}" if maximum is not None else " or more"
        raise bad(f"{name} must be a whole number from 1{upper}, not {raw!r}")
    return int(raw)


def date_window(params: Mapping[str, str]) -> tuple[str | None, str | None]:
    """``since`` and ``until`` as the CLI reads them (scraper/filters.py: a bare date is a KST
    day, a time may carry an offset), checked here so a bad one is a 400 page."""
    since = params.get("since", "").strip() or None
    until = params.get("until", "").strip() or None
    try:
        filters.Window.parse(since, until)
    except UsageError as exc:
        raise bad(str(exc).replace("--since", "since").replace("--until", "until")) from None
    return since, until


@dataclass(frozen=True)
class SearchParams:
    q: str
    source: str | None
    since: str | None
    until: str | None
    section: str | None
    page: int

    def filters(self) -> dict[str, str | None]:
        return {k: v for k, v in asdict(self).items() if k not in ("q", "page")}

    def query(self, **changes: object) -> dict[str, object]:
        """The query string of this search (empty values left out), with ``changes``."""
        values: dict[str, object] = {**asdict(self), **changes}
        if values.get("page") == 1:
            del values["page"]
        return {k: v for k, v in values.items() if v not in (None, "")}


def search_params(params: Mapping[str, str], sources: tuple[str, ...]) -> SearchParams:
    q = params.get("q", "").strip()
    if len(q) > MAX_QUERY:
        raise bad(f"the query is longer than {MAX_QUERY} characters")
    source = params.get("source", "").strip() or None
    if source is not None and source not in sources:
        raise bad(f"source must be one of {', '.join(sources)}, not {source!r}")
    section = params.get("section", "").strip() or None
    if section is not None and len(section) > 100:
        raise bad("section is longer than 100 characters")
    since, until = date_window(params)
    return SearchParams(
        q=q,
        source=source,
        since=since,
        until=until,
        section=section,
        page=positive_int(params, "page", maximum=MAX_PAGE) or 1,
    )
