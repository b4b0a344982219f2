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


def test_every_command_has_a_description_and_an_example_of_itself() -> None:
    """The one help test (the examples themselves are run by the tests of each command)."""
    parser = build_parser()
    commands = [
        (name, sub)
        for action in parser._actions
        if action.dest == "command"
        for name, sub in getattr(action, "choices", {}).items()
    ]
    assert len(commands) >= 14
    for name, sub in commands:
        assert "example" in (sub.epilog or ""), f"`scraper {name} --help` needs an example"
        examples = sub.format_help().split("\nexample", 1)[1]
        assert re.search(
            rf"^\s+scraper( --?\S+( [^-\s]\S*)?)* {re.escape(name)}\b", examples, re.M
        ), f"`scraper {name} --help` has no example of `scraper {name}`"
        assert len(sub.description or "") > 80, f"`scraper {name} --help` says too little"


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
