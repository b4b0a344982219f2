from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from scraper import sources
from tests.server import FixtureServer, serve

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def server() -> Iterator[FixtureServer]:
    yield from serve(FixtureServer())


def write_config(tmp_path: Path, base_url: str, **overrides: str) -> Path:
    """A config pointing every registered source at ``base_url`` with politeness delays off."""
    extra = "\n".join(f"{k} = {v}" for k, v in overrides.items())
    tables = "".join(
        f'\n[sources.{name}]\nbase_url = "{base_url}"\ninterval = 600\nmin_delay = 0\n'
        for name in sources.names()
    )
    text = f"""
[archive]
path = "{tmp_path / "archive"}"

[http]
timeout = 5
max_retries = 2
backoff_base = 0.05
{extra}
{tables}"""
    path = tmp_path / "scraper.toml"
    path.write_text(text)
    return path


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a user runs it (a real process)."""
    exe = Path(sys.executable).parent / "scraper"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPER_")}
    return subprocess.run(
        [str(exe), *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
