"""Property tests: whatever bytes come in, ``extract`` returns an article or raises ``ParseError``
(never another exception), and an article it returns holds: a title and a body, no junk line
(the ones the cleaner exists to drop), a body that cleaning leaves as it is, and an id that is
the one its URL names. The cleaning pipeline is idempotent."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scraper import clean
from scraper.errors import ParseError
from scraper.extract import extract
from scraper.models import Article
from scraper.sources import by_name

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("*/*.html"))
PAGES = [p.read_bytes() for p in FIXTURES]
ARTICLE_URL = "https://en.yna.co.kr/view/AEN20230419005000320"
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# lines that are never article text: sign-offs, site chrome, newsletter pitches, editor notes
JUNK = (
    "(ATTN: ADDS more details in paras 3-4)",
    "mlee@yna.co.kr",
    "(END)",
    "(MORE)",
    "Back To Top",
    "MOST POPULAR",
    "Get The Korea Herald's newsletter in your inbox every morning.",
)


def junk_lines(body: str) -> list[str]:
    return [line for line in body.splitlines() if line.strip() in JUNK]


def extract_or_parse_error(data: bytes | str, url: str | None) -> None:
    try:
        article = extract(data, url)
    except ParseError as exc:
        assert str(exc)
        return
    assert isinstance(article, Article)
    assert article.title.strip() and len(article.body) >= 40 and article.body.strip()
    assert article.id.startswith(f"{article.source}:")
    assert junk_lines(article.body) == []
    # the body is already clean: cleaning it again changes nothing
    assert clean.clean_paragraphs(article.body.split("\n\n")).body == article.body
    # the id is the one the article's URL names
    source = by_name(article.source)
    native = source.native_id(article.url)
    assert native is not None and article.id == source.article_id(native), article.url


@SETTINGS
@given(data=st.binary(max_size=4096), with_url=st.booleans())
def test_any_bytes(data: bytes, with_url: bool) -> None:
    extract_or_parse_error(data, ARTICLE_URL if with_url else None)


@SETTINGS
@given(
    text=st.text(
        alphabet=st.sampled_from(list("<>/=\"' abcdpmetahlbrdiv\n&;#x0123(END)@"))
        | st.characters(),
        max_size=2000,
    )
)
def test_any_markup_like_text(text: str) -> None:
    extract_or_parse_error("<html><body><p>" + text, ARTICLE_URL)


@st.composite
def mutated_page(draw: st.DrawFn) -> bytes:
    """A fixture page with a few random edits: cut, insert, duplicate or truncate."""
    data = bytearray(draw(st.sampled_from(PAGES)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(("cut", "insert", "dup", "truncate")))
        at = draw(st.integers(0, len(data)))
        if kind == "cut":
            del data[at : at + draw(st.integers(1, 5000))]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "dup":
            data[at:at] = data[at : at + draw(st.integers(1, 3000))]
        else:
            del data[at:]
    return bytes(data)


@SETTINGS
@given(data=mutated_page(), with_url=st.booleans())
def test_mutated_fixture_pages(data: bytes, with_url: bool) -> None:
    extract_or_parse_error(data, ARTICLE_URL if with_url else None)


# lines the cleaner acts on, mixed with ordinary prose, so examples hit every rule
LINES = st.sampled_from(
    [
        "By Kang Yoon-seung",
        "By Kim Eun-jung and Lee Minji",
        "By Ock Hyun-ju (laeticia.ock@heraldcorp.com)",
        "(ATTN: ADDS more details in paras 3-4)",
        "mlee@yna.co.kr",
        "(END)",
        "(MORE)",
        "Back To Top",
        "MOST POPULAR",
        "subscribe",
        "피터빈트",
        "Get The Korea Herald's newsletter in your inbox every morning.",
        "SEOUL, April 19 (Yonhap) -- Wednesday's closing prices (KRW) of",
        "KOSPI 200 stocks traded on the main Korea Stock Exchange.",
        "NAVER 191,400 DN 1,400",
        "the president said on Wednesday, adding that talks would go on,",
        "It stays. (Yonhap)",
        "Last sentence. (END)",
        "",
        "  ",
    ]
)
PARAGRAPHS = st.lists(
    st.lists(LINES | st.text(max_size=40), min_size=1, max_size=4).map("\n".join),
    max_size=8,
)


@settings(max_examples=400, deadline=None)
@given(paragraphs=PARAGRAPHS)
def test_cleaning_is_idempotent(paragraphs: list[str]) -> None:
    once = clean.clean_paragraphs(paragraphs)
    twice = clean.clean_paragraphs(once.body.split("\n\n"))
    assert twice.body == once.body
    assert not twice.authors and twice.editor_note is None  # nothing left to peel


@settings(max_examples=200, deadline=None)
@given(paragraph=st.lists(LINES, min_size=1, max_size=6).map("\n".join))
def test_soft_break_joining_is_idempotent(paragraph: str) -> None:
    once = clean.join_soft_breaks(paragraph)
    assert clean.join_soft_breaks(once) == once


def test_a_canonical_link_that_cannot_be_parsed_is_no_crash() -> None:
    """Found by test_mutated_fixture_pages: "https://[]host/…" makes urlsplit raise ValueError
    (brackets holding no IP address); such a link names no source, it does not end the run."""
    canonical = 'rel="canonical" id="canonical" href="https://'
    page = next(p.decode("utf-8") for p in PAGES if canonical.encode() in p)
    broken = page.replace(canonical, canonical + "[]", 1).encode()
    extract_or_parse_error(broken, None)
    extract_or_parse_error(broken, ARTICLE_URL)
