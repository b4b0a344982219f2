"""Cleaning rules shared by the parsers: bylines, trailers, editor's notes, stray chrome lines.

``clean_paragraphs`` is the one entry point the parsers use; it runs, in order:
  1. whitespace is normalized and soft line breaks inside prose are joined (Yonhap wraps some
     sentences with ``<br>``);
  2. paragraphs and lines that are page chrome ("Back To Top", "MOST POPULAR", ad labels,
     newsletter pitches, printed date lines) and paragraphs that repeat an image caption are
     dropped;
  3. the lead is peeled: "(ATTN: …)" → ``editor_note``, "By …" → ``authors`` (also when one of
     them stands alone further down);
  4. the tail is peeled: "(END)", "(MORE)", the reporter's e-mail, a closing "By …" byline;
  5. consecutive duplicate paragraphs are dropped.
Every function is pure and idempotent: cleaning a cleaned body changes nothing (a property test
checks this).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from scraper import dates, sources
from scraper.dom import normalize_line
from scraper.sources.base import Source

# "By Kang Yoon-seung", "By Kim Eun-jung and Lee Minji", "By Park Han-na, Lee Jung-joo"
_BYLINE = re.compile(r"^\s*By\s+(?P<names>[A-Z][\w.'’ -]*(?:(?:,|\band\b|&)\s*[A-Z][\w.'’ -]*)*)$")
_NAME_SPLIT = re.compile(r"\s*(?:,|\band\b|&)\s*")
# "By Ock Hyun-ju (laeticia.ock@heraldcorp.com)": the address is not part of the name
_BYLINE_EMAIL = re.compile(r"\s*[(\[]?\s*[\w.+-]+@[\w-]+(?:\.[\w-]+)+\s*[)\]]?")
# a romanized person name as bylines print it: 2-5 capitalised words, hyphens allowed
# ("Yoo Jee-ho", "Kim Eun-jung", "Lee Minji")
_PERSON = re.compile(r"^[A-Z][a-zA-Z'’-]+(?:\s+[A-Z][a-zA-Z'’-]+){1,4}$")
# words that make a "name" a publisher, a desk or a job title rather than a person; each source
# adds its own (``Source.byline_words``: "yonhap", "herald"), see ``not_person_words``
_NOT_PERSON_WORDS = frozenset(
    (
        "korea", "news", "agency", "desk", "staff", "reporter", "reporters",
        "correspondent", "writer", "editor", "editors", "editorial", "bureau", "team", "newsroom",
        "service", "wire", "afp", "reuters", "ap", "corporation", "times", "daily", "press",
        "media", "online", "digital", "more", "articles", "article", "view", "all", "by",
        "contact", "email", "subscribe", "follow",
    )
)  # fmt: skip
_EDITOR_NOTE = re.compile(r"^\(ATTN:.*\)$", re.S)
_EMAIL = re.compile(r"^[(\[]?[\w.+-]+@[\w-]+(?:\.[\w-]+)+[)\]]?$")
_TRAILER_MARK = re.compile(r"^\((?:END|MORE)\)$")
_UPDATE_TAG = re.compile(r"^\((LEAD|URGENT|\d+(?:st|nd|rd|th) LD)\)", re.I)
# a line break inside a sentence: the line is prose (6+ words) and stops on a lower-case word or
# a comma; price lists ("Kakao 58,600 DN 400") end in digits and keep their breaks
_SOFT_BREAK_END = re.compile(r"[a-z,]$")
_SOFT_BREAK_MIN_WORDS = 6


def trailer_at_end(registry: tuple[Source, ...]) -> re.Pattern[str]:
    """The trailers printed at the end of a line of text: "… designated. (END)", "(MORE)", or a
    reporter's address at one of the registered sources' ``email_domains``."""
    alternatives = [r"\((?:END|MORE)\)"]
    domains = [re.escape(d) for source in registry for d in source.email_domains]
    if domains:
        alternatives.append(r"[\w.+-]+@(?:" + "|".join(domains) + ")")
    return re.compile(r"\s*(?:" + "|".join(alternatives) + r")\s*$")


def not_person_words(registry: tuple[Source, ...]) -> frozenset[str]:
    return _NOT_PERSON_WORDS | {w.casefold() for source in registry for w in source.byline_words}


# Lines a naive scrape leaves behind (docs/sources-evidence.md, "The boilerplate"): never
# article text when they are a whole paragraph.
CHROME_LINES = frozenset(
    s.casefold()
    for s in (
        "Back To Top",
        "MOST POPULAR",
        "LATEST NEWS",
        "subscribe",
        "Subscribe now",
        "피터빈트",
        "ADVERTISEMENT",
        "AD",
        "Related Articles",
        "Related News",
        "Keywords",
        "SHARE",
        "Share this article",
        "Print",
        "Font size",
        "Copy link",
        "Facebook",
        "Twitter",
        "KakaoTalk",
        "Youtube",
    )
)
_NEWSLETTER = re.compile(r"\bnewsletters?\b", re.I)
_PITCH = re.compile(r"\b(?:inbox|subscribe|sign up|sign-up)\b", re.I)
_PITCH_MAX_CHARS = 200
_COPYRIGHT = re.compile(r"^(?:\(C\)|©|copyright\b).{0,120}all rights reserved\.?$", re.I)
# a printed date line ("Published : Apr 19, 2023 - 15:51", "15:29 April 19, 2023"): what is left
# once the date and its labels are taken out must be nothing
_DATE_LABELS = re.compile(
    r"\b(?:Published|Updated|Posted|Modified|Last updated|All News)\b"
    r"|[A-Za-z]{3,9}\.?|\d+|[:.,/|·-]",
    re.I,
)
_DATE_LINE_MAX_CHARS = 90
# a byline or an editor's note on its own is one short line
_LOOSE_MAX_CHARS = 300


def is_person(name: str) -> bool:
    n = " ".join(name.split())
    if not _PERSON.match(n):
        return False
    not_person = sources.derived(not_person_words)
    return not any(word.casefold() in not_person for word in n.split())


def parse_byline(text: str) -> list[str] | None:
    """Romanized names from a "By …" line, or ``None`` if the line is not a byline."""
    line = " ".join(_BYLINE_EMAIL.sub("", text).split())
    m = _BYLINE.match(line)
    if not m:
        return None
    names = [n.strip(" .") for n in _NAME_SPLIT.split(m.group("names")) if n.strip(" .")]
    people = [n for n in names if is_person(n)]
    return people if people else None


def people(texts: Iterable[str]) -> tuple[str, ...]:
    """Person names from byline-ish strings ("By A and B", "A", "A (a@b.com)"), de-duplicated."""
    found: list[str] = []
    for text in texts:
        names = parse_byline(text)
        if names is None:
            bare = " ".join(_BYLINE_EMAIL.sub("", text).split())
            names = [bare] if is_person(bare) else []
        found.extend(n for n in names if n not in found)
    return tuple(found)


def is_editor_note(text: str) -> bool:
    return bool(_EDITOR_NOTE.match(text.strip()))


def update_tag(title: str) -> str | None:
    """Yonhap's update prefix: "(LEAD) …" → "LEAD", "(2nd LD) …" → "2nd LD"."""
    m = _UPDATE_TAG.match(title.strip())
    return m.group(1) if m else None


