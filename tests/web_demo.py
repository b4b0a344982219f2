"""The overview screenshot in docs/web.md: a demo archive whose articles spread over 90 days
(the fixture pages span 2019-2024, so the mirror's chart is nearly empty), then the page.

    .venv/bin/python -m tests.web_demo docs/img/overview.png
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from scraper.extract import extract
from scraper.models import content_hash
from scraper.store import Archive
from tests.archive_helpers import KH3, yonhap
from tests.test_web_browser import _driver

DAYS = 90


def build(root: Path) -> None:
    rng = random.Random(14)
    templates = [extract(yonhap(n).read_bytes()) for n in range(1, 17)]
    kh = extract(KH3.read_bytes())
    start = datetime.fromisoformat("2026-08-01T08:00:00+09:00")
    with Archive(root, durable=False) as archive:
        for day in range(DAYS):
            when = start + timedelta(days=day)
            weekend = when.weekday() >= 5
            outage = 40 <= day < 43  # a few days the crawler was down
            count = 0 if outage else rng.randint(2, 5) if weekend else rng.randint(6, 12)
            for i in range(count):
                t = templates[(day * 7 + i) % len(templates)]
                native = f"AEN{when:%Y%m%d}{i:04d}00{t.id[-3:]}"
                stamp = (when + timedelta(minutes=37 * i)).isoformat()
                parser = "fallback/trafilatura" if day > 80 and i % 4 == 0 else t.parser
                a = t.evolve(id=f"yonhap:{native}", published_at=stamp, parser=parser)
                archive.save(a.evolve(url=f"https://en.yna.co.kr/view/{native}"), None, a.url)
            if not outage and not weekend:
                k = kh.evolve(id=f"koreaherald:{10700000 + day}", published_at=when.isoformat())
                k = k.evolve(content_hash=content_hash(k.title + str(day), k.body))
                archive.save(k, None, f"https://www.koreaherald.com/article/{10700000 + day}")


def main(target: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "archive"
        build(root)
        exe = Path(sys.executable).parent / "scraper"
        proc = subprocess.Popen(
            [str(exe), "--archive", str(root), "web", "--port", "0"],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            match = re.search(r"http://\S+/", proc.stdout.readline())
            assert match
            driver = _driver(Path(tmp) / "profile")
            try:
                driver.set_window_size(1024, 1180)
                driver.get(match.group(0))
                driver.save_screenshot(target)
            finally:
                driver.quit()
        finally:
            proc.terminate()
            proc.wait(timeout=15)


if __name__ == "__main__":
    main(sys.argv[1])
