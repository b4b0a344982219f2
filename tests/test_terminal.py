"""What a person sees in a real terminal: ``scraper crawl`` at default verbosity inside tmux
(a real pseudo-terminal, 120x40), its screen read back with ``tmux capture-pane``.

tmux is a test dependency (``make sysdeps`` installs it); without it these tests fail."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.mirror import build_mirror
from tests.server import FixtureServer

BAR = "━"  # rich's bar glyph


@pytest.fixture
def tmux() -> Iterator[list[str]]:
    """``tmux`` on a private socket (other tmux servers on the machine are left alone)."""
    exe = shutil.which("tmux")
    if exe is None:
        pytest.fail("tmux is not installed: run `make sysdeps` (apt-get install tmux)")
    command = [exe, "-L", f"scraper-test-{uuid.uuid4().hex[:8]}", "-f", os.devnull]
    yield command
    subprocess.run([*command, "kill-server"], capture_output=True, check=False)


def run_in_terminal(tmux: list[str], argv: list[str], timeout: float = 120) -> list[str]:
    """Run ``argv`` in a 120x40 tmux pane; return every line it left (history included)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPER_")}
    for name in ("COLUMNS", "LINES"):  # the pane's size must decide, not the test's
        env.pop(name, None)
    channel = f"done-{uuid.uuid4().hex[:8]}"
    tmux_cmd = " ".join(shlex.quote(part) for part in tmux)
    # when the command ends, signal the channel and keep the pane open for capture-pane
    script = f"{shlex.join(argv)}; {tmux_cmd} wait-for -S {channel}; read -r _"
    subprocess.run(
        [*tmux, "new-session", "-d", "-x", "120", "-y", "40", "bash", "--norc", "-c", script],
        check=True,
        env={**env, "TERM": "xterm-256color"},
    )
    subprocess.run([*tmux, "wait-for", channel], check=True, timeout=timeout)
    shown = subprocess.run(
        [*tmux, "capture-pane", "-p", "-S", "-", "-E", "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [line.rstrip() for line in shown.splitlines() if line.strip()]


def test_crawl_bar_stays_one_line_per_source_below_the_logs(
    server: FixtureServer, tmp_path: Path, tmux: list[str]
) -> None:
    build_mirror(server)
    cfg = write_config(tmp_path, server.url)
    exe = str(Path(sys.executable).parent / "scraper")
    lines = run_in_terminal(tmux, [exe, "--config", str(cfg), "crawl"])
    bars = [line for line in lines if BAR in line]
    logs = [line for line in lines if " INFO " in line]
    assert logs, lines  # default verbosity: the per-article log lines are shown
    # one finished bar per source, nothing left behind by redraws, no log text inside a bar
    assert len(bars) == 2, "\n".join(lines)
    assert {bar.split()[0] for bar in bars} == {"yonhap", "koreaherald"}
    assert bars[0].endswith("16/16") and bars[1].endswith("3/3"), bars
    assert not any(" INFO " in bar or " WARNING " in bar for bar in bars), bars
    # the bars sit below every log line, the summary lines below them
    last_log = max(i for i, line in enumerate(lines) if " INFO " in line)
    assert all(lines.index(bar) > last_log for bar in bars), "\n".join(lines)
    assert lines[-2].startswith("yonhap: discovered 16, new 16"), lines[-2:]
    assert lines[-1].startswith("koreaherald: discovered 3, new 3"), lines[-1:]