def is_chrome(text: str) -> bool:
    """A whole paragraph that is page furniture, not article text."""
    t = text.strip()
    if len(t) > _PITCH_MAX_CHARS:  # every chrome line is short: skip the checks for prose
        return False
    if t.casefold() in CHROME_LINES:
        return True
    if len(t) <= _PITCH_MAX_CHARS and _NEWSLETTER.search(t) and _PITCH.search(t):
        return True
    return bool(_COPYRIGHT.match(t)) or is_date_line(t)


def is_date_line(text: str) -> bool:
    """A line that is only a printed date, with or without its label: page chrome in a body."""
    t = text.strip()
    if len(t) > _DATE_LINE_MAX_CHARS or ":" not in t or dates.parse_human(t) is None:
        return False
    return not _DATE_LABELS.sub("", t).strip()


def join_soft_breaks(paragraph: str) -> str:
    """Join lines broken inside a sentence; keep line-structured items (price lists) as they are."""
    lines = paragraph.split("\n")
    if len(lines) < 2:
        return paragraph
    out = [lines[0]]
    for line in lines[1:]:
        prev = out[-1]
        if (
            _SOFT_BREAK_END.search(prev)
            and len(prev.split()) >= _SOFT_BREAK_MIN_WORDS
            and line[:1].isalnum()
        ):
            out[-1] = f"{prev} {line}"
        else:
            out.append(line)
    return "\n".join(out)


