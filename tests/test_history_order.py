"""Captures that arrive older than what is stored (``scraper import``, ``backfill``): revisions
stay in capture-time order whatever order the captures come in (scraper/revorder.py), the
article file keeps the latest content, ``rebuild-index`` numbers them the same, and a kill -9
in the middle of a renumbering leaves an archive ``check --repair`` makes whole."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from warcio.archiveiterator import ArchiveIterator

from scraper.config import Config, load_config
from scraper.history.importer import Importer, Summary
from scraper.models import Article
from scraper.rebuild import rebuild_index
from scraper.revorder import Rev, Seen, in_time_order, place
from scraper.store import Archive
from scraper.warc import WarcStore
from scraper.web.app import create_app
from tests.archive_helpers import assert_consistent
from tests.conftest import ROOT, run_cli, write_config
from tests.history_warcs import response, write_warc, yonhap_page

URL = "https://en.yna.co.kr/view/AEN20160301000100315"
ID = "yonhap:AEN20160301000100315"
PAGE = yonhap_page("AEN20160301000100315")
_AT = PAGE.index(b"<p>", PAGE.index(b"story-news")) + 3
CHANGED = PAGE[:_AT] + b"An earlier version said otherwise. " + PAGE[_AT:]

# (capture time, page): X in 2016 and 2019, Y in 2021 and 2026. A comment makes each payload
# its own (an identical payload is a duplicate the importer skips), the content stays the same.
CAPTURES = {
    "2026": ("2026-03-01T09:00:00Z", PAGE),
    "2019": ("2019-03-01T09:00:00Z", CHANGED),
    "2016": ("2016-03-01T09:00:00Z", CHANGED),
    "2021": ("2021-03-01T09:00:00Z", PAGE),
}


def record(year: str) -> bytes:
    date, page = CAPTURES[year]
    return response(URL, page + f"<!-- captured {year} -->".encode(), date=date)


def iso(year: str) -> str:
    return CAPTURES[year][0].replace("Z", "+00:00")


def setup(folder: Path) -> Config:
    folder.mkdir(parents=True, exist_ok=True)
    return load_config(write_config(folder, "https://en.yna.co.kr"))


def run_import(config: Config, path: Path) -> Summary:
    with Archive(config.archive.path) as archive:
        warcs = WarcStore(config.archive.path)
        try:
            return Importer(config, archive, warcs).run([path])
        finally:
            warcs.close()


def import_years(config: Config, folder: Path, years: list[str]) -> list[Summary]:
    """Each capture from its own file, imported one after the other in the order given."""
    return [
        run_import(config, write_warc(folder / f"{n}-{year}.warc.gz", [record(year)]))
        for n, year in enumerate(years)
    ]


def revisions(root: Path, *, pointers: bool = False) -> list[tuple[object, ...]]:
    columns = "revision, content_hash, fetched_at, record"
    if pointers:
        columns += ", warc_file, warc_offset"
    with Archive(root) as archive:
        return [
            tuple(r)
            for r in archive.db.execute(
                f"SELECT {columns} FROM revisions WHERE article_id = ? ORDER BY revision", (ID,)
            )
        ]


def article_row(root: Path) -> tuple[object, ...]:
    with Archive(root) as archive:
        return tuple(
            archive.db.execute(
                "SELECT revision, content_hash, fetched_at, first_fetched_at, path, title, body "
                "FROM articles WHERE id = ?",
                (ID,),
            ).fetchone()
        )


def article_file(root: Path) -> bytes:
    (path,) = (root / "articles").rglob("*.json")
    return path.read_bytes()


def warc_date(root: Path, file: str, offset: int) -> str:
    with (root / file).open("rb") as fh:
        fh.seek(offset)
        for rec in ArchiveIterator(fh):
            assert rec.rec_type == "response"
            return str(rec.rec_headers.get_header("WARC-Date")).replace("Z", "+00:00")
    raise AssertionError(f"no record at {file}@{offset}")


def hashes(root: Path) -> dict[str, str]:
    """The content hash of X (the changed page) and Y (the page as it is now)."""
    with Archive(root) as archive:
        found = {
            json.loads(r[0])["body"].startswith("An earlier version"): r[1]
            for r in archive.db.execute("SELECT record, content_hash FROM revisions")
        }
    return {"X": found[True], "Y": found[False]}


# -- the pure placement ---------------------------------------------------------------------
def _rev(n: int, content: str, at: str) -> Rev:
    article = Article.from_dict(
        {
            "id": ID,
            "source": "yonhap",
            "url": URL,
            "title": "t",
            "subtitle": None,
            "published_at": None,
            "updated_at": None,
            "section": None,
            "language": "en",
            "editor_note": None,
            "body": content,
            "fetched_at": at,
            "content_hash": content,
            "parser": "test",
            "revision": n,
        }
    )
    return Rev(article, at, f"{content}.warc.gz", n)


def _shape(revs: tuple[Rev, ...] | None) -> list[tuple[int, str, str]] | None:
    if revs is None:
        return None
    return [(r.record.revision, r.record.content_hash, r.fetched_at) for r in revs]


def test_place_covers_each_case() -> None:
    a1, b3 = _rev(1, "A", "2020-01-01T00:00:00+00:00"), _rev(2, "B", "2023-01-01T00:00:00+00:00")
    stored = [a1, b3]
    # same as the revision in force: nothing changes
    assert place(stored, _rev(9, "A", "2021-01-01T00:00:00+00:00"), []) is None
    # older than all, same as the first: the first starts earlier; different: a new revision 1
    assert _shape(place(stored, _rev(9, "A", "2019-01-01T00:00:00+00:00"), [])) == [
        (1, "A", "2019-01-01T00:00:00+00:00"),
        (2, "B", "2023-01-01T00:00:00+00:00"),
    ]
    assert _shape(place(stored, _rev(9, "C", "2019-01-01T00:00:00+00:00"), [])) == [
        (1, "C", "2019-01-01T00:00:00+00:00"),
        (2, "A", "2020-01-01T00:00:00+00:00"),
        (3, "B", "2023-01-01T00:00:00+00:00"),
    ]
    # between: the next revision's content seen earlier merges into it; other content is new
    assert _shape(place(stored, _rev(9, "B", "2022-01-01T09:00:00+09:00"), [])) == [
        (1, "A", "2020-01-01T00:00:00+00:00"),
        (2, "B", "2022-01-01T09:00:00+09:00"),
    ]
    assert _shape(place(stored, _rev(9, "C", "2022-01-01T00:00:00+00:00"), [])) == [
        (1, "A", "2020-01-01T00:00:00+00:00"),
        (2, "C", "2022-01-01T00:00:00+00:00"),
        (3, "B", "2023-01-01T00:00:00+00:00"),
    ]
    # A was seen again after the new capture: A comes back at that capture, its own revision
    again = Seen("2022-06-01T00:00:00+00:00", "again.warc.gz", 7)
    split = place(stored, _rev(9, "B", "2021-01-01T00:00:00+00:00"), [again])
    assert _shape(split) == [
        (1, "A", "2020-01-01T00:00:00+00:00"),
        (2, "B", "2021-01-01T00:00:00+00:00"),
        (3, "A", "2022-06-01T00:00:00+00:00"),
        (4, "B", "2023-01-01T00:00:00+00:00"),
    ]
    assert split is not None and (split[2].warc_file, split[2].warc_offset) == ("again.warc.gz", 7)
    # times compare as instants: 2020-01-01T08:00+09:00 is before 2020-01-01T00:00Z
    early = place(stored, _rev(9, "C", "2020-01-01T08:00:00+09:00"), [])
    assert early is not None and early[0].record.content_hash == "C"


def test_in_time_order_sorts_and_merges_only_what_is_out_of_order() -> None:
    a, b = _rev(1, "A", "2020-01-01T00:00:00+00:00"), _rev(2, "B", "2023-01-01T00:00:00+00:00")
    late_a = _rev(3, "A", "2021-01-01T00:00:00+00:00")
    assert in_time_order([a, b]) is None
    assert in_time_order([a, _rev(2, "A", "2021-01-01T00:00:00+00:00")]) is None  # a reparse
    assert _shape(in_time_order([b, late_a, a])) == [
        (1, "A", "2020-01-01T00:00:00+00:00"),
        (2, "B", "2023-01-01T00:00:00+00:00"),
    ]


# -- import, in the order of the task: 2026, then 2019, 2016, 2021 ----------------------------
def test_older_captures_take_their_place_in_time(tmp_path: Path) -> None:
    config = setup(tmp_path)
    root = config.archive.path
    (first,) = import_years(config, tmp_path, ["2026"])
    copies = {p: p.read_bytes() for p in (root / "warc").rglob("*.warc.gz")}
    results = [first, *import_years(config, tmp_path, ["2019", "2016", "2021"])]
    # renumbering touches the index and the article file only: WARC bytes stay as written
    assert all(p.read_bytes()[: len(data)] == data for p, data in copies.items())
    statuses = [(s.new, s.revised, s.unchanged) for s in results]
    # 2019 is a new revision before 2026's; 2016 and 2021 only move first captures earlier
    assert statuses == [(1, 0, 0), (0, 1, 0), (0, 0, 1), (0, 0, 1)]
    h = hashes(root)
    assert [r[:3] for r in revisions(root)] == [
        (1, h["X"], iso("2016")),
        (2, h["Y"], iso("2021")),
    ]
    latest = json.loads(article_file(root))
    assert (latest["revision"], latest["content_hash"]) == (2, h["Y"])
    assert not latest["body"].startswith("An earlier version")  # the 2026 text
    assert latest["fetched_at"] == iso("2021")  # its revision's first capture
    revision, content_hash, fetched_at, first_fetched_at, *_ = article_row(root)
    assert (revision, content_hash) == (2, h["Y"])
    assert (fetched_at, first_fetched_at) == (iso("2026"), iso("2016"))
    # every revision points at the capture it starts with
    for number, _, at, _, file, offset in revisions(root, pointers=True):
        assert warc_date(root, str(file), int(str(offset))) == at, number
    with Archive(root) as archive:
        assert [a.revision for a in archive.revisions(ID)] == [1, 2]
        assert archive.db.execute("SELECT count(*) FROM captures").fetchone()[0] == 4
    assert_consistent(root)
    checked = run_cli("--archive", str(root), "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # the reading room: revisions in time order, the diff between them, each one's capture
    with TestClient(create_app(root, ("yonhap", "koreaherald"))) as client:
        data = client.get(f"/articles/{ID}/revisions.json").json()
        assert [(v["revision"], v["fetched_at"]) for v in data["revisions"]] == [
            (1, iso("2016")),
            (2, iso("2021")),
        ]
        assert [(c["from"], c["to"]) for c in data["changes"]] == [(1, 2)]
        assert data["changes"][0]["words_removed"] >= 4  # "An earlier version said otherwise."
        for number, year in ((1, "2016"), (2, "2021")):
            page = client.get(f"/articles/{ID}/capture", params={"revision": number})
            assert f"<!-- captured {year} -->" in page.text, number
    shown = run_cli("--archive", str(root), "show", ID, "--revisions")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.index(f"revision 1 ({iso('2016')})") < shown.stdout.index(
        f"revision 2 ({iso('2021')})"
    ), shown.stdout


def test_every_order_gives_the_same_archive_and_rebuild_agrees(tmp_path: Path) -> None:
    seen: dict[tuple[str, ...], tuple[object, ...]] = {}
    for order in itertools.permutations(CAPTURES):
        folder = tmp_path / "-".join(order)
        config = setup(folder)
        # one file, the records in this order
        run_import(config, write_warc(folder / "in.warc.gz", [record(y) for y in order]))
        root = config.archive.path
        seen[order] = (revisions(root), article_row(root), article_file(root))
    first = next(iter(seen.values()))
    assert all(state == first for state in seen.values()), [
        order for order, state in seen.items() if state != first
    ]
    assert [r[0] for r in first[0]] == [1, 2]  # type: ignore[index]
    # rebuild-index numbers from the WARC copies in capture order: the same revisions,
    # pointing at the same records, the same index row
    for order in (("2026", "2019", "2016", "2021"), ("2021", "2016", "2026", "2019")):
        root = tmp_path / "-".join(order) / "archive"
        before = (revisions(root, pointers=True), article_row(root))
        summary = rebuild_index(root)
        assert summary.disagreements == 0
        assert (revisions(root, pointers=True), article_row(root)) == before
        assert_consistent(root)


def test_old_content_seen_again_returns_as_its_own_revision(tmp_path: Path) -> None:
    """Y in 2016 and 2026, then X from 2019 arrives: Y, X, Y (three revisions), as the
    captures read in time order say; rebuild-index agrees."""
    config = setup(tmp_path)
    root = config.archive.path
    CAPTURES["2016y"] = ("2016-03-01T09:00:00Z", PAGE)
    try:
        import_years(config, tmp_path, ["2016y", "2026", "2019"])
    finally:
        del CAPTURES["2016y"]
    h = hashes(root)
    assert [r[:3] for r in revisions(root)] == [
        (1, h["Y"], "2016-03-01T09:00:00+00:00"),
        (2, h["X"], iso("2019")),
        (3, h["Y"], iso("2026")),
    ]
    latest = json.loads(article_file(root))
    assert (latest["revision"], latest["fetched_at"]) == (3, iso("2026"))
    before = (revisions(root, pointers=True), article_row(root))
    assert rebuild_index(root).disagreements == 0
    assert (revisions(root, pointers=True), article_row(root)) == before


def test_the_same_bytes_captured_earlier_move_the_first_capture_back(tmp_path: Path) -> None:
    """An identical payload captured later than the stored one is a duplicate (skipped); one
    captured earlier is stored, so the revision starts at it (as in the other order)."""
    config = setup(tmp_path)
    root = config.archive.path
    stored = response(URL, CHANGED, date=CAPTURES["2019"][0])
    later = response(URL, CHANGED, date="2020-03-01T09:00:00Z")
    earlier = response(URL, CHANGED, date=CAPTURES["2016"][0])
    run_import(config, write_warc(tmp_path / "stored.warc.gz", [stored]))
    again = run_import(config, write_warc(tmp_path / "again.warc.gz", [later, earlier]))
    assert (again.skipped["duplicate"], again.unchanged) == (1, 1)
    assert [r[2] for r in revisions(root)] == [iso("2016")]
    assert article_row(root)[2:4] == (iso("2019"), iso("2016"))


def test_check_repairs_revisions_saved_in_arrival_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Archives written before saves kept capture-time order numbered revisions as captures
    arrived: ``check`` reports it, ``check --repair`` sorts them, the file gets the latest."""
    config = setup(tmp_path)
    root = config.archive.path
    with monkeypatch.context() as patch:
        patch.setattr("scraper.revorder.older", lambda *_: False)  # every save as the newest
        import_years(config, tmp_path, ["2026", "2019", "2016", "2021"])
    h = hashes(root)
    assert [r[1:3] for r in revisions(root)] == [
        (h["Y"], iso("2026")),
        (h["X"], iso("2019")),
        (h["Y"], iso("2021")),
    ]
    found = run_cli("--archive", str(root), "check")
    assert found.returncode == 1
    assert f"problem: {ID}: revisions are not in capture-time order" in found.stdout
    repaired = run_cli("--archive", str(root), "check", "--repair")
    assert "renumbered (3 revisions → 2)" in repaired.stdout, repaired.stdout
    assert run_cli("--archive", str(root), "check").returncode == 0
    assert [r[:3] for r in revisions(root)] == [(1, h["X"], iso("2019")), (2, h["Y"], iso("2021"))]
    latest = json.loads(article_file(root))
    assert (latest["revision"], latest["content_hash"]) == (2, h["Y"])
    assert article_row(root)[:3] == (2, h["Y"], iso("2026"))
    assert_consistent(root)


