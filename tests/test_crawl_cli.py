"""The crawl command's terminal output: a progress bar only on a terminal; its help text."""

from __future__ import annotations

import io

import pytest

from scraper.cli import build_parser
from scraper.cli.crawl_cmds import _progress_bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stderr", io.StringIO())
    with _progress_bar() as progress:
        assert progress is None  # not a terminal: log lines only
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    with _progress_bar() as progress:
        assert progress is not None
        progress("yonhap", 3, 10)
        progress("yonhap", 10, 10)
    assert "yonhap" in terminal.getvalue() and "10/10" in terminal.getvalue()


def test_help_describes_the_behaviour_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["crawl", "--help"])
    text = capsys.readouterr().out
    for phrase in ("robots.txt", "conditional GET", "Exit status", "scraper crawl --source"):
        assert phrase in text
