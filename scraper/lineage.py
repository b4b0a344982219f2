"""Story lineage: Yonhap publishes each update of a story under a new id, tagged "(LEAD)",
"(2nd LD)", "(3rd LD)" … in the title. Linked updates share one ``story_id``.

Id rule (evidence: tests/fixtures/yonhap): ``AEN`` + YYYYMMDD + 6-digit serial + 3-digit desk.
A first version's serial ends in ``00`` (AEN20230419003800320, fixture 11); its updates keep the
first four digits and count the last two from 51 (AEN20230419003851320 "(LEAD)", fixture 9;
AEN20230419000952325 "(2nd LD)", fixture 15, whose first version is serial 000900).

The story id is the first version's id (serial ``…00``), which can be computed before the
first version is stored. The guard: when stored articles share the day and serial prefix but
none of them reads like the same story (title or lead paragraph), the article is a story of
its own. Korea Herald articles (and anything else) are each their own story.
"""

from __future__ import annotations

import re
import sqlite3

from scraper.models import Article

_YONHAP_ID = re.compile(
    r"^yonhap:AEN(?P<day>\d{8})(?P<serial>\d{4})(?P<update>\d{2})(?P<desk>\d{3})$"
)
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


def root_id(article_id: str) -> str | None:
    """The id of the first version of a Yonhap story, or None for ids outside the rule."""
    m = _YONHAP_ID.match(article_id)
    if m is None:
        return None
    return f"yonhap:AEN{m['day']}{m['serial']}00{m['desk']}"


def story_id(db: sqlite3.Connection, article: Article) -> str:
    """The story ``article`` belongs to, judged against the stored articles of the same day
    and serial prefix (desk codes may differ between versions, so they are not compared)."""
    root = root_id(article.id)
    if root is None:
        return article.id
    prefix = root[: len("yonhap:AEN") + 12]
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
