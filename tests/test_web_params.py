"""The reading room's query parameters (scraper/web/params.py), checked directly: what each
accepts at its limits, the 400 message a reader sees, and what a search carries on."""

from __future__ import annotations

import pytest
from starlette.exceptions import HTTPException

from scraper.web.params import MAX_PAGE, MAX_QUERY, SearchParams, positive_int, search_params

SOURCES = ("yonhap", "koreaherald")


def _refused(params: dict[str, str]) -> str:
    with pytest.raises(HTTPException) as info:
        search_params(params, SOURCES)
    assert info.value.status_code == 400
    return str(info.value.detail)


def test_defaults_when_nothing_is_given() -> None:
    assert search_params({}, SOURCES) == SearchParams(
        q="", source=None, since=None, until=None, section=None, page=1
    )


def test_every_filter_is_carried_on() -> None:
    p = search_params(
        {
            "q": " yoon ",
            "source": "yonhap",
            "since": "2023-04-01",
            "until": "2023-04-30",
            "section": " Politics ",
            "page": "2",
        },
        SOURCES,
    )
    assert p == SearchParams(
        q="yoon",
        source="yonhap",
        since="2023-04-01",
        until="2023-04-30",
        section="Politics",
        page=2,
    )
    assert p.filters() == {
        "source": "yonhap",
        "since": "2023-04-01",
        "until": "2023-04-30",
        "section": "Politics",
    }
    # the links to other pages of the same search: page 1 and empty values left out
    assert p.query(page=1) == {
        "q": "yoon",
        "source": "yonhap",
        "since": "2023-04-01",
        "until": "2023-04-30",
        "section": "Politics",
    }
    assert search_params({"q": "x", "section": "  "}, SOURCES).query(page=3) == {
        "q": "x",
        "page": 3,
    }


def test_the_limits_themselves_are_allowed() -> None:
    p = search_params({"q": "x" * MAX_QUERY, "section": "s" * 100, "page": str(MAX_PAGE)}, SOURCES)
    assert (len(p.q), p.section, p.page) == (MAX_QUERY, "s" * 100, MAX_PAGE)
    assert search_params({"page": "1"}, SOURCES).page == 1


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"page": "0"}, f"page must be a whole number from 1 to {MAX_PAGE}, not '0'"),
        (
            {"page": str(MAX_PAGE + 1)},
            f"page must be a whole number from 1 to {MAX_PAGE}, not '501'",
        ),
        ({"q": "x" * (MAX_QUERY + 1)}, f"the query is longer than {MAX_QUERY} characters"),
        ({"section": "s" * 101}, "section is longer than 100 characters"),
        ({"source": "bbc"}, "source must be one of yonhap, koreaherald, not 'bbc'"),
        # the CLI's wording names --since/--until; a web page names the parameter
        (
            {"since": "2023-02-30"},
            "since: no such date or time: day is out of range for month (since 2023-02-30)",
        ),
        (
            {"since": "2023-05-01", "until": "2023-04-01"},
            "since is after until: the range is empty (2023-05-01 .. 2023-04-01)",
        ),
    ],
)
def test_a_bad_value_is_refused_with_its_name_and_limit(
    params: dict[str, str], message: str
) -> None:
    assert _refused(params) == message


def test_a_number_without_an_upper_limit_says_or_more() -> None:
    assert positive_int({"n": "3"}, "n") == 3
    assert positive_int({"n": " "}, "n") is None
    with pytest.raises(HTTPException) as info:
        positive_int({"n": "0"}, "n")
    assert info.value.detail == "n must be a whole number from 1 or more, not '0'"
