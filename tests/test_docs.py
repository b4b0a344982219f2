"""The docs say what the code does."""

from __future__ import annotations

import re
from pathlib import Path

from scraper.cli import build_parser
from scraper.cli.docgen import render
from scraper.config import load_config

ROOT = Path(__file__).resolve().parent.parent


def test_cli_reference_is_generated_from_help() -> None:
    assert (ROOT / "docs" / "cli.md").read_text() == render(), "run `make docs`"


def test_every_command_has_an_example() -> None:
    parser = build_parser()
    for action in parser._actions:
        for name, sub in getattr(action, "choices", {}).items() if action.dest == "command" else []:
            assert "example" in (sub.epilog or ""), f"`scraper {name} --help` needs an example"


def test_readme_gives_the_two_commands_and_the_tour() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    for command in ("scraper fetch", "scraper show", "scraper export"):
        assert command in readme


def test_shipped_config_documents_every_key() -> None:
    text = (ROOT / "config" / "scraper.toml").read_text()
    config = load_config(ROOT / "config" / "scraper.toml", env={})
    for section in ("archive", "http", "service"):
        for key in vars(getattr(config, section)):
            assert re.search(rf"^{key} = ", text, re.M), (
                f"{section}.{key} missing from the shipped config"
            )
