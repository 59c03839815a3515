"""rag.text.sentence_spans: where sentences start and end, on hand-written text."""

from __future__ import annotations

import pytest

from rag.text import sentence_spans


def sentences(text: str, lines: bool = True) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text, lines=lines)]


@pytest.mark.parametrize("text, expected", [
    pytest.param("One. Two! Three?", ["One.", "Two!", "Three?"], id="each end mark ends a sentence"),
    pytest.param("Mr. Abe met U.S. officials. They talked.", ["Mr. Abe met U.S. officials.", "They talked."],
                 id="titles and U.S. are abbreviations, not ends"),
    pytest.param("Dr. Smith arrived. He left.", ["Dr. Smith arrived.", "He left."],
                 id="Dr. before a capitalised name is a title"),
    pytest.param("Rex W. Tillerson spoke. Then he left.", ["Rex W. Tillerson spoke.", "Then he left."],
                 id="a middle initial never ends a sentence"),
    pytest.param("N. Korea fired. Japan protested.", ["N. Korea fired.", "Japan protested."],
                 id="a one-letter abbreviation at the start is an initial"),
    pytest.param("He met Gen. Dunford. Then left.", ["He met Gen. Dunford.", "Then left."],
                 id="military title Gen."),
    pytest.param("Sen. Rubio spoke. OK.", ["Sen. Rubio spoke.", "OK."], id="Sen. title"),
    pytest.param("They met in Jan. 2017 in Tokyo. Then left.", ["They met in Jan. 2017 in Tokyo.", "Then left."],
                 id="a month abbreviation followed by a digit goes on"),
    pytest.param("Ends with etc. and more. Next.", ["Ends with etc. and more.", "Next."],
                 id="etc. followed by a lower-case word goes on"),
    pytest.param("Ends with etc. Next one.", ["Ends with etc.", "Next one."],
                 id="etc. followed by a capital ends (it is not a title)"),
    pytest.param("Meeting at 10 a.m. today. Bring notes.", ["Meeting at 10 a.m. today.", "Bring notes."],
                 id="a.m. followed by a lower-case word goes on"),
    pytest.param("Meeting at 10 a.m. Tomorrow is free.", ["Meeting at 10 a.m.", "Tomorrow is free."],
                 id="a.m. followed by a capital ends"),
    pytest.param("It costs 3.5 dollars. Cheap.", ["It costs 3.5 dollars.", "Cheap."],
                 id="a decimal point is no end (no space after it)"),
    pytest.param("Version 3.12 was released. It is fast.", ["Version 3.12 was released.", "It is fast."],
                 id="a version number is no end"),
    pytest.param("Visit www.example.com today. Now.", ["Visit www.example.com today.", "Now."],
                 id="dots inside a host name are no ends"),
    pytest.param('He said "stop." Then he went.', ['He said "stop."', "Then he went."],
                 id="closing quote stays with its sentence"),
    pytest.param("Prices rose (sharply.) Then fell.", ["Prices rose (sharply.)", "Then fell."],
                 id="closing bracket stays with its sentence"),
    pytest.param("the ! operator negates. Yes.", ["the ! operator negates.", "Yes."],
                 id="a lone ! after a space ends nothing"),
    pytest.param("   Padded sentence.   ", ["Padded sentence."], id="whitespace is trimmed"),
    pytest.param("Trailing text without end", ["Trailing text without end"], id="text without an end mark is one"),
    pytest.param("...", [], id="punctuation alone is no sentence"),
    pytest.param("", [], id="empty text"),
    pytest.param("A.", ["A."], id="two characters with a letter is a sentence"),
    pytest.param("Para one.\n\nPara two.", ["Para one.", "Para two."], id="paragraph break"),
    pytest.param("Line one\nLine two", ["Line one", "Line two"], id="lines=True: a line break ends a sentence"),
])
def test_sentences(text, expected):
    assert sentences(text) == expected


@pytest.mark.parametrize("text, expected", [
    pytest.param("One wrapped\nline. Two.", ["One wrapped\nline.", "Two."],
                 id="a single line break is a soft wrap inside a block"),
    pytest.param("Para one.\n\nPara two.", ["Para one.", "Para two."], id="a blank line still ends a sentence"),
    pytest.param("No end mark\nat all", ["No end mark\nat all"], id="wrapped text without an end is one sentence"),
])
def test_sentences_in_one_block(text, expected):
    assert sentences(text, lines=False) == expected


def test_offsets_are_shifted_by_base():
    # Units are cut at document offsets: a block at offset 100 gives spans from 100.
    assert sentence_spans("Abc def. Ghi.", base=100) == [(100, 108), (109, 113)]


@pytest.mark.parametrize("text", [
    "See e.g. the manual. Done.",
    "See i.e. the manual. Done.",
    "Pass a flag, e.g. --force, to skip it. Done.",
    "Big cities, e.g. Tokyo, grew fast. Done.",
    "Compare (cf. section 2) the rules. Done.",
    "It was approx. 5 km long. Done.",
])
def test_latin_abbreviations_do_not_end_a_sentence(text):
    assert sentences(text) == [text[:text.index(" Done")], "Done."]
