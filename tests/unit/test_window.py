"""ExtractiveAnswerer.window: which units around the best one the answer quotes.

The units are real (cut from hand-made documents by chunk_units, as Retriever.units does)
but their signals are set by hand: window reads only a unit's own relevance (0.725 dense +
cover_own) and whether its date is in its heading. The best unit comes first in the
scored list, as score_units leaves it.
"""

from __future__ import annotations

import pytest

from handmade import HASH, FakeRetriever, document, scored
from rag.answer.extractive import MAX_ANSWER_CHARS, RELEVANT_NEIGHBOUR, ExtractiveAnswerer, compose
from rag.settings import Settings

ANSWERER = ExtractiveAnswerer(Settings(), HASH)
REL = (0.5, 0.5)  # a neighbour as relevant as the best unit
FILLER = (0.0, 0.0)  # shares nothing with the question

FOUR = [("paragraph", "Alpha one is here. Alpha two is the key. Alpha three follows. Beta four is filler.")]
BACK = [("paragraph", "Alpha one is here. This is the only way. Alpha three follows.")]
SAID = [("paragraph", "Unrelated start. Secretary Tillerson said:"), ("paragraph", "The alliance is strong.")]
STEPS = [("paragraph", "Install it. Do the following:"), ("list_item", "- Run make."), ("list_item", "- Run make install.")]
SECTIONS = [("heading", "Install"), ("paragraph", "Alpha one is here."),
            ("heading", "Usage"), ("paragraph", "Alpha two is the key. Alpha three follows.")]
DATED = [("heading", "3.45.0 (2024-01-15)"), ("paragraph", "Added json_patch. Fixed a bug.")]


def window(parts, signals, best, chunks=None, chunk=0, max_chars=MAX_ANSWER_CHARS, with_retriever=True):
    """window() over the units of ``chunk``: ``signals[i]`` for its i-th unit, ``best`` the index of the best."""
    doc = document("a.md", parts, chunks)
    r = FakeRetriever(doc)
    units = r.units(r.passage("a.md", chunk))
    sc = [scored(u, **s) if isinstance(s, dict) else scored(u, *s) for u, s in zip(units, signals, strict=True)]
    out = ANSWERER.window([sc[best]] + sc[:best] + sc[best + 1:], r if with_retriever else None, max_chars)
    assert sc[best] in out  # the best unit is always quoted
    return out


@pytest.mark.parametrize("parts, signals, best, kw, expected", [
    pytest.param(FOUR, [REL, REL, REL, FILLER], 1, {},
                 ["Alpha one is here.", "Alpha two is the key.", "Alpha three follows."],
                 id="relevant neighbours join, filler does not; in document order"),
    pytest.param(FOUR, [REL] * 4, 1, {"max_chars": 60}, ["Alpha two is the key.", "Alpha three follows."],
                 id="room for one neighbour: the next one first"),
    pytest.param(FOUR, [REL] * 4, 1, {"max_chars": 10}, ["Alpha two is the key."],
                 id="the best unit alone even when it is over max_chars"),
    pytest.param(BACK, [REL] * 3, 1, {"max_chars": 50}, ["Alpha one is here.", "This is the only way."],
                 id="a sentence that points back takes the one before first"),
    pytest.param(FOUR, [(0.0, 0.15), (0.0, 1.0), (0.0, 0.149), FILLER], 1, {},
                 ["Alpha one is here.", "Alpha two is the key."],
                 id="a neighbour joins at RELEVANT_NEIGHBOUR (0.15) of the best's own relevance, not below"),
    pytest.param(SECTIONS, [REL, REL, REL], 1, {}, ["Alpha two is the key.", "Alpha three follows."],
                 id="only units under the same headings"),
    pytest.param(SAID, [FILLER, FILLER, REL], 2, {}, ["Secretary Tillerson said:", "The alliance is strong."],
                 id="the sentence that introduces the best one with a colon joins, relevant or not"),
    pytest.param(SAID, [REL], 0, {"chunks": [(0, 1), (1, 2)], "chunk": 1},
                 ["Secretary Tillerson said:", "The alliance is strong."],
                 id="also from the chunk before, when the best unit opens its chunk"),
    pytest.param(STEPS, [REL, REL], 0, {"chunks": [(0, 1), (1, 3)]},
                 ["Install it.", "Do the following:", "- Run make.", "- Run make install."],
                 id="a window ending on a lead-in goes on into the next chunk"),
    pytest.param(STEPS, [REL, REL], 0, {"chunks": [(0, 1), (1, 3)], "max_chars": 50}, ["Install it."],
                 id="a lead-in whose continuation does not fit is dropped"),
    pytest.param(STEPS, [REL, REL], 0, {"chunks": [(0, 1), (1, 3)], "with_retriever": False}, ["Install it."],
                 id="without a retriever there is no next chunk: the lead-in is dropped"),
    pytest.param(STEPS, [REL, REL], 1, {"chunks": [(0, 1), (1, 3)], "with_retriever": False},
                 ["Install it.", "Do the following:"], id="unless it is the best unit itself"),
    pytest.param(DATED, [{"dense": 0.5, "cover_own": 0.5, "kind_in_heading": True}, REL], 0, {},
                 ["3.45.0 (2024-01-15)", "Added json_patch.", "Fixed a bug."],
                 id="a date found only in the heading is quoted with the heading"),
    pytest.param(DATED, [{"dense": 0.5, "cover_own": 0.5, "kind_in_heading": True}, REL], 0, {"max_chars": 40},
                 ["3.45.0 (2024-01-15)", "Added json_patch."],
                 id="heading and best unit even past max_chars: the date is the answer"),
])
def test_window(parts, signals, best, kw, expected):
    assert [s.unit.text for s in window(parts, signals, best, **kw)] == expected


@pytest.mark.parametrize("max_chars", [30, 50, 60, 75, 100, MAX_ANSWER_CHARS])
def test_the_answer_fits_max_chars(max_chars):
    # However much room there is, the composed answer (quotes and [n] markers) stays within it.
    out = window(FOUR, [REL] * 4, 1, max_chars=max_chars)
    assert len(compose(out).text) <= max_chars
    assert len(out) == {30: 1, 50: 2, 60: 2, 75: 3, 100: 4, MAX_ANSWER_CHARS: 4}[max_chars]


def test_units_of_other_passages_are_left_out():
    # The window is a stretch of one passage: a relevant unit of another chunk never joins it.
    doc = document("a.md", FOUR, chunks=[(0, 1)])
    other = document("b.md", [("paragraph", "Alpha five is elsewhere.")])
    r = FakeRetriever(doc, other)
    units = r.units(r.passage("a.md")) + r.units(r.passage("b.md"))
    sc = [scored(u, *REL) for u in units]
    out = ANSWERER.window([sc[1]] + sc[:1] + sc[2:], r)
    assert "Alpha five is elsewhere." not in [s.unit.text for s in out] and len(out) == 4


def test_relevant_neighbour_share():
    assert RELEVANT_NEIGHBOUR == 0.15  # the threshold the boundary case above is built on
