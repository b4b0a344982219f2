"""Reading WARC files back (scraper/warcread.py): one stored response by its offset, and a
file's scan (complete members, where they stop, the damaged tail)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scraper.errors import StoreError
from scraper.warcread import WarcScan, read_response, scan
from tests.history_warcs import response, revisit, write_warc

URI = "http://en.yna.co.kr/view/AEN20160301000100315"


def test_read_response_skips_records_before_the_response(tmp_path: Path) -> None:
    original = response(URI, b"<html>first</html>", date="2016-03-01T09:00:00Z")
    later = response(URI, b"<html>second</html>", date="2016-03-02T10:00:00Z")
    write_warc(tmp_path / "a.warc.gz", [revisit(original, date="2016-03-01T12:00:00Z"), later])
    stored = read_response(tmp_path, "a.warc.gz", 0)
    assert stored.body == b"<html>second</html>"
    assert stored.uri == URI and stored.date == "2016-03-02T10:00:00Z"
    assert stored.headers["Content-Type"] == "text/html; charset=utf-8"


def test_no_response_at_the_offset_names_the_file_and_offset(tmp_path: Path) -> None:
    original = response(URI, b"<html>first</html>")
    write_warc(tmp_path / "a.warc.gz", [revisit(original, date="2016-03-01T12:00:00Z")])
    with pytest.raises(StoreError) as info:
        read_response(tmp_path, "a.warc.gz", 0)
    assert str(info.value) == "no response record at that offset (a.warc.gz@0)"


def test_scan_of_an_empty_a_damaged_and_a_garbage_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.warc.gz"
    empty.write_bytes(b"")
    assert scan(empty) == WarcScan(size=0, good=0, members=())
    garbage = tmp_path / "garbage.warc.gz"
    garbage.write_bytes(b"not gzip at all")
    assert scan(garbage) == WarcScan(size=15, good=0, members=())
    damaged = write_warc(tmp_path / "d.warc.gz", [response(URI, b"a"), response(URI, b"b")])
    good = damaged.stat().st_size
    with damaged.open("ab") as fh:
        fh.write(b"\x1f\x8b\x08cut")  # the start of a member the writer never finished
    found = scan(damaged)
    assert (found.size, found.good, found.damaged) == (good + 6, good, 6)
    assert [m.warc_type for m in found.members] == ["response", "response"]
    assert found.members[0].offset == 0
    assert found.members[1].offset == found.members[0].length
