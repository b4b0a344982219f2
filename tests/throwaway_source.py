"""A third source that exists only in the tests, "The Test Times": one declaration and one
layout parser, nothing else. ``tests/test_source_registry.py`` adds it to the registry (the
one line a real source would add to ``scraper/sources/__init__.py``) and checks that every
command sees it. ``page()`` writes its article pages."""

from __future__ import annotations

import re

from scraper import dates
from scraper.dom import Page, normalize_line
from scraper.sources.base import Extracted, Source, UrlForm

HOME = "https://www.testtimes.example"


class T1:
    """The Test Times article page, layout T-1 (made up for the tests)."""

    name = "testtimes/t1"

    TITLE = "article.story h1"
    BODY = "article.story div.story-body > p"

    def recognises(self, page: Page) -> bool:
        return page.tree.css_first(self.TITLE) is not None

    def parse(self, page: Page) -> Extracted:
        title = page.tree.css_first(self.TITLE)
        paragraphs = [normalize_line(p.text()) for p in page.tree.css(self.BODY)]
        return Extracted(
            title=normalize_line(title.text()) if title is not None else "",
            body="\n\n".join(p for p in paragraphs if p),
            published_at=dates.parse_iso(page.meta.get("article:published_time")),
            section=page.meta.get("article:section"),
            canonical_url=page.canonical,
        )


SOURCE = Source(
    name="testtimes",
    hosts=("www.testtimes.example",),
    default_base_url=HOME,
    url_forms=(UrlForm(re.compile(r"^/story/(?P<id>\d{4,})(?:[/?#]|$)"), HOME + "/story/{id}"),),
    parsers=(T1(),),
    feeds=("/rss/all.xml", "/rss/politics.xml"),
    section_pages=("/politics",),
    sections=(("pol", "Politics"),),
    # what the shared cleaning must learn from this declaration alone
    site_names=("The Test Times",),
    email_domains=("testtimes.example",),
    byline_words=("testtimes",),
)


def page(story: int, title: str, published: str, section: str = "Politics") -> str:
    body = "".join(
        f"<p>{title}: paragraph {n} of a story that is long enough to be an article.</p>"
        for n in range(3)
    )
    return (
        "<html><head>"
        f'<link rel="canonical" href="{HOME}/story/{story}">'
        f'<meta property="article:published_time" content="{published}">'
        f'<meta property="article:section" content="{section}">'
        f"<title>{title} | The Test Times</title></head><body>"
        f'<article class="story"><h1>{title}</h1><div class="story-body">{body}</div></article>'
        "</body></html>"
    )
