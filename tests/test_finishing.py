"""Answer text that reads well (balanced quote marks, no statement cut off at
its colon) while citations stay verbatim; example questions from the corpus."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from rag import Answer, Citation, Settings, ask
from ui.examples import candidate_questions, example_questions
from rag.answer.finishing import balance_quotes, finish_answer
from rag.ingest.loading import document_text
from rag import build_index
from rag.objects import Block, Chunk


@pytest.mark.parametrize("raw,expected", [
    ("capabilities.” [1]", "“capabilities.” [1]"),
    ("“We oppose it. [1]", "“We oppose it.” [1]"),
    ('"We oppose it. [1] Fine. [2]', '"We oppose it." [1] Fine. [2]'),
    ("He said “yes” and “no”. [1]", "He said “yes” and “no”. [1]"),
    # Pairs that span markers are already balanced: left alone.
    ("He said “we will act [1] and win” [2].", "He said “we will act [1] and win” [2]."),
    ("A.” [1] “B. [2]", "“A.” [1] “B.” [2]"),
    ("It’s the Abe government’s plan. [1]", "It’s the Abe government’s plan. [1]"),
])
def test_balance_quotes(raw, expected):
    assert balance_quotes(raw) == expected


def _quote_depths_ok(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"“": 1, "”": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def test_answers_balance_quotes_but_citations_stay_verbatim(seeds_settings):
    a = ask("Which UN Security Council resolutions were cited?", settings=seeds_settings)
    assert a.text.startswith("“We intend to continue") and a.text.endswith("capabilities.” [1]")
    c = a.citations[0]
    assert not c.quote.startswith("“") and c.quote.endswith("capabilities.”")
    assert document_text(seeds_settings.ingest.corpus_dir / c.source)[c.start:c.end] == c.quote
    assert _quote_depths_ok(a.text)


@pytest.mark.parametrize("question,introduced", [
    ("What did Clinton say about the Senkaku islands?", "We applaud the early steps"),
    ("What is the U.S. position on the sovereignty of the islands?", "We do not want to see any action"),
    ("What did Secretary Tillerson say?", "These discussions have affirmed"),
])
def test_an_answer_never_stops_at_a_lead_in_colon(seeds_settings, question, introduced):
    a = ask(question, settings=seeds_settings)
    assert not a.refused
    # The lead-in ("... said Secretary Clinton:") comes with the statement it introduces.
    assert any(introduced in c.quote for c in a.citations) and introduced in a.text, a.text
    assert len(a.text) <= 400
    assert not a.text.rstrip().rstrip("[]0123456789 ").endswith(":"), a.text
    for c in a.citations:
        assert document_text(seeds_settings.ingest.corpus_dir / c.source)[c.start:c.end] == c.quote
    assert [c.marker for c in a.citations] == list(range(1, len(a.citations) + 1))
    assert _quote_depths_ok(a.text)


def test_finish_answer_leaves_refusals_and_changed_files_alone(tmp_path):
    refusal = Answer("I can't answer that from the corpus: no.", refused=True)
    assert finish_answer(refusal, Settings(corpus_dir=tmp_path)) is refusal
    (tmp_path / "a.txt").write_text("Totally different text now.")
    a = Answer("She said: [1]", [Citation(1, "a.txt", "She said:", 0, 9)])
    assert finish_answer(a, Settings(corpus_dir=tmp_path)).text == "She said: [1]"


def test_candidate_questions_come_from_recurring_names():
    chunks = [Chunk("1", "a.txt", 0, 80, "Minister Kishida said the Senkaku Islands are Japanese. March 16 was cold.", ""),
              Chunk("2", "b.txt", 0, 80, "The Senkaku Islands were discussed. Minister Kishida stressed it.", "")]
    qs = candidate_questions(chunks)
    assert qs[:2] == ["What did Minister Kishida say?", "Where are the Senkaku Islands?"]
    assert not any("March" in q for q in qs)


def test_candidate_questions_come_from_faq_entries_headings_and_definitions():
    text = ("Why use Vole?\n\nVole is a tool that tends burrow layouts.\n\nInstalling Vole\n\nInstall it with pipx.\n\n"
            "Burrow layouts vs tunnel maps\n\nBoth exist.")
    blocks = tuple(Block("heading", text.index(h), text.index(h) + len(h), 2)
                   for h in ("Why use Vole?", "Installing Vole", "Burrow layouts vs tunnel maps"))
    qs = candidate_questions([Chunk("1", "vole.md", 0, len(text), text, "", blocks=blocks)])
    assert qs == ["Why use Vole?", "How do I install Vole?", "What is Vole?",
                  "What is the difference between burrow layouts and tunnel maps?"]


def test_example_questions_are_answered_by_the_corpus(seeds_settings):
    questions = example_questions(seeds_settings, 3)
    assert len(questions) == 3 and len(set(questions)) == 3
    for q in questions:
        a = ask(q, settings=seeds_settings)
        assert not a.refused and a.citations, q
        assert not re.match(r"What is said about|Which documents mention", q), q
    assert example_questions(seeds_settings.replace(index_dir=seeds_settings.store.index_dir / "none"), 3) == []


def test_example_questions_over_documentation_are_questions_a_person_would_ask(tmp_path):
    # A few pages of the Hatch documentation (headings, an FAQ page, definitions).
    docs = Path(__file__).resolve().parent.parent / "evals" / "corpora" / "hatch-docs"
    corpus = tmp_path / "docs"
    corpus.mkdir()
    for name in ("install.md", "intro.md", "why.md", "environment.md", "build.md"):
        shutil.copy(docs / name, corpus / name)
    s = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(s, progress=False)
    questions = example_questions(s, 3)
    assert len(questions) == 3, questions
    for q in questions:
        assert q.endswith("?") and not re.match(r"What is said about|Which documents mention", q), q
        a = ask(q, settings=s)
        assert not a.refused and a.citations and not a.warnings, (q, a.text)
    # Drawn from the documents' structure (FAQ entries, how-to headings, definitions), not from name counts.
    assert any(re.match(r"(How do I|Why|What is|What are|Can|Does|Is) ", q) for q in questions), questions
