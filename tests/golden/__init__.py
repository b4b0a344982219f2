"""Golden records: one expected article JSON per fixture page (see ``regen.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scraper.extract import extract

GOLDEN_DIR = Path(__file__).parent
FIXTURES_DIR = GOLDEN_DIR.parent / "fixtures"
# fields that depend on when or how the page was fetched, not on the page
EXCLUDED_FIELDS = ("fetched_at", "parsed_at")  # stamps of when, not what


def fixture_pages() -> list[Path]:
    """Every fixture page; adding one (with its golden file) adds a test case."""
    return sorted(FIXTURES_DIR.glob("*/*.html"))


def golden_path(page: Path) -> Path:
    return GOLDEN_DIR / f"{page.stem}.json"


def record_for(page: Path) -> dict[str, Any]:
    """What the extractor makes of a fixture page, as the golden file stores it."""
    record = extract(page.read_bytes(), where=str(page)).to_dict()
    for name in EXCLUDED_FIELDS:
        record.pop(name, None)
    return record


def dump(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, indent=2) + "\n"
