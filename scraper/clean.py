"""Cleaning rules shared by the parsers: bylines, trailers, editor's notes, stray chrome lines.

Each function is pure and idempotent: cleaning a cleaned body changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# "By Kang Yoon-seung", "By Kim Eun-jung and Lee Minji", "By Park Han-na, Lee Jung-joo"
_BYLINE = re.compile(r"^\s*By\s+(?P<names>[A-Z][\w.'’ -]*(?:(?:,|\band\b|&)\s*[A-Z][\w.'’ -]*)*)$")
_NAME_SPLIT = re.compile(r"\s*(?:,|\band\b|&)\s*")
# a romanized person name: 2-5 capitalised words, hyphens allowed ("Yoo Jee-ho", "Nam sung-wook")
_PERSON = re.compile(r"^[A-Z][a-zA-Z'’-]+(?:\s+[A-Za-z][a-zA-Z'’-]+){1,4}$")
_NOT_PEOPLE = {
    "yonhap",
    "yonhap news agency",
    "the korea herald",
    "korea herald",
    "herald corporation",
    "news desk",
    "staff",
    "staff reporter",
}
_EDITOR_NOTE = re.compile(r"^\(ATTN:.*\)$", re.S)
_EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(?:\.[\w-]+)+$")
_TRAILER_MARK = re.compile(r"^\((?:END|MORE)\)$")
_UPDATE_TAG = re.compile(r"^\((LEAD|URGENT|\d+(?:st|nd|rd|th) LD)\)", re.I)

# Lines a naive scrape leaves behind (seed document 000_a1a511f86d6d0ff7): never article text.
CHROME_LINES = frozenset(
    s.casefold()
    for s in (
        "Back To Top",
        "Back to top",
        "MOST POPULAR",
        "LATEST NEWS",
        "subscribe",
        "피터빈트",
        "ADVERTISEMENT",
        "Advertisement",
        "Related Articles",
        "Keywords",
        "SHARE",
        "Print",
        "Font size",
    )
)


def parse_byline(text: str) -> list[str] | None:
    """Romanized names from a "By …" line, or ``None`` if the line is not a byline."""
    line = " ".join(text.split())
    m = _BYLINE.match(line)
    if not m:
        return None
    names = [n.strip(" .") for n in _NAME_SPLIT.split(m.group("names")) if n.strip(" .")]
    people = [n for n in names if is_person(n)]
    return people if people else None


def is_person(name: str) -> bool:
    n = " ".join(name.split())
    return bool(_PERSON.match(n)) and n.casefold() not in _NOT_PEOPLE


def is_editor_note(text: str) -> bool:
    return bool(_EDITOR_NOTE.match(text.strip()))


def update_tag(title: str) -> str | None:
    """Yonhap's update prefix: "(LEAD) …" → "LEAD", "(2nd LD) …" → "2nd LD"."""
    m = _UPDATE_TAG.match(title.strip())
    return m.group(1) if m else None


def strip_trailer(paragraph: str) -> str:
    """Drop reporter e-mail and "(END)"/"(MORE)" lines at the end of a paragraph."""
    lines = paragraph.split("\n")
    while lines and (_EMAIL.match(lines[-1].strip()) or _TRAILER_MARK.match(lines[-1].strip())):
        lines.pop()
    # "… last sentence. (END)" on one line
    if lines:
        lines[-1] = re.sub(r"\s*\((?:END|MORE)\)\s*$", "", lines[-1])
        lines[-1] = re.sub(r"\s+[\w.+-]+@yna\.co\.kr\s*$", "", lines[-1])
    return "\n".join(line for line in lines if line.strip())


def is_chrome(text: str) -> bool:
    return text.strip().casefold() in CHROME_LINES


def join_paragraphs(paragraphs: list[str]) -> str:
    """Paragraphs → body: blank line between paragraphs, chrome lines and duplicates dropped."""
    out: list[str] = []
    for p in paragraphs:
        p = p.strip()
        if not p or is_chrome(p):
            continue
        if out and out[-1] == p:
            continue
        out.append(p)
    return "\n\n".join(out)


@dataclass(frozen=True)
class Lead:
    editor_note: str | None
    authors: tuple[str, ...]
    paragraphs: tuple[str, ...]


def take_lead(paragraphs: list[str]) -> Lead:
    """Peel "(ATTN: …)" notes and "By …" bylines off the start of the body.

    They may be separate paragraphs or lines of one paragraph (``<p>(ATTN: …)<br/>By …</p>``).
    """
    note: str | None = None
    authors: list[str] = []
    rest = list(paragraphs)
    while rest:
        lines = rest[0].split("\n")
        taken = 0
        for line in lines:
            if is_editor_note(line):
                note = line.strip()
            elif (names := parse_byline(line)) is not None:
                authors.extend(n for n in names if n not in authors)
            else:
                break
            taken += 1
        if taken == 0:
            break
        if taken == len(lines):
            rest.pop(0)
            continue
        rest[0] = "\n".join(lines[taken:])
        break
    return Lead(editor_note=note, authors=tuple(authors), paragraphs=tuple(rest))
