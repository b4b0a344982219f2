"""Regenerate the golden files for review: ``python -m tests.golden.regen [NAME…]``.

Writes ``tests/golden/<fixture>.json`` for every fixture page (or the named ones) and lists which
changed. It never commits: read the diff (``git diff tests/golden``) against the page before you
do. Exit status 1 if any page failed to extract.
"""

from __future__ import annotations

import sys

from scraper.errors import ParseError
from tests.golden import dump, fixture_pages, golden_path, record_for


def main(argv: list[str]) -> int:
    pages = [p for p in fixture_pages() if not argv or p.stem in argv]
    failed = 0
    for page in pages:
        target = golden_path(page)
        try:
            text = dump(record_for(page))
        except ParseError as exc:
            print(f"FAILED   {page.name}: {exc}", file=sys.stderr)
            failed += 1
            continue
        old = target.read_text(encoding="utf-8") if target.exists() else None
        status = "new" if old is None else ("same" if old == text else "CHANGED")
        if old != text:
            target.write_text(text, encoding="utf-8")
        print(f"{status:8} {target.relative_to(target.parents[2])}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
