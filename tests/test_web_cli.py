"""``scraper web`` as a user runs it: refuses a path without an archive (creating nothing),
refuses a bad port, and the compose file runs it read-only over the service's archive."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import ROOT, run_cli


def test_no_archive_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nothing-here"
    result = run_cli("--archive", str(missing), "web", "--port", "0")
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: no archive at that path ({missing})"
    assert not missing.exists()


def test_bad_port_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("--archive", str(tmp_path), "web", "--port", "70000")
    assert result.returncode == 2
    assert "--port must be 0 to 65535" in result.stderr


def test_compose_runs_the_reading_room_read_only_on_the_archive_volume() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    web = text.split("\n  web:\n", 1)[1].split("\nvolumes:", 1)[0]
    assert '"scraper", "web"' in web
    assert re.search(r"^\s+- archive:/data:ro$", web, re.M)
    assert '"127.0.0.1:8080:8080"' in web  # published on the host's loopback only
