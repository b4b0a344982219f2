"""Simulated redesigns of the fixture pages, and how close the extracted records stay to the golden.

Each kind of redesign is a plain function ``str -> str`` over a page's HTML. The layout-specific
part (which element is the article body, which holds the headline block) is named here once per
layout: it only tells the generator *what to move*; the extractor never sees these selectors.

    .venv/bin/python -m tests.redesign      # the per-kind table (docs/extraction.md quotes it)

Kinds (each also runs with the original class names, ``…+keep``, which layout parsers may still
recognise):
  rename     every class and id value replaced by a meaningless one
  wrap       the body container wrapped in two new containers
  move       the body container moved to the end of ``<body>`` (after the footer)
  no_ldjson  ld+json scripts removed
  no_meta    ``<meta>`` tags removed (charset excepted)
  reorder    the headline block's elements in reverse order (date before headline, …)
  all        every change above at once
and, beyond the issue's list (EXTRA_KINDS):
  front      the body container moved to the start of ``<body>``, inside a new ``<main>``
  split      the body's paragraphs spread over two containers with an ad box between
  retag      article/header/section/main/aside/center all become ``<div>``
  no_title   no ``<title>``, no meta, no ld+json
  date_below the printed date line moved below the article, no meta, no ld+json
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from scraper.errors import ParseError
from scraper.extract import extract
from tests.golden import FIXTURES_DIR, GOLDEN_DIR, fixture_pages
from tests.test_extract_golden import JUNK

# layout → (body container, headline block, how many leading children of the block to reverse)
_LAYOUTS = {
    "yna": ("article.story-news", "header.title-article01", 0),
    "kh1": ("#articleText", "div.view_bg", 3),
    "kh2": ("div.news_text_area", "div.news_title_area", 0),
    "kh3": ("article.article-body", "div.article-head", 0),
}
# layout → the element that prints the date (and, on KH-3, the byline)
_DATE_LINES = {
    "yna": "header.title-article01 div.info-con",
    "kh1": "div.view_tit_byline_r",
    "kh2": "p.news_date",
    "kh3": "div.article-info",
}
JUNK_LINES = re.compile(r"^\s*(?:subscribe|keywords|share|print|by [A-Z][\w' -]+)\s*$", re.I | re.M)


def layout_of(page: Path) -> str:
    return page.stem.split("_")[0]


def _token(value: str, seed: str) -> str:
    return "r" + hashlib.sha1(f"{seed}:{value}".encode()).hexdigest()[:7]


def rename(html: str, seed: str = "1") -> str:
    """Every class and id value → a meaningless token (``for=``/``href="#…"`` follow ids)."""

    def classes(m: re.Match[str]) -> str:
        names = " ".join(_token(c, seed) for c in m.group(2).split())
        return f"{m.group(1)}{names}{m.group(3)}"

    html = re.sub(r'(\sclass=")([^"]*)(")', classes, html)
    html = re.sub(r"(\sclass=')([^']*)(')", classes, html)
    return re.sub(
        r'(\sid=")([^"]*)(")', lambda m: m.group(1) + _token(m.group(2), seed) + '"', html
    )


def _serialized(html: str) -> tuple[LexborHTMLParser, str]:
    tree = LexborHTMLParser(html)
    return tree, tree.html or ""


def _found(html: str, selector: str) -> tuple[str, LexborNode | None]:
    """The page as lexbor serializes it, and its first ``selector`` node (None when there is
    none or it is empty): what each transform below starts from."""
    tree, out = _serialized(html)
    node = tree.css_first(selector)
    return out, (node if node is not None and node.html else None)


def wrap(html: str, body_sel: str) -> str:
    out, node = _found(html, body_sel)
    if node is None:
        return out
    inner = node.html or ""  # not empty: _found checked
    return out.replace(
        inner, f'<div class="story"><section class="inner">{inner}</section></div>', 1
    )


def move(html: str, body_sel: str) -> str:
    out, node = _found(html, body_sel)
    if node is None:
        return out
    inner = node.html or ""  # not empty: _found checked
    out = out.replace(inner, "", 1)
    return out.replace("</body>", f'<div class="moved">{inner}</div></body>', 1)


def front(html: str, body_sel: str) -> str:
    """The body container moved to the very start of ``<body>`` (before the site header)."""
    out, node = _found(html, body_sel)
    if node is None:
        return out
    inner = node.html or ""  # not empty: _found checked
    out = out.replace(inner, "", 1)
    return re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + f"<main>{inner}</main>", out, count=1)


def split(html: str, body_sel: str) -> str:
    """The body's top-level blocks spread over two new containers with an ad box between."""
    out, node = _found(html, body_sel)
    if node is None:
        return out
    kids = [k.html or "" for k in node.iter(include_text=True)]
    if len([k for k in kids if k.strip()]) < 4:
        # one wrapper inside (KH-2's text box): split that one's children instead
        inner = next((k for k in node.iter(include_text=False) if k.tag == "div"), None)
        return split(html, body_sel + " > div") if inner is not None else out
    outer = node.html or ""  # not empty: _found checked
    open_end = outer.index(">") + 1
    close_start = outer.rindex("</")
    half = len(kids) // 2
    ad = '<div class="ad"><span>ADVERTISEMENT</span></div>'
    halves = (
        f'<div class="part">{"".join(kids[:half])}</div>{ad}'
        f'<div class="part">{"".join(kids[half:])}</div>'
    )
    return out.replace(outer, outer[:open_end] + halves + outer[close_start:], 1)