# -- kill -9 while a renumbering is written ---------------------------------------------------
@pytest.mark.parametrize(
    ("point", "repair_first"), [("renumber", True), ("renumber", False), ("file", True)]
)
def test_kill_9_during_a_renumber_then_check_and_rerun(
    tmp_path: Path, point: str, repair_first: bool
) -> None:
    config = setup(tmp_path)
    root = config.archive.path
    cfg = tmp_path / "scraper.toml"
    assert cfg.exists()
    import_years(config, tmp_path, ["2026"])
    older = write_warc(tmp_path / "older.warc.gz", [record("2019")])
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPER_")}
    env["SCRAPER_CRASH_AT"] = point
    killed = subprocess.run(
        [str(Path(sys.executable).parent / "scraper"), "--config", str(cfg), "import", str(older)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -9, killed.stderr
    assert [r[0] for r in revisions(root)] == [1]  # the renumbering was not committed
    if repair_first:
        repaired = run_cli("--config", str(cfg), "check", "--repair")
        assert repaired.returncode in (0, 1), repaired.stdout + repaired.stderr
        clean = run_cli("--config", str(cfg), "check")
        assert clean.returncode == 0, repaired.stdout + clean.stdout + clean.stderr
    again = run_cli("--config", str(cfg), "import", str(older))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "revised 1" in again.stdout, again.stdout
    h = hashes(root)
    assert [r[:3] for r in revisions(root)] == [(1, h["X"], iso("2019")), (2, h["Y"], iso("2026"))]
    latest = json.loads(article_file(root))
    assert (latest["revision"], latest["content_hash"]) == (2, h["Y"])
    final = run_cli("--config", str(cfg), "check")
    assert final.returncode == 0, final.stdout + final.stderr
    assert_consistent(root)
