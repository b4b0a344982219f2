"""Small messages of issue 12: a bare native id gets the full id suggested, "1 problem",
the service's start-up line names the archive's absolute path."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from scraper.cli import main
from scraper.config import load_config
from scraper.service import Service
from tests.archive_helpers import KH3, build_archive, yonhap
from tests.conftest import write_config
from tests.server import FixtureServer


@pytest.fixture
def built(tmp_path: Path) -> Path:
    return build_archive(tmp_path / "archive", (yonhap(15), KH3))


def test_show_without_the_source_prefix_suggests_the_id(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--archive", str(built), "show", "AEN20230419000952325"]) == 1
    err = capsys.readouterr().err
    assert "did you mean yonhap:AEN20230419000952325?" in err
    assert main(["--archive", str(built), "show", "AEN20990101000000000"]) == 1
    assert "ids start with the source, e.g. yonhap:" in capsys.readouterr().err
    assert main(["--archive", str(built), "show", "yonhap:AEN20230419000952325"]) == 0


def test_one_problem_is_singular(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    next((built / "articles").rglob("*.json")).unlink()
    assert main(["--archive", str(built), "check"]) == 1
    assert capsys.readouterr().out.splitlines()[-1].endswith(": 1 problem")


def test_the_start_up_line_names_the_archive_path(
    server: FixtureServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cfg = write_config(tmp_path, server.url)
    cfg.write_text(cfg.read_text().replace(f'"{tmp_path / "archive"}"', '"archive"'))
    monkeypatch.chdir(tmp_path)
    # the first runs are due at once; a server with no routes makes them short failures
    service = Service(load_config(cfg, env={}))
    with caplog.at_level(logging.INFO, logger="scraper"):
        service.start()
        service.shutdown()
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("serving ")]
    assert line.endswith(f"; archive at {os.path.join(tmp_path, 'archive')}"), line