def retag(html: str) -> str:
    """Sectioning tags swapped for plain ones (article/header/section/main/aside → div)."""
    return re.sub(r"<(/?)(?:article|header|section|main|aside|center)\b", r"<\1div", html)


def no_title(html: str) -> str:
    """No ``<title>``, no meta, no ld+json: the printed headline is all there is."""
    return no_meta(no_ldjson(re.sub(r"<title>.*?</title>", "", html, flags=re.S)))


def date_below(html: str, date_sel: str) -> str:
    """The printed date line moved from the headline block to the end of ``<body>``; meta and
    ld+json removed too, so the printed line is the only clue."""
    tree, out = _serialized(no_meta(no_ldjson(html)))
    node = tree.css_first(date_sel)
    if node is None or not node.html:
        return out
    frag = node.html
    out = out.replace(frag, "", 1)
    return out.replace("</body>", f"<div>{frag}</div></body>", 1)


def no_ldjson(html: str) -> str:
    return re.sub(r"<script[^>]*application/ld\+json[^>]*>.*?</script>", "", html, flags=re.S)


def no_meta(html: str) -> str:
    return re.sub(r"<meta\b(?![^>]*charset)[^>]*>", "", html, flags=re.I)


def reorder(html: str, block_sel: str, first_n: int) -> str:
    out, block = _found(html, block_sel)
    if block is None:
        return out
    children = [c for c in block.iter(include_text=False) if c.html]
    if first_n:
        children = children[:first_n]
    if len(children) < 2:
        return out
    parts = [c.html or "" for c in children]
    start = out.find(parts[0])
    end = out.find(parts[-1], start) + len(parts[-1])
    if start < 0 or end < start:
        return out
    return out[:start] + "\n".join(reversed(parts)) + out[end:]


def variant(page: Path, kind: str, keep_names: bool = False) -> str:
    """The page's HTML after one kind of redesign (see the module docstring)."""
    html = page.read_text(encoding="utf-8")
    body_sel, block_sel, first_n = _LAYOUTS[layout_of(page)]
    steps: dict[str, Callable[[str], str]] = {
        "wrap": lambda h: wrap(h, body_sel),
        "move": lambda h: move(h, body_sel),
        "no_ldjson": no_ldjson,
        "no_meta": no_meta,
        "reorder": lambda h: reorder(h, block_sel, first_n),
        "front": lambda h: front(h, body_sel),
        "split": lambda h: split(h, body_sel),
        "retag": retag,
        "no_title": no_title,
        "date_below": lambda h: date_below(h, _DATE_LINES[layout_of(page)]),
    }
    core = ("wrap", "move", "no_ldjson", "no_meta", "reorder")
    chosen = list(core) if kind == "all" else [kind] if kind in steps else []
    for step in chosen:
        html = steps[step](html)
    if not keep_names:
        html = rename(html, seed=kind)
    return html


