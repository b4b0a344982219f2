"""Word-level differences between two texts, for inline highlighting.

The texts are cut into words, each with the whitespace that follows it (so a blank line stays a
paragraph break), and aligned on the words alone: a change of spacing is no change, as in
``content_hash``. ``difflib.SequenceMatcher`` runs without its "junk" heuristic, which would
treat frequent words such as "the" as noise in a long article and misalign it; whitespace is
not a token of its own because thousands of identical tokens make the matcher quadratic.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

_TOKEN = re.compile(r"\S+\s*|\s+")
CONTEXT = 30  # unchanged words shown either side of a change
SKIP_MIN = 10  # only runs longer than the context by this many words are cut


@dataclass(frozen=True)
class Segment:
    op: str  # "same" | "del" | "ins" | "skip" (unchanged words left out, see ``condensed``)
    text: str


@dataclass(frozen=True)
class WordDiff:
    segments: tuple[Segment, ...]
    added: int  # words
    removed: int

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)

    def condensed(self, context: int = CONTEXT) -> tuple[Segment, ...]:
        """The segments with long unchanged runs cut to ``context`` words either side of a
        change (a ``skip`` segment stands for the words left out), so a one-word correction
        in a long article is found at a glance."""
        out: list[Segment] = []
        last = len(self.segments) - 1
        for i, seg in enumerate(self.segments):
            tokens = _TOKEN.findall(seg.text)
            if seg.op != "same" or _words(tokens) <= 2 * context + SKIP_MIN:
                out.append(seg)
                continue
            head = _first_words(tokens, context) if i > 0 else []
            tail = _first_words(tokens[::-1], context)[::-1] if i < last else []
            if head:
                out.append(Segment("same", "".join(head)))
            out.append(Segment("skip", " … "))
            if tail:
                out.append(Segment("same", "".join(tail)))
        return tuple(out)


def _words(tokens: list[str]) -> int:
    return sum(1 for t in tokens if not t.isspace())


def _first_words(tokens: list[str], count: int) -> list[str]:
    taken: list[str] = []
    for token in tokens:
        if not token.isspace():
            if count == 0:
                break
            count -= 1
        taken.append(token)
    return taken


def word_diff(old: str, new: str) -> WordDiff:
    """``old`` → ``new`` as runs of unchanged, removed and inserted text (adjacent runs of one
    kind merged), with the number of words added and removed."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    matcher = difflib.SequenceMatcher(
        None, [t.strip() for t in a], [t.strip() for t in b], autojunk=False
    )
    out: list[Segment] = []
    added = removed = 0

    def emit(op: str, tokens: list[str]) -> None:
        if not tokens:
            return
        text = "".join(tokens)
        if out and out[-1].op == op:
            out[-1] = Segment(op, out[-1].text + text)
        else:
            out.append(Segment(op, text))

    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            emit("same", a[i1:i2])
            continue
        removed += _words(a[i1:i2])
        added += _words(b[j1:j2])
        if tag != "replace":
            emit("del", a[i1:i2])
            emit("ins", b[j1:j2])
            continue
        # "vowed" → "pledged", with the space after them unmarked and shown once
        old_text, new_text = "".join(a[i1:i2]), "".join(b[j1:j2])
        emit("del", [old_text.rstrip()])
        emit("ins", [new_text.rstrip()])
        emit("same", [new_text[len(new_text.rstrip()) :]])
    return WordDiff(segments=tuple(out), added=added, removed=removed)
