"""The reading room's routes through Starlette's test client, over a real archive on disk:
every page type, JSON variants, 404 and 400 pages, escaping of hostile text, and the headers
(strict CSP everywhere, a sandbox on the raw capture)."""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from scraper.web.app import CAPTURE_CSP, PAGE_CSP, create_app
from scraper.web.readonly import Connections
from tests.web_helpers import (
    HOSTILE_ID,
    KH3_ID,
    NEW_WORDS,
    REVISED_ID,
    STORY_LEAD,
    STORY_ROOT,
    build_archive,
)

SOURCES = ("yonhap", "koreaherald")


@pytest.fixture(scope="module")
def archive_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_archive(tmp_path_factory.mktemp("web") / "archive")


@pytest.fixture(scope="module")
def client(archive_root: Path) -> Iterator[TestClient]:
    with TestClient(create_app(archive_root, SOURCES), raise_server_exceptions=False) as c:
        yield c


def _text(html: str) -> str:
    """What a reader sees, roughly: tags dropped, entities left as they are."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _assert_headers(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert headers["content-security-policy"] == PAGE_CSP
    assert headers["x-content-type-options"] == "nosniff"


def test_overview_shows_each_source_with_a_chart(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    _assert_headers(r)
    assert "5 articles in the archive" in _text(r.text)
    for source in SOURCES:
        assert f'id="source-{source}"' in r.text
    assert r.text.count("<svg") == 2
    assert "<title>2023-04-19: 3</title>" in r.text  # yonhap 11, 9, 12 that day
    assert "Days with none:" in r.text and "Fallback parser" in r.text
    assert "none recorded" in r.text  # no service run yet: said, not left blank


def test_search_ranks_highlights_counts_and_pages(client: TestClient) -> None:
    r = client.get("/search", params={"q": "deregulation"})
    assert r.status_code == 200
    _assert_headers(r)
    assert "2 matches" in _text(r.text)
    hits = re.findall(r'class="hit-title" href="/articles/([^"]+)"', r.text)
    assert set(hits) == {STORY_ROOT, STORY_LEAD}
    assert "<mark>deregulation</mark>" in r.text
    empty = client.get("/search", params={"q": "zeppelin"})
    assert empty.status_code == 200 and "No matches for" in empty.text
    filtered = client.get("/search", params={"q": "Korea", "source": "koreaherald"})
    assert re.findall(r'class="hit-title" href="/articles/([^"]+)"', filtered.text) == [KH3_ID]
    beyond = client.get("/search", params={"q": "deregulation", "page": "2"})
    assert beyond.status_code == 200 and "on page 2" in beyond.text
    dated = client.get("/search", params={"q": "deregulation", "since": "2023-04-20"})
    assert "No matches" in dated.text


def test_search_json(client: TestClient) -> None:
    r = client.get("/search.json", params={"q": "deregulation"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    data = r.json()
    assert data["total"] == 2 and len(data["hits"]) == 2
    assert "[deregulation]" in data["hits"][0]["snippet"]
    by_accept = client.get(
        "/search", params={"q": "deregulation"}, headers={"accept": "application/json"}
    )
    assert by_accept.json()["hits"] == data["hits"]


def test_article_page_shows_the_record_and_its_links(client: TestClient) -> None:
    r = client.get(f"/articles/{STORY_LEAD}")
    assert r.status_code == 200
    _assert_headers(r)
    text = _text(r.text)
    assert "(LEAD) S. Korea to support investments of 600 bln won via deregulation" in text
    assert "Kang Yoon-seung" in text
    assert "2023-04-19 14:53 KST (+09:00)" in text
    assert "(ATTN: UPDATES" in text
    assert "yonhap/y1" in text
    assert f'href="/stories/{STORY_ROOT}"' in r.text
    assert f'href="/articles/{STORY_LEAD}/revisions"' in r.text
    assert f'href="/articles/{STORY_LEAD}/capture"' in r.text
    assert "Story (2 versions)" in text
    data = client.get(f"/articles/{STORY_LEAD}.json").json()
    assert data["id"] == STORY_LEAD and data["story_id"] == STORY_ROOT
    assert data["links"]["capture"] == f"/articles/{STORY_LEAD}/capture"
    accepted = client.get(f"/articles/{KH3_ID}", headers={"accept": "application/json"})
    assert accepted.json()["source"] == "koreaherald"


def test_revisions_page_marks_the_changed_words(client: TestClient) -> None:
    r = client.get(f"/articles/{REVISED_ID}/revisions")
    assert r.status_code == 200
    _assert_headers(r)
    assert "Revision 1" in r.text and "Revision 2" in r.text
    assert "<del>vowed Wednesday</del>" in r.text
    assert "<ins>pledged Wednesday, in a corrected passage,</ins>" in r.text
    assert "2026-01-02 00:00:00 UTC" in r.text  # capture time of revision 2
    data = client.get(f"/articles/{REVISED_ID}/revisions.json").json()
    assert [v["revision"] for v in data["revisions"]] == [1, 2]
    assert data["changes"][0]["words_added"] >= 5
    article = client.get(f"/articles/{REVISED_ID}")
    assert NEW_WORDS.decode() in article.text  # the latest revision is the record shown


def test_story_page_lists_versions_oldest_first(client: TestClient) -> None:
    r = client.get(f"/stories/{STORY_ROOT}")
    assert r.status_code == 200
    _assert_headers(r)
    assert r.text.index(f"/articles/{STORY_ROOT}") < r.text.index(f"/articles/{STORY_LEAD}")
    assert "<ins>(LEAD) </ins>" in r.text
    assert "editor_note" in r.text
    data = client.get(f"/stories/{STORY_ROOT}.json").json()
    assert [v["id"] for v in data["versions"]] == [STORY_ROOT, STORY_LEAD]


def test_capture_is_the_raw_page_in_a_sandbox(client: TestClient) -> None:
    r = client.get(f"/articles/{HOSTILE_ID}/capture")
    assert r.status_code == 200
    assert r.headers["content-security-policy"] == CAPTURE_CSP
    assert r.headers["content-security-policy"].startswith("sandbox;")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-type"].startswith("text/html")
    assert b'<script>document.title = "pwned by the archived page";</script>' in r.content
    first = client.get(f"/articles/{REVISED_ID}/capture", params={"revision": "1"})
    latest = client.get(f"/articles/{REVISED_ID}/capture")
    assert NEW_WORDS not in first.content and NEW_WORDS in latest.content
    assert client.get(f"/articles/{REVISED_ID}/capture", params={"revision": "9"}).status_code == (
        404
    )


def test_hostile_text_is_escaped_everywhere(client: TestClient) -> None:
    pages = [
        client.get(f"/articles/{HOSTILE_ID}"),
        client.get("/search", params={"q": "Phosphorescent"}),
        client.get(f"/stories/{HOSTILE_ID}"),
        client.get(f"/articles/{HOSTILE_ID}/revisions"),
    ]
    for r in pages:
        assert r.status_code == 200, r.url
        assert "&lt;script&gt;" in r.text, r.url
        lowered = r.text.lower()
        assert "<script" not in lowered and "<img" not in lowered, r.url  # no live tag at all
    article = pages[0].text
    assert (
        "Hostile &lt;script&gt;alert(1)&lt;/script&gt; headline &lt;img src=x onerror=alert(2)&gt;"
        in (article)
    )
    assert "&lt;img src=x onerror=&#34;document.title=&#39;pwned&#39;&#34;&gt;" in article


def test_query_text_is_escaped_in_the_search_page(client: TestClient) -> None:
    r = client.get("/search", params={"q": '"><script>alert(1)</script>'})
    assert r.status_code == 200
    assert "<script>alert" not in r.text and "&lt;script&gt;alert(1)" in r.text


@pytest.mark.parametrize(
    "path",
    [
        "/articles/yonhap:AEN00000000000000000",
        "/articles/nothing-like-an-id",
        "/articles/yonhap:AEN00000000000000000/revisions",
        "/articles/yonhap:AEN00000000000000000/capture",
        "/stories/yonhap:AEN00000000000000000",
        "/no/such/page",
    ],
)
def test_unknown_ids_are_a_404_page(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404
    _assert_headers(r)
    assert "Not found" in r.text and "Traceback" not in r.text
    assert r.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"q": "x", "page": "-1"}, "page must be a whole number"),
        ({"q": "x", "page": "0"}, "page must be a whole number"),
        ({"q": "x", "page": "two"}, "page must be a whole number"),
        ({"q": "x", "page": "100000"}, "page must be a whole number"),
        ({"q": "x", "since": "2023-02-30"}, "since: no such date"),
        ({"q": "x", "until": "yesterday"}, "until takes YYYY-MM-DD"),
        ({"q": "x", "since": "2023-05-01", "until": "2023-04-01"}, "since is after until"),
        ({"q": "x", "source": "bbc"}, "source must be one of"),
        ({"q": "x" * 600}, "longer than"),
        ({"q": '"'}, "bad search query"),
    ],
)
def test_bad_parameters_are_a_400_page(
    client: TestClient, params: dict[str, str], says: str
) -> None:
    r = client.get("/search", params=params)
    assert r.status_code == 400
    _assert_headers(r)
    assert says in r.text and "Traceback" not in r.text


def test_bad_parameters_in_json_are_json(client: TestClient) -> None:
    r = client.get("/search.json", params={"q": "x", "page": "-1"})
    assert r.status_code == 400
    assert "page must be" in r.json()["error"]
    bad_revision = client.get(f"/articles/{HOSTILE_ID}/capture", params={"revision": "x"})
    assert bad_revision.status_code == 400


def test_healthz_and_stylesheet(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok", "articles": 5}
    _assert_headers(r)
    css = client.get("/static/style.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_no_write_endpoint(client: TestClient) -> None:
    for path in ("/", "/search", f"/articles/{HOSTILE_ID}"):
        assert client.post(path).status_code == 405


def test_failure_is_a_500_page_without_traceback(tmp_path: Path) -> None:
    root = build_archive(tmp_path / "archive")
    for path in (root / "articles").rglob("*.json"):
        path.write_text("{ not json")
    with TestClient(create_app(root, SOURCES), raise_server_exceptions=False) as c:
        r = c.get(f"/articles/{HOSTILE_ID}")
    assert r.status_code == 500
    _assert_headers(r)
    assert "could not be read" in r.text and "Traceback" not in r.text


def test_each_thread_gets_its_own_read_only_connection(archive_root: Path) -> None:
    """Starlette runs the endpoints in a thread pool; a SQLite connection is not to be shared
    between threads, so each thread opens its own, and keeps it."""
    connections = Connections(archive_root)
    barrier = threading.Barrier(3)

    def open_one(_: int) -> int:
        barrier.wait(5)  # all three threads alive at once: none is reused
        archive = connections.get()
        assert connections.get() is archive
        return id(archive)

    with ThreadPoolExecutor(max_workers=3) as pool:
        opened = set(pool.map(open_one, range(3)))
    assert len(opened) == 3
    archive = connections.get()
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        archive.db.execute("DELETE FROM articles")
    connections.close_all()
