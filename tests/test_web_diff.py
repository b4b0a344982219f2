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
