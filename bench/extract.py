"""Extraction speed and body quality: ``python -m bench extract [--repeat N]``.

Every fixture page is parsed ``N`` times in one process by three contenders, side by side:
  - ``bare lexbor``: ``LexborHTMLParser(text)`` on the already-decoded page (the floor: no
    extraction at all);
  - ``ours``: ``scraper.extract.extract(raw_bytes)`` (decoding, checks, the layout parser,
    cleaning and the content hash included);
  - ``trafilatura``: ``trafilatura.bare_extraction(text, with_metadata=True)``;
  - ``ours, fallback path``: ``extract`` on the page with every class and id renamed
    (``tests/redesign.py``), so that no layout parser recognises it (issue 11).
Body F1 is the bag-of-words token F1 (as trafilatura's own evaluation) of each contender's body
against the golden record's body (tests/golden/), averaged over pages.
Targets (issue 3): ours ≥ 10x faster than trafilatura, and within 4x of the bare parse.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import trafilatura
from selectolax.lexbor import LexborHTMLParser

from scraper.extract import decode_html, extract
from tests.redesign import rename

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
GOLDEN = ROOT / "tests" / "golden"
_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True)
class Fixture:
    name: str
    raw: bytes
    text: str
    golden_body: str


@dataclass(frozen=True)
class Timing:
    mean_ms: float  # per page, over all passes
    median_ms: float  # per page, the median pass
    best_ms: float  # per page, the fastest pass


def load() -> list[Fixture]:
    fixtures = []
    for path in sorted(FIXTURES.glob("*/*.html")):
        golden = json.loads((GOLDEN / f"{path.stem}.json").read_text(encoding="utf-8"))
        raw = path.read_bytes()
        fixtures.append(Fixture(path.stem, raw, decode_html(raw)[0], golden["body"]))
    return fixtures


def time_interleaved(
    contenders: dict[str, Callable[[Fixture], object]], fixtures: list[Fixture], repeat: int
) -> dict[str, Timing]:
    """Time every contender on every page, page by page, in turn: on a shared machine a burst of
    load then hits all contenders alike instead of whichever happened to run during it."""
    for fixture in fixtures:  # warm-up: imports, caches, lazy compiles
        for run in contenders.values():
            run(fixture)
    passes: dict[str, list[float]] = {name: [] for name in contenders}
    clock = time.perf_counter
    for _ in range(repeat):
        spent = dict.fromkeys(contenders, 0.0)
        for fixture in fixtures:
            for name, run in contenders.items():
                start = clock()
                run(fixture)
                spent[name] += clock() - start
        for name, seconds in spent.items():
            passes[name].append(seconds / len(fixtures) * 1000)
    return {
        name: Timing(statistics.fmean(p), statistics.median(p), min(p))
        for name, p in passes.items()
    }


def token_f1(candidate: str, reference: str) -> float:
    cand = Counter(_TOKEN.findall(candidate.lower()))
    ref = Counter(_TOKEN.findall(reference.lower()))
    common = sum((cand & ref).values())
    if not common:
        return 0.0
    precision = common / sum(cand.values())
    recall = common / sum(ref.values())
    return 2 * precision * recall / (precision + recall)


def ours(fixture: Fixture) -> str:
    return extract(fixture.raw).body


def bare(fixture: Fixture) -> object:
    return LexborHTMLParser(fixture.text)


def trafilatura_text(fixture: Fixture) -> str:
    doc = trafilatura.bare_extraction(fixture.text, with_metadata=True)
    return (getattr(doc, "text", None) or "") if doc is not None else ""


_REDESIGNED: dict[str, bytes] = {}


def ours_fallback(fixture: Fixture) -> str:
    raw = _REDESIGNED.get(fixture.name)
    if raw is None:
        raw = _REDESIGNED[fixture.name] = rename(fixture.text).encode("utf-8")
    return extract(raw).body


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench extract", description=__doc__)
    parser.add_argument("--repeat", type=int, default=20, help="passes over all pages (20)")
    args = parser.parse_args(argv)
    fixtures = load()
    print(
        f"{len(fixtures)} fixture pages, {args.repeat} passes each; "
        f"Python {platform.python_version()}, {platform.machine()}, "
        f"trafilatura {trafilatura.__version__}"
    )
    timings = time_interleaved(
        {
            "bare lexbor parse": bare,
            "ours (extract)": ours,
            "trafilatura bare_extraction": trafilatura_text,
            "ours, fallback path": ours_fallback,
        },
        fixtures,
        args.repeat,
    )
    f1_ours = [token_f1(ours(f), f.golden_body) for f in fixtures]
    f1_traf = [token_f1(trafilatura_text(f), f.golden_body) for f in fixtures]
    f1 = {
        "ours (extract)": f1_ours,
        "ours, fallback path": [token_f1(ours_fallback(f), f.golden_body) for f in fixtures],
        "trafilatura bare_extraction": f1_traf,
    }
    print()
    print(
        "| contender | ms/page mean | ms/page median pass | ms/page best pass "
        "| body F1 mean | body F1 min |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, timing in timings.items():
        scores = f1.get(name)
        mean = f"{statistics.fmean(scores):.3f}" if scores else "-"
        low = f"{min(scores):.3f}" if scores else "-"
        print(
            f"| {name} | {timing.mean_ms:.2f} | {timing.median_ms:.2f} | {timing.best_ms:.2f} "
            f"| {mean} | {low} |"
        )
    ours_ms = timings["ours (extract)"].mean_ms
    speedup = timings["trafilatura bare_extraction"].mean_ms / ours_ms
    over_bare = ours_ms / timings["bare lexbor parse"].mean_ms
    print()
    print(f"ours vs trafilatura (means): {speedup:.1f}x faster (target >= 10x)")
    print(f"ours vs bare lexbor parse (means): {over_bare:.2f}x the time (target <= 4x)")
    worst = sorted(zip(f1_traf, (f.name for f in fixtures), strict=True))[:3]
    print("trafilatura's lowest F1 pages: " + ", ".join(f"{n} {s:.3f}" for s, n in worst))
