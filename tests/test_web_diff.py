"""Word-level diff of the reading room: counts, merged runs, long unchanged runs condensed."""

from __future__ import annotations

from scraper.web.diff import CONTEXT, Segment, word_diff


def test_a_replaced_word_is_one_deletion_and_one_insertion() -> None:
    d = word_diff("Yoon vowed to act.\n\nSecond para.", "Yoon pledged to act.\n\nSecond para.")
    assert d.segments == (
        Segment("same", "Yoon "),
        Segment("del", "vowed"),
        Segment("ins", "pledged"),
        Segment("same", " to act.\n\nSecond para."),
    )
    assert (d.added, d.removed, d.changed) == (1, 1, True)


def test_identical_texts_have_no_change() -> None:
    d = word_diff("same text", "same text")
    assert not d.changed and d.segments == (Segment("same", "same text"),)


def test_long_unchanged_runs_are_cut_around_the_change() -> None:
    before = " ".join(f"w{i}" for i in range(200))
    d = word_diff(before + " old " + before, before + " new " + before)
    kept = d.condensed()
    ops = [s.op for s in kept]
    assert ops == ["skip", "same", "del", "ins", "same", "skip"]
    assert kept[1].text.split() == [f"w{i}" for i in range(200 - CONTEXT, 200)]
    assert kept[4].text.split() == [f"w{i}" for i in range(CONTEXT)]
    short = word_diff("a b c", "a x c")
    assert short.condensed() == short.segments  # nothing worth cutting


def _shown(segments: tuple[Segment, ...]) -> tuple[Segment, ...]:
    """The segments that show something (a replacement at the very end leaves an empty one)."""
    return tuple(s for s in segments if s.text)


def test_insertions_and_deletions_alone_are_marked_and_counted_over_every_change() -> None:
    d = word_diff(
        "Seoul said on Monday it would act.", "Seoul said it would act now, officials said."
    )
    assert _shown(d.segments) == (
        Segment("same", "Seoul said "),
        Segment("del", "on Monday "),
        Segment("same", "it would "),
        Segment("del", "act."),
        Segment("ins", "act now, officials said."),
    )
    # the counts add up over all three changes, not just the last
    d = word_diff("a b c d e f", "a x b c e f y")
    assert [s.op for s in d.segments] == ["same", "ins", "same", "del", "same", "ins"]
    assert (d.added, d.removed) == (2, 1)


def test_a_one_word_change_in_a_long_article_of_common_words_is_one_word() -> None:
    # with difflib's autojunk, every word over 1 % of a 200+ word text is junk and cannot anchor
    # the alignment: in a text of common words the change would swallow the rest of the text
    words = ["the", "of", "a"] * 100
    old = " ".join(words)
    new = " ".join([*words[:150], "changed", *words[151:]])
    d = word_diff(old, new)
    assert (d.added, d.removed) == (1, 1)


def test_a_run_is_cut_only_when_longer_than_twice_the_context_plus_the_minimum() -> None:
    def condensed_ops(run: int) -> list[str]:
        same = " ".join(f"w{i}" for i in range(run))
        d = word_diff(f"old {same} old", f"new {same} new")
        return [s.op for s in _shown(d.condensed(context=5))]

    assert condensed_ops(2 * 5 + 10) == ["del", "ins", "same", "del", "ins"]
    assert condensed_ops(2 * 5 + 11) == ["del", "ins", "same", "skip", "same", "del", "ins"]
    # a run after a change at the very start keeps its head
    run = " ".join(f"w{i}" for i in range(50))
    kept = _shown(word_diff(f"lead {run}", run).condensed(context=5))
    assert [s.op for s in kept] == ["del", "same", "skip"]


def test_only_the_first_and_last_runs_lose_their_outer_side() -> None:
    run = " ".join(f"w{i}" for i in range(50))
    d = word_diff(f"{run} a {run} b {run}", f"{run} A {run} B {run}")
    kept = _shown(d.condensed(context=5))
    assert [s.op for s in kept] == (
        ["skip", "same", "del", "ins", "same", "skip", "same", "del", "ins", "same", "skip"]
    )
    assert kept[0] == Segment("skip", " … ")
    assert kept[-1] == Segment("skip", " … ")
    # the run before a last change keeps its tail too
    d = word_diff(f"{run} a {run} tail", f"{run} A {run}")
    kept = _shown(d.condensed(context=5))
    assert [s.op for s in kept] == ["skip", "same", "del", "ins", "same", "skip", "same", "del"]