def _peel_tail_lines(lines: list[str], authors: list[str]) -> list[str]:
    lines = list(lines)
    trailer = sources.derived(trailer_at_end)
    while lines:
        last = lines[-1].strip()
        while (shorter := trailer.sub("", last)) != last:
            last = shorter
        if not last or _EMAIL.match(last) or _TRAILER_MARK.match(last) or is_chrome(last):
            lines.pop()
            continue
        if (names := parse_byline(last)) is not None:
            authors.extend(n for n in names if n not in authors)
            lines.pop()
            continue
        lines[-1] = last
        break
    return lines


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


@dataclass(frozen=True)
class Tail:
    authors: tuple[str, ...]
    paragraphs: tuple[str, ...]


def take_tail(paragraphs: list[str]) -> Tail:
    """Peel trailers off the end: "(END)", "(MORE)", the reporter's e-mail, a closing byline."""
    authors: list[str] = []
    rest = list(paragraphs)
    while rest:
        lines = _peel_tail_lines(rest[-1].split("\n"), authors)
        if lines:
            rest[-1] = "\n".join(lines)
            break
        rest.pop()
    return Tail(authors=tuple(authors), paragraphs=tuple(rest))


@dataclass(frozen=True)
class Cleaned:
    body: str
    authors: tuple[str, ...]
    editor_note: str | None


# everything ``normalize_line`` changes: Python's whitespace includes the separators
# \x1c-\x1f, \x85 and \u1680, \u2028, \u2029 (hypothesis found "\x1f0" kept as is, then
# normalized on a second pass, so cleaning was not idempotent)
_NOT_NORMAL = re.compile(
    r"[\t\r\f\v\x1c-\x1f\x85\u00a0\u1680\u2000-\u200d\u2028\u2029\u202f\u205f\u2060\u3000"
    r"\ufeff]|  | \n|\n |^ | $"
)


def _is_normal(text: str) -> bool:
    return _NOT_NORMAL.search(text) is None


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def clean_paragraphs(paragraphs: Iterable[str], captions: Iterable[str] = ()) -> Cleaned:
    """The whole cleaning pipeline (see the module docstring) over raw paragraph texts."""
    skip = {_key(c) for c in captions if c}
    kept = []
    for raw in paragraphs:
        # parsers hand over normalized text; only other input (trafilatura's) needs the work
        lines = raw.split("\n") if _is_normal(raw) else map(normalize_line, raw.split("\n"))
        p = join_soft_breaks("\n".join(line for line in lines if line and not is_chrome(line)))
        if p and _key(p) not in skip and not is_chrome(p):
            kept.append(p)
    lead = take_lead(kept)
    tail = take_tail(list(lead.paragraphs))
    loose_authors: list[str] = []
    loose_note: str | None = None
    while True:
        # a byline or an editor's note printed on its own further down (a redesign may put the
        # photo or the headline block first): metadata, never body text. Dropping one may bare
        # a new lead or tail, so peel again until nothing moves (cleaning stays idempotent).
        rest: list[str] = []
        for p in tail.paragraphs:
            if not p.startswith(("By", "(ATTN")) or len(p) > _LOOSE_MAX_CHARS:
                rest.append(p)  # the common case, kept cheap: a body paragraph
            elif (names := parse_byline(p)) is not None:
                loose_authors.extend(n for n in names if n not in loose_authors)
            elif "\n" not in p and is_editor_note(p):
                loose_note = loose_note or p.strip()
            else:
                rest.append(p)
        if len(rest) == len(tail.paragraphs):
            break
        loose_authors.extend(a for a in tail.authors if a not in loose_authors)
        again = take_lead(rest)
        loose_note = loose_note or again.editor_note
        loose_authors.extend(a for a in again.authors if a not in loose_authors)
        tail = take_tail(list(again.paragraphs))
        loose_authors.extend(a for a in tail.authors if a not in loose_authors)
    out: list[str] = []
    for p in tail.paragraphs:
        if not (out and out[-1] == p):
            out.append(p)
    authors = list(lead.authors)
    authors.extend(a for a in (*tail.authors, *loose_authors) if a not in authors)
    note = lead.editor_note or loose_note
    return Cleaned(body="\n\n".join(out), authors=tuple(authors), editor_note=note)
