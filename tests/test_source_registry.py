"""A source is one declaration plus one registry line (issue 12): register a throwaway source
(tests/throwaway_source.py) in this process and every command sees it: the config (file and
environment), crawl --source, fetch, status, stats, export --section, the test mirror.

The registry is the plain tuple ``scraper.sources.SOURCES``; every consumer reads it when it
runs, so replacing the tuple (here with ``monkeypatch``) is all registration takes. The CLI
runs in-process through ``scraper.cli.main``."""

from __future__ import annotations

import ast
import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from scraper import clean, sitetext, sources
from scraper.cli import main
from scraper.config import SourceConfig, load_config
from scraper.errors import ConfigError
from tests import throwaway_source
from tests.conftest import FIXTURES, write_config
from tests.mirror import build_mirror
from tests.server import FixtureServer, serve

STORIES = {
    1001: ("Assembly passes the budget", "2026-11-01T09:00:00+09:00"),
    1002: ("Minister resigns", "2026-11-02T10:30:00+09:00"),
    1003: ("Parties agree on a date", "2026-11-03T08:15:00+09:00"),
}


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "SOURCES", (*sources.SOURCES, throwaway_source.SOURCE))


@pytest.fixture
def fixtures(tmp_path: Path) -> Path:
    """The real fixture folders plus one for the throwaway source."""
    root = tmp_path / "fixtures"
    root.mkdir()
    for name in ("yonhap", "koreaherald"):
        (root / name).symlink_to(FIXTURES / name)
    (root / "testtimes").mkdir()
    for story, (title, published) in STORIES.items():
        html = throwaway_source.page(story, title, published)
        (root / "testtimes" / f"story_{story}.html").write_text(html)
    return root


