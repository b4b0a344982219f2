"""``make bench`` warns that it takes long, and a benchmark stopped with SIGTERM or Ctrl-C
removes its temporary archive (one left 2.5 GB in /tmp). Nothing is timed here."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_archive_benchmark_leaves_no_temp_files(
    tmp_path: Path, sig: signal.Signals
) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench", "archive"],
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(tmp)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        warning = proc.stdout.readline()
        assert warning.startswith("benchmarks take long: archive ~25 min"), warning
        building = proc.stdout.readline()
        assert building.startswith("building 100000 articles in "), building
        assert list(tmp.glob("bench-archive-*")), "the benchmark's archive is not in TMPDIR"
        proc.send_signal(sig)
        proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode != 0
    assert list(tmp.iterdir()) == []
