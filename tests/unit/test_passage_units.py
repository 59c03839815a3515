"""rag.retrieval.units.passage_units: the answer units of a passage, from its blocks.

Every unit is quoted verbatim as a citation, so besides the expected cuts each case checks
that a unit's text is the document's text at the unit's offsets.
"""

from __future__ import annotations

import pytest

from handmade import FakeRetriever, as_passage, document
from rag.objects import Passage
from rag.retrieval.units import MAX_CODE_CHARS, MAX_UNIT_CHARS, passage_units

LONG_ITEM = "- " + " ".join(f"Sentence number {n} of a long item." for n in range(1, 12))


def units_of(parts, **kw):
    doc = document("a.md", parts, **kw)
    c = doc.chunks[0]
    units = passage_units(as_passage(c), c.blocks)
    for u in units:
        assert doc.text[u.start:u.end] == u.text  # the citation contract
        if u.lead is not None:
            assert doc.text[u.lead[0]:u.lead[1]] == u.lead_text
    return units


@pytest.mark.parametrize("parts, expected", [
    pytest.param([("paragraph", "Run it. Then stop.")],
                 [("sentence", "Run it.", ""), ("sentence", "Then stop.", "")],
                 id="a paragraph gives its sentences"),
    pytest.param([("paragraph", "One wrapped\nline. Two.")],
                 [("sentence", "One wrapped\nline.", ""), ("sentence", "Two.", "")],
                 id="a line break inside a block is a soft wrap"),
    pytest.param([("heading", "Setup"), ("paragraph", "Run it.")],
                 [("sentence", "Run it.", "")],
                 id="a heading is context, never a unit"),
    pytest.param([("term", "timeout"), ("paragraph", "Seconds to wait.")],
                 [("sentence", "Seconds to wait.", "")],
                 id="a term is context, never a unit"),
    pytest.param([("paragraph", "Install the tools as follows:"), ("list_item", "- Run make."),
                  ("list_item", "- Run make install.")],
                 [("sentence", "Install the tools as follows:", ""),
                  ("list_item", "- Run make.", "Install the tools as follows:"),
                  ("list_item", "- Run make install.", "Install the tools as follows:")],
                 id="list items carry the sentence ending with a colon that introduces them"),
    pytest.param([("paragraph", "There are two tools. Both are free."), ("list_item", "- make")],
                 [("sentence", "There are two tools.", ""), ("sentence", "Both are free.", ""),
                  ("list_item", "- make", "")],
                 id="no colon, no lead-in"),
    pytest.param([("paragraph", "Install the tools as follows:"), ("heading", "Other"), ("list_item", "- Run make.")],
                 [("sentence", "Install the tools as follows:", ""), ("list_item", "- Run make.", "")],
                 id="a heading between ends the lead-in"),
    pytest.param([("paragraph", "The steps are:"), ("code", "step"), ("list_item", "- First.")],
                 [("sentence", "The steps are:\n\nstep", ""), ("list_item", "- First.", "The steps are:")],
                 id="a code block between keeps the lead-in (and joins the sentence before it)"),
    pytest.param([("paragraph", "Intro:"), ("paragraph", "Not a list. Second.")],
                 [("sentence", "Intro:", ""), ("sentence", "Not a list.", ""), ("sentence", "Second.", "")],
                 id="only list items get a lead-in, not the sentences of a paragraph"),
    pytest.param([("paragraph", "To build, run:"), ("code", "make all"), ("paragraph", "It takes a minute.")],
                 [("sentence", "To build, run:\n\nmake all", ""), ("sentence", "It takes a minute.", "")],
                 id="a sentence ending with a colon is quoted with the short code it introduces"),
    pytest.param([("paragraph", "The default setting is"), ("code", "cache=on"), ("paragraph", "Done.")],
                 [("sentence", "The default setting is\n\ncache=on", ""), ("sentence", "Done.", "")],
                 id="so is a sentence without an end mark"),
    pytest.param([("paragraph", "Build it. It is fast."), ("code", "make all")],
                 [("sentence", "Build it.", ""), ("sentence", "It is fast.", "")],
                 id="an ended sentence is not joined to the code after it"),
    pytest.param([("paragraph", "To build, run:"), ("code", "x" * (MAX_CODE_CHARS + 1))],
                 [("sentence", "To build, run:", "")],
                 id="code longer than MAX_CODE_CHARS is not quoted"),
    pytest.param([("paragraph", "Compute it by using the expression"), ("code", "a + b " * 45),
                  ("paragraph", "which gives the sum. Done.")],
                 [("sentence", "Compute it by using the expression\n\n" + "a + b " * 45 + "\n\nwhich gives the sum.", ""),
                  ("sentence", "Done.", "")],
                 id="a sentence around a long example is one unit"),
    pytest.param([("table_row", "Option: timeout; Default: 5 seconds"), ("field", "Default: 5 seconds")],
                 [("table_row", "Option: timeout; Default: 5 seconds", ""), ("field", "Default: 5 seconds", "")],
                 id="a table row and a field are whole units"),
    pytest.param([("paragraph", "Choose one:"), ("list_item", LONG_ITEM)],
                 [("sentence", "Choose one:", ""), ("list_item", "- Sentence number 1 of a long item.", "Choose one:")]
                 + [("list_item", f"Sentence number {n} of a long item.", "") for n in range(2, 12)],
                 id="a list item over MAX_UNIT_CHARS is cut into sentences, the lead-in on the first"),
])
def test_units(parts, expected):
    assert [(u.kind, u.text, u.lead_text) for u in units_of(parts)] == expected