@pytest.fixture
def mirror(fixtures: Path) -> Iterator[FixtureServer]:
    yield from serve(FixtureServer())


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_a_registered_source_is_seen_by_every_command(
    registered: None,
    fixtures: Path,
    mirror: FixtureServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    urls = build_mirror(mirror, fixtures)
    assert sorted(urls["testtimes"]) == [f"{throwaway_source.HOME}/story/{n}" for n in STORIES]
    cfg = write_config(tmp_path, mirror.url)
    assert "[sources.testtimes]" in cfg.read_text()

    config = load_config(cfg, env={})
    assert config.sources["testtimes"].base_url == mirror.url
    env = {"SCRAPER_TESTTIMES_ENABLED": "false", "SCRAPER_TESTTIMES_INTERVAL": "5m"}
    from_env = load_config(cfg, env=env).sources["testtimes"]
    assert not from_env.enabled and from_env.interval == 300
    (tmp_path / "empty.toml").write_text("")
    defaults = load_config(tmp_path / "empty.toml", env={})
    assert defaults.sources["testtimes"].base_url == throwaway_source.HOME

    # fetch: the real site's URL, fetched from the mirror
    status, out, err = cli(capsys, "--config", str(cfg), "fetch", urls["testtimes"][0])
    assert status == 0, err
    assert out.startswith("new\ttesttimes:1001\tAssembly passes the budget")

    status, out, err = cli(capsys, "--config", str(cfg), "crawl", "--source", "testtimes")
    assert status == 0, err
    assert out.startswith("testtimes: discovered 3, new 2,"), out
    assert "yonhap" not in out

    status, out, err = cli(capsys, "--config", str(cfg), "status", "--json")
    assert status == 0, err
    doc = json.loads(out)["sources"]
    assert set(doc) == {"yonhap", "koreaherald", "testtimes"}
    assert doc["testtimes"]["articles"]["total"] == 3

    status, out, err = cli(capsys, "--config", str(cfg), "stats", "--source", "testtimes", "--json")
    assert status == 0, err
    [row] = json.loads(out)
    assert row["source"] == "testtimes" and row["articles"] == 3
    assert row["parsers"] == {"testtimes/t1": 3}

    status, out, err = cli(capsys, "--config", str(cfg), "export", "--section", "pol")
    assert status == 0, err
    assert {json.loads(line)["id"] for line in out.splitlines()} == {
        f"testtimes:{n}" for n in STORIES
    }


def test_an_unregistered_source_is_refused_everywhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[archive]\npath = "{tmp_path / "a"}"\n[sources.testtimes]\n')
    with pytest.raises(ConfigError, match="unknown source 'testtimes'"):
        load_config(cfg, env={})
    with pytest.raises(SystemExit):
        main(["--config", str(cfg), "crawl", "--source", "testtimes"])
    assert "invalid choice: 'testtimes'" in capsys.readouterr().err
    status, _, err = cli(capsys, "fetch", f"{throwaway_source.HOME}/story/1001")
    assert status == 2 and "no configured source accepts this host" in err


def test_the_mirror_refuses_a_source_without_pages(
    registered: None, tmp_path: Path, mirror: FixtureServer
) -> None:
    with pytest.raises(ValueError, match="no article pages for source testtimes"):
        build_mirror(mirror, FIXTURES)


def test_the_shipped_config_and_the_docs_name_every_source() -> None:
    root = Path(__file__).resolve().parent.parent
    shipped = (root / "config" / "scraper.toml").read_text()
    guide = (root / "docs" / "sources.md").read_text()
    for name in sources.names():
        assert f"[sources.{name}]" in shipped, f"config/scraper.toml lacks [sources.{name}]"
        assert f"`{name}`" in guide, f"docs/sources.md does not name {name}"
        assert (FIXTURES / name / "PROVENANCE.md").exists(), f"no provenance for {name}"
    table = shipped.split(f"[sources.{sources.names()[0]}]", 1)[1].split("\n[", 1)[0]
    for field in dataclasses.fields(SourceConfig):
        if field.name != "name":  # the table's name
            assert re.search(rf"^{field.name} = ", table, re.M), f"{field.name} undocumented"


def test_shared_cleaning_learns_a_new_sources_site_name_e_mail_and_desk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The site-name suffix, the e-mail trailer and the desk words come from the declaration:
    nothing before registration, stripped after (the derived rules are rebuilt, not frozen)."""
    title = "Assembly passes the budget | The Test Times"
    last = "The vote was 180 to 95. kim.minsu@testtimes.example"
    assert sitetext.strip_site_name(title) == title
    assert clean.clean_paragraphs(["First paragraph of the story.", last]).body.endswith(last)
    assert clean.is_person("Testtimes Seoul")

    monkeypatch.setattr(sources, "SOURCES", (*sources.SOURCES, throwaway_source.SOURCE))
    assert sitetext.strip_site_name(title) == "Assembly passes the budget"
    cleaned = clean.clean_paragraphs(["First paragraph of the story.", last])
    assert cleaned.body == "First paragraph of the story.\n\nThe vote was 180 to 95."
    assert not clean.is_person("Testtimes Seoul")
    # the real sources' rules still hold alongside
    assert sitetext.strip_site_name("Yoon vows - The Korea Herald") == "Yoon vows"


# What names the two real sites in code outside scraper/sources/: their names, hosts and
# e-mail domains, their id prefix. Comments, docstrings and --help examples may mention them.
_SITE_WORDS = re.compile(r"yonhap|\byna\b|yna\.co|herald|\bAEN\b|AEN\{", re.I)


def _code_strings_and_names(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every identifier and string literal in ``path`` that is code, not prose
    for people: comments (the parser drops them), docstrings, help texts (an argparse
    help/epilog/description, a ``…_HELP``/``…EPILOG``/``…DESCRIPTION`` constant) and an "e.g."
    example in a message may name the real sources, on purpose."""
    tree = ast.parse(path.read_text())
    prose: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            prose.add(id(first.value))
        if isinstance(node, ast.keyword) and node.arg in {"help", "epilog", "description"}:
            prose.update(id(n) for n in ast.walk(node.value))
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id.endswith(("HELP", "EPILOG", "DESCRIPTION"))
            for t in node.targets
        ):
            prose.update(id(n) for n in ast.walk(node.value))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if id(node) in prose:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if "e.g. " not in node.value:
                found.append((node.lineno, node.value))
        elif isinstance(node, ast.Name):
            found.append((node.lineno, node.id))
        elif isinstance(node, ast.Attribute):
            found.append((node.lineno, node.attr))
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            found.append((node.lineno, node.name))
    return found


def test_no_code_outside_the_sources_names_a_site() -> None:
    root = Path(__file__).resolve().parent.parent / "scraper"
    offenders = [
        f"{path.relative_to(root.parent)}:{line}: {text[:60]!r}"
        for path in sorted(root.rglob("*.py"))
        if "sources" not in path.relative_to(root).parts[:1]
        for line, text in _code_strings_and_names(path)
        if _SITE_WORDS.search(text)
    ]
    assert offenders == [], "site knowledge outside scraper/sources/:\n" + "\n".join(offenders)
