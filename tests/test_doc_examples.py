"""The docs cannot drift: every ``scraper …`` command in a code block of README.md and docs/
runs against the fixture mirror and must succeed; the docs cite only files in the repository.

An example that cannot run here (it serves until stopped, needs Docker, or shows an error on
purpose) sits in a code block preceded by ``<!-- doc-test: skip (reason) -->``. Real site URLs
need no rewriting: the test's config points every source's ``base_url`` at the mirror, so
``https://en.yna.co.kr/view/…`` is fetched from 127.0.0.1 (and a proxy that refuses everything
stops any request that would still leave the machine).

docs/cli.md is generated from ``--help``, where no marker fits: its examples run too, except
those of the commands in ``HELP_SKIP``.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import history_warcs
from tests.conftest import ROOT, write_config
from tests.mirror import build_mirror
from tests.server import FixtureServer, yonhap_fixture

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# help examples that cannot run in a test, by command
HELP_SKIP = {
    "serve": "serves until stopped",
    "web": "serves until stopped",
    "healthcheck": "asks a running service",
    "backfill": "asks a web archive over HTTP (tests/test_history_backfill_pywb.py runs it)",
    "retry": "needs failed URLs in the archive (tests/test_faults_outages.py runs it)",
}
SKIP = re.compile(r"<!--\s*doc-test:\s*skip\b(.*?)-->")
COMMAND = re.compile(r"^(?:\$ )?(?:\.venv/bin/)?scraper(?: |$)")
# files the examples read, created in the directory they run in


def _warc(native_id: str) -> bytes:
    """A WARC file as other tools write them (one gzip member per record): one Yonhap article
    captured in 2016, for the ``scraper import`` examples."""
    url = f"https://en.yna.co.kr/view/{native_id}"
    return gzip.compress(history_warcs.response(url, history_warcs.yonhap_page(native_id)))


def _wacz(native_id: str) -> bytes:
    """A WACZ holding one such WARC file under ``archive/``."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("archive/data.warc.gz", _warc(native_id))
        zf.writestr("datapackage.json", '{"profile": "data-package", "resources": []}')
    return out.getvalue()


INPUTS = {
    "saved-page.html": lambda: yonhap_fixture(15),
    "page.html": lambda: yonhap_fixture(15),
    "crawls/yonhap-2016.warc.gz": lambda: _warc("AEN20160301000100315"),
    "my-archive.wacz": lambda: _wacz("AEN20160302000200315"),
}


@dataclass(frozen=True)
class Example:
    doc: str
    line: int
    command: str
    skip: str | None  # the reason, for a block marked not to run


def examples(path: Path) -> list[Example]:
    """The ``scraper`` commands in the code blocks of one Markdown file, in order."""
    found: list[Example] = []
    fenced = False
    skip: str | None = None
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        raw = lines[i]
        i += 1
        if raw.lstrip().startswith("```"):
            fenced = not fenced
            continue
        code = fenced or raw.startswith("    ")
        if not code:
            if marker := SKIP.search(raw):
                skip = marker.group(1).strip(" ()") or "marked"
            elif raw.strip():
                skip = None  # prose ends the marked block
            continue
        text = raw.strip()
        if not COMMAND.match(text):
            continue
        start = i
        while text.endswith("\\") and i < len(lines):
            text = text[:-1].rstrip() + " " + lines[i].strip()
            i += 1
        text = text.removeprefix("$ ").removeprefix(".venv/bin/")
        if path.name == "cli.md":
            words = [w for w in text.split() if not w.startswith("-")]
            skip = next((HELP_SKIP[w] for w in words if w in HELP_SKIP), None)
        found.append(Example(path.name, start, text, skip))
    return found


ALL = [ex for doc in DOCS for ex in examples(doc)]


def test_the_docs_have_examples_to_run() -> None:
    assert len([ex for ex in ALL if ex.doc == "README.md" and not ex.skip]) >= 8
    assert all(ex.skip for ex in ALL if " serve" in ex.command), "serve runs until stopped"


@pytest.mark.parametrize("doc", [p.name for p in DOCS])
def test_command_examples_run_against_the_mirror(
    doc: str, server: FixtureServer, tmp_path: Path
) -> None:
    runnable = [ex for ex in ALL if ex.doc == doc and not ex.skip]
    if not runnable:
        return  # nothing to run in this file (its examples, if any, are marked)
    build_mirror(server)
    cfg = write_config(tmp_path, server.url)
    work = tmp_path / "cwd"
    work.mkdir()
    for name, content in INPUTS.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_bytes(content())
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPER_")}
    bin_dir = str(Path(sys.executable).parent)
    env.update(
        PATH=bin_dir + os.pathsep + env.get("PATH", ""),
        SCRAPER_CONFIG=str(cfg),
        # anything not bound for the mirror fails instead of reaching the internet
        HTTP_PROXY="http://127.0.0.1:9",
        HTTPS_PROXY="http://127.0.0.1:9",
        NO_PROXY="127.0.0.1,localhost",
    )
    bash = shutil.which("bash")
    assert bash is not None
    # the reading examples (status, stats, search, show) read an archive: crawl the mirror first
    seed = subprocess.run(
        [bash, "-c", "scraper -q crawl"], cwd=work, env=env, capture_output=True, text=True
    )
    assert seed.returncode == 0, seed.stderr
    for ex in runnable:
        result = subprocess.run(
            [bash, "-o", "pipefail", "-c", ex.command],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, (
            f"{ex.doc}:{ex.line}: `{ex.command}` exited {result.returncode}\n{result.stderr}"
        )
    if any(re.search(r"\b(fetch|crawl)\b", ex.command) for ex in runnable):
        assert server.hits, "the examples never reached the mirror"


def test_docs_cite_only_files_in_the_repository() -> None:
    cited = re.compile(r"DESIGN\.md|SELECTORS\.md|shared/")
    roots = [ROOT / d for d in ("scraper", "tests", "docs", "config", "bench")]
    files = [ROOT / "README.md"] + [p for r in roots for p in r.rglob("*") if p.is_file()]
    hits = []
    for path in files:
        if path.suffix not in {".py", ".md", ".toml", ".txt", ".yml", ".cfg"}:
            continue
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if cited.search(line) and path != Path(__file__):
                hits.append(f"{path.relative_to(ROOT)}:{n}")
    assert hits == []


def test_relative_links_in_the_docs_resolve() -> None:
    link = re.compile(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)")
    broken = [
        f"{doc.relative_to(ROOT)} → {target}"
        for doc in DOCS
        for target in link.findall(doc.read_text())
        if not (doc.parent / target).exists()
    ]
    assert broken == []


def _mirror(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.mirror", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_tour_mirror_takes_port_0_prints_its_url_and_stops_on_sigterm() -> None:
    proc = _mirror("--port", "0")
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = re.search(r"at (http://127\.0\.0\.1:\d+) ", first)
        assert url, first
        with urllib.request.urlopen(url.group(1) + "/RSS/news.xml", timeout=10) as response:
            assert b"AEN20230419000952325" in response.read()
        proc.terminate()
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.communicate()


def test_the_tour_mirror_on_a_busy_port_says_so_in_one_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = _mirror("--port", str(port))
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert err.startswith(f"error: cannot listen on 127.0.0.1:{port}: ") and err.count("\n") == 1
    assert "Traceback" not in err and out == ""
