"""Story lineage: some sources publish each update of a story under a new id (Yonhap tags
them "(LEAD)", "(2nd LD)", "(3rd LD)" … in the title). Linked updates share one ``story_id``.

Which ids belong together is the source's declaration (``Source.story_rule``: a pattern, the
first version's id and the id prefix every version shares; Yonhap's rule and its evidence are
in ``scraper/sources/yonhap.py``).

The story id is the first version's id, which can be computed before the first version is
stored. The guard: when stored articles share the rule's prefix but none of them reads like the
same story (title or lead paragraph), the article is a story of its own. Articles of a source
without a rule (and ids outside the rule) are each their own story.
"""

from __future__ import annotations

import re
import sqlite3

from scraper import sources
from scraper.models import Article

_TAG = re.compile(r"^\s*\((?:LEAD|\d+(?:st|nd|rd|th) LD|URGENT)\)\s*", re.I)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_STOP = frozenset(
    re.findall(
        r"\S+",
        "the a an of to in on for and or by with from at as is are was were be has have had its "
        "it that this says said will would after over korea korean",
    )
)
# Overlap coefficients (|A∩B| / min(|A|,|B|)) above which two texts are one story. A LEAD
# rewrites the headline but keeps its key nouns (Kim, satellite, launch …); unrelated stories
# filed the same minute share almost none.
TITLE_OVERLAP = 0.5
LEAD_OVERLAP = 0.4


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1}


def _overlap(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def _lead(body: str) -> str:
    return body.split("\n\n", 1)[0][:600]


def similar(title_a: str, body_a: str, title_b: str, body_b: str) -> bool:
    """Whether two versions read like the same story (headline or lead paragraph)."""
    if _overlap(_words(_TAG.sub("", title_a)), _words(_TAG.sub("", title_b))) >= TITLE_OVERLAP:
        return True
    return _overlap(_words(_lead(body_a)), _words(_lead(body_b))) >= LEAD_OVERLAP


def _family(article_id: str) -> tuple[str, str] | None:
    """(the story's first version's id, the id prefix all its versions share) by the rule of
    the article's source, or None for a source without a rule and ids outside it."""
    name, _, native = article_id.partition(":")
    for source in sources.SOURCES:
        if source.name != name or source.story_rule is None:
            continue
        rule = source.story_rule
        m = rule.pattern.match(native)
        if m is None:
            return None
        groups = m.groupdict()
        return (
            source.article_id(rule.root.format(**groups)),
            source.article_id(rule.family.format(**groups)),
        )
    return None


def root_id(article_id: str) -> str | None:
    """The id of the first version of a story, or None for ids outside their source's rule."""
    found = _family(article_id)
    return found[0] if found else None


def story_id(db: sqlite3.Connection, article: Article) -> str:
    """The story ``article`` belongs to, judged against the stored articles that share the
    rule's prefix (for Yonhap day and serial: desk codes may differ between versions)."""
    found = _family(article.id)
    if found is None:
        return article.id
    root, prefix = found
    rows = db.execute(
        "SELECT a.id, a.title, a.story_id, f.body FROM articles a "
        "LEFT JOIN articles_fts f ON f.rowid = a.rowid "
        "WHERE a.id >= ? AND a.id < ? AND a.id != ? ORDER BY a.first_fetched_at, a.id",
        (prefix, prefix + "~", article.id),
    ).fetchall()
    if not rows:
        return root
    for row in rows:
        if similar(article.title, article.body, row["title"], row["body"] or ""):
            return str(row["story_id"] or root)
    return article.id


def chain(db: sqlite3.Connection, story: str) -> list[sqlite3.Row]:
    """The stored versions of one story, oldest first."""
    return db.execute(
        "SELECT id, published_at, title FROM articles WHERE story_id = ? ORDER BY published_at, id",
        (story,),
    ).fetchall()