def test_long_item_is_over_the_limit():
    assert len(LONG_ITEM) > MAX_UNIT_CHARS  # the premise of the case above


def test_headings_before_and_first_in_block():
    # A unit knows the headings above it, the sentence before it in its block, and whether it opens it.
    units = units_of([("heading", "Guide"), ("heading2", "Setup"), ("paragraph", "Run it. Then stop.")])
    assert [(u.text, u.headings, u.before, u.first_in_block) for u in units] == [
        ("Run it.", ("Guide", "Setup"), "", True), ("Then stop.", ("Guide", "Setup"), "Run it.", False)]


def test_reading_is_lead_then_text():
    # What is embedded and scored: the list item with the sentence that introduces it.
    unit = units_of([("paragraph", "Pick one:"), ("list_item", "- Fast.")])[1]
    assert unit.reading == "Pick one: - Fast."


def test_without_blocks_the_passage_is_one_paragraph():
    doc = document("a.md", [("paragraph", "Alpha beta. Gamma:"), ("list_item", "- delta")])
    c = doc.chunks[0]
    assert [(u.kind, u.text) for u in passage_units(as_passage(c), ())] == [
        ("sentence", "Alpha beta."), ("sentence", "Gamma:"), ("sentence", "- delta")]


def test_blocks_are_clipped_to_the_passage():
    # A passage that starts inside a block (an overlapping chunk) cuts that block at its start;
    # a block wholly outside the passage gives nothing.
    doc = document("a.md", [("paragraph", "The options are: fast."), ("paragraph", "Outside.")])
    c = doc.chunks[0]
    p = Passage("x", "a.md", 4, 22, doc.text[4:22], 1.0)
    assert [(u.start, u.end, u.text) for u in passage_units(p, c.blocks)] == [(4, 22, "options are: fast.")]


@pytest.mark.parametrize("previous, lead", [
    pytest.param("The options are:", "The options are:", id="previous chunk ends with a colon: it is the lead-in"),
    pytest.param("The options are fine.", "", id="previous chunk ends a sentence: no lead-in"),
])
def test_a_list_that_opens_a_chunk_gets_its_lead_in_from_the_chunk_before(previous, lead):
    # chunk_units (what Retriever.units runs) passes the previous chunk's last sentence as lead_before.
    doc = document("a.md", [("paragraph", previous), ("list_item", "- Fast."), ("list_item", "- Slow.")],
                   chunks=[(0, 1), (1, 3)])
    r = FakeRetriever(doc)
    units = r.units(r.passage("a.md", 1))
    assert [(u.text, u.lead_text) for u in units] == [("- Fast.", lead), ("- Slow.", lead)]
    if lead:
        assert all(u.lead_passage.chunk_id == "a.md#0" and u.lead == (0, len(previous)) for u in units)


def test_a_sentence_around_a_short_example_is_one_unit():
    units = units_of([("paragraph", "Compute it by using the expression"), ("code", "a + b"),
                      ("paragraph", "which gives the sum. Done.")])
    assert [u.text for u in units] == ["Compute it by using the expression\n\na + b\n\nwhich gives the sum.", "Done."]