KINDS = ("rename", "wrap", "move", "no_ldjson", "no_meta", "reorder", "all")
# beyond the list, to keep the rules honest: moved first, split, retagged, no <title>
EXTRA_KINDS = ("front", "split", "retag", "no_title", "date_below")
PAGE_URLS = {
    "kh1_view_20230419000612": "https://www.koreaherald.com/view.php?ud=20230419000612",
    "kh2_view_20241106050843": "https://www.koreaherald.com/view.php?ud=20241106050843",
    "kh3_article_10604071": "https://www.koreaherald.com/article/10604071",
}


def golden(page: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN_DIR / f"{page.stem}.json").read_text("utf-8"))
    return data


def url_of(page: Path) -> str:
    return PAGE_URLS.get(page.stem) or golden(page)["url"]


def body_f1(got: str, want: str) -> float:
    a, b = Counter(got.split()), Counter(want.split())
    common = sum((a & b).values())
    if not common:
        return 0.0
    p, r = common / sum(a.values()), common / sum(b.values())
    return 2 * p * r / (p + r)


def junk_in(body: str, expected: dict[str, Any]) -> list[str]:
    found = [j for j in JUNK if j.casefold() in body.casefold() and j not in expected["body"]]
    found += [m.group(0).strip() for m in JUNK_LINES.finditer(body)]
    for image in expected["images"]:
        cap = image["caption"]
        if cap and len(cap) > 20 and cap in body and cap not in expected["body"]:
            found.append(f"caption: {cap[:40]}")
    return found


def same_minute(got: str | None, want: str | None) -> bool:
    from datetime import datetime

    if not got or not want:
        return got == want
    a, b = datetime.fromisoformat(got), datetime.fromisoformat(want)
    return abs((a - b).total_seconds()) < 60 and a.replace(second=0) == b.replace(second=0)


@dataclass(frozen=True)
class Outcome:
    page: str
    kind: str
    record: bool
    fallback: bool
    f1: float
    junk: tuple[str, ...]
    date_ok: bool
    title_ok: bool
    error: str | None = None


def run_one(page: Path, kind: str, keep_names: bool = False) -> Outcome:
    expected = golden(page)
    label = kind + ("+keep" if keep_names else "")
    try:
        article = extract(variant(page, kind, keep_names), url_of(page))
    except ParseError as exc:
        return Outcome(page.stem, label, False, False, 0.0, (), False, False, str(exc))
    return Outcome(
        page=page.stem,
        kind=label,
        record=True,
        fallback=article.parser.startswith("fallback/"),
        f1=body_f1(article.body, expected["body"]),
        junk=tuple(junk_in(article.body, expected)),
        date_ok=same_minute(article.published_at, expected["published_at"]),
        title_ok=" ".join(article.title.split()) == " ".join(expected["title"].split()),
    )


def run_all() -> list[Outcome]:
    return [
        run_one(page, kind, keep)
        for kind in (*KINDS, *EXTRA_KINDS)
        for keep in ((False, True) if kind != "rename" else (False,))
        for page in fixture_pages()
    ]


def table(outcomes: list[Outcome]) -> str:
    rows = ["| redesign | records | fallback | mean F1 | min F1 | junk | dates | titles |"]
    rows.append("|---|---|---|---|---|---|---|---|")
    kinds = list(dict.fromkeys(o.kind for o in outcomes))
    for kind in [*kinds, "total"]:
        group = [o for o in outcomes if kind in ("total", o.kind)]
        n = len(group)
        f1s = [o.f1 for o in group]
        rows.append(
            f"| {kind} | {sum(o.record for o in group)}/{n} | {sum(o.fallback for o in group)} "
            f"| {sum(f1s) / n:.4f} | {min(f1s):.4f} | {sum(bool(o.junk) for o in group)} "
            f"| {sum(o.date_ok for o in group)}/{n} | {sum(o.title_ok for o in group)}/{n} |"
        )
    return "\n".join(rows)


def main() -> int:
    outcomes = run_all()
    for o in outcomes:
        if not o.record or o.junk or o.f1 < 0.97 or not o.date_ok or not o.title_ok:
            print(
                f"{o.kind:16} {o.page:28} f1={o.f1:.3f} {o.junk} date={o.date_ok} "
                f"title={o.title_ok} {o.error or ''}",
                file=sys.stderr,
            )
    print(table(outcomes))
    return 0


if __name__ == "__main__":
    assert FIXTURES_DIR.is_dir()
    sys.exit(main())
