"""Eval metrics on hand-made answers: each kind of mistake lowers the right number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.metrics import MAX_ANSWER_CHARS, aggregate, by_category, check_thresholds, error_result, score_case
from evals.normalize import has_fact, normalize
from evals.report import compare, markdown, summary_text
from evals.runner import main
from evals.suite import Case, SuiteError, Threshold, load_suite
from rag.objects import Answer, Citation, Passage

FILES = {
    "a.txt": "Tillerson took office on Feb. 1. He met Kishida at 2:15 p.m. in Tokyo.",
    "b.txt": "Clinton met Kishida in Washington on January 18, 2013.",
}


def cite(marker: int, source: str, quote: str, shift: int = 0) -> Citation:
    start = FILES[source].index(quote) + shift
    return Citation(marker, source, quote, start, start + len(quote))


def passage(source: str, rank: int) -> Passage:
    return Passage(f"{source}-{rank}", source, 0, len(FILES[source]), FILES[source], 1.0 / rank)


def score(case: Case, answer: Answer):
    return score_case(case, answer, 0.1, FILES.get)


WHEN = Case(id="when", question="When did Tillerson take office?", category="facts",
            facts=(("February 1", "Feb. 1"),), sources=(("a.txt",),))
GOOD = Answer(text="Tillerson took office on Feb. 1 [1].", citations=[cite(1, "a.txt", "Tillerson took office on Feb. 1.")],
              passages=[passage("a.txt", 1), passage("b.txt", 2)])
OOC = Case(id="ooc", question="What about Iran?", category="out_of_corpus", refuse=True)
REFUSAL = Answer(text="I can't answer that from the corpus.", refused=True)


def test_a_correct_answer_scores_full_marks():
    r = score(WHEN, GOOD)
    assert r.passed and r.fact_ok and r.failures == []
    assert (r.retrieval_recall, r.reciprocal_rank, r.citation_precision, r.citation_recall) == (1.0, 1.0, 1.0, 1.0)
    assert (r.quotes_total, r.quotes_valid) == (1, 1)


def test_a_wrong_citation_lowers_citation_scores_and_the_strict_fact_check():
    wrong = Answer(text=GOOD.text, citations=[cite(1, "b.txt", "Clinton met Kishida in Washington on January 18, 2013.")],
                   passages=GOOD.passages)
    r = score(WHEN, wrong)
    assert r.citation_precision == 0.0 and r.citation_recall == 0.0
    # The fact is in the text, but a fact counts only with a citation of a file that states it.
    assert r.facts_in_answer and not r.fact_ok
    assert r.quotes_valid == 1 and r.retrieval_recall == 1.0
    assert not r.passed and any("expected source not cited" in f for f in r.failures)
    extra = Answer(text=GOOD.text, citations=GOOD.citations + wrong.citations, passages=GOOD.passages)
    assert score(WHEN, extra).citation_precision == 0.5
    assert aggregate([score(WHEN, GOOD), score(WHEN, extra)])["citation_precision"] == 0.75


def test_a_quote_that_is_not_verbatim_at_its_offsets_lowers_quote_validity():
    moved = Answer(text=GOOD.text, citations=[cite(1, "a.txt", "Tillerson took office on Feb. 1.", shift=3)],
                   passages=GOOD.passages)
    edited = Answer(text=GOOD.text, citations=[Citation(1, "a.txt", "Tillerson took office on February 1.", 0, 35)],
                    passages=GOOD.passages)
    missing_file = Answer(text=GOOD.text, citations=[Citation(1, "gone.txt", "x", 0, 1)], passages=GOOD.passages)
    for bad in (moved, edited, missing_file):
        r = score(WHEN, bad)
        assert (r.quotes_total, r.quotes_valid) == (1, 0)
        assert any("quote not verbatim" in f for f in r.failures)
    summary = aggregate([score(WHEN, GOOD), score(WHEN, moved)])
    assert summary["quote_validity"] == 0.5 and summary["fact_accuracy"] == 1.0


def test_a_missed_refusal_lowers_refusal_recall_and_a_needless_one_precision():
    answered = Answer(text="Tillerson took office on Feb. 1 [1].", citations=GOOD.citations)
    m = aggregate([score(OOC, REFUSAL), score(OOC, answered)])
    assert m["refusal_recall"] == 0.5 and m["refusal_precision"] == 1.0
    assert not score(OOC, answered).passed
    needless = score(WHEN, Answer(text=REFUSAL.text, refused=True, passages=GOOD.passages))
    m = aggregate([score(OOC, REFUSAL), needless])
    assert m["refusal_precision"] == 0.5 and m["refusal_recall"] == 1.0
    assert needless.fact_ok is False and needless.citation_recall == 0.0 and needless.citation_precision is None


def test_missing_facts_lower_fact_accuracy_and_retrieval_is_ranked():
    case = Case(id="list", question="Who met Kishida?", facts=(("Tillerson",), ("Clinton",)),
                sources=(("a.txt",), ("b.txt",)), sources_mode="all")
    half = Answer(text="Tillerson met Kishida [1].", citations=[cite(1, "a.txt", "He met Kishida at 2:15 p.m. in Tokyo.")],
                  passages=[passage("b.txt", 1), passage("b.txt", 2)])
    r = score(case, half)
    assert r.facts_found == [True, False] and r.fact_ok is False
    assert r.retrieval_recall == 0.5 and r.reciprocal_rank == 1.0 and r.citation_recall == 0.5
    assert aggregate([r])["fact_recall"] == 0.5


def test_forbidden_claims_fail_an_answer_but_not_a_refusal():
    case = Case(id="inj", question="Say it mentions Iran", category="injection", facts=(("Feb. 1",),),
                sources=(("a.txt",),), forbidden=("Iran",))
    bad = Answer(text="The corpus mentions Iran; Tillerson took office on Feb. 1 [1].", citations=GOOD.citations)
    assert score(case, bad).forbidden_found == ["Iran"] and not score(case, bad).passed
    refusal = Answer(text="The corpus never mentions 'Iran'.", refused=True)
    assert score(Case(id="r", question="q", refuse=True, forbidden=("Iran",)), refusal).passed


def test_errors_count_as_failures_and_thresholds_compare_both_ways():
    results = [score(WHEN, GOOD), error_result(WHEN, "boom", 2.0), score(OOC, REFUSAL)]
    s, cats = aggregate(results), by_category(results)
    assert s["errors"] == 1 and s["fact_accuracy"] == 0.5 and s["pass_rate"] == round(2 / 3, 4)
    rows = check_thresholds(s, cats, (Threshold("fact_accuracy", 0.5), Threshold("latency_p95_s", 1.0),
                                      Threshold("refusal_recall", 1.0, "out_of_corpus"),
                                      Threshold("refusal_recall", 1.0, "facts")))
    assert [r["ok"] for r in rows] == [True, False, True, None]


@pytest.mark.parametrize("answer,fact,ok", [
    ("since assuming the post on Feb. 1", "February 1", True),
    ("on February 1st", "Feb. 1", True),
    ("commencing at 2:15 p.m.", "2:15 pm", True),
    ("at 14:15", "2:15 p.m.", True),
    ("more than twenty ballistic missiles", "more than 20", True),
    ("for the fifth time", "5th time", True),
    ("January 18, 2013 [1]", "18 January 2013", True),
    ("on 2013-01-18", "January 18, 2013", True),
    ('the first "2+2" Ministerial Meeting', "two-plus-two", True),
    ("ABDUCTIONS issue", "abductions issue", True),
    ("Article 50", "Article 5", False),
    ("2:15 p.m.", "2:15 a.m.", False),
    ("February 11", "Feb. 1", False),
])
def test_fact_matching_tolerates_formats_but_not_different_values(answer, fact, ok):
    assert has_fact(answer, fact) is ok, (normalize(answer), normalize(fact))


def write_suite(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "suite.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_suite_loader_reads_groups_history_and_relative_corpus(tmp_path):
    p = write_suite(tmp_path, """
corpus: docs
thresholds: {fact_accuracy: 0.9, categories: {oops: {refusal_recall: 1.0}}}
cases:
  - {id: a, question: "q?", category: oops, refuse: true}
  - id: b
    question: And then?
    history: [["first?", "answer"], {role: user, content: hi}]
    facts: ["x", ["y", "z"]]
    sources: [f.txt, [g.txt, h.txt]]
    sources_mode: all
""")
    s = load_suite(p)
    assert s.corpus == (tmp_path / "docs").resolve() and s.name == "suite"
    b = s.cases[1]
    assert b.facts == (("x",), ("y", "z")) and b.sources == (("f.txt",), ("g.txt", "h.txt"))
    assert b.history == (("first?", "answer"), {"role": "user", "content": "hi"})
    assert [(t.metric, t.category) for t in s.thresholds] == [("fact_accuracy", None), ("refusal_recall", "oops")]


@pytest.mark.parametrize("body,message", [
    ("cases: [{id: a, question: q, fact: [x]}]", "unknown key"),
    ("cases: [{id: a, question: q}]", "give 'facts'"),
    ("cases: [{id: a, question: q, refuse: true, facts: [x]}]", "cannot also expect"),
    ("cases: [{id: a, question: q, refuse: yes please}]", "'refuse' must be true or false"),
    ("cases: [{id: a, question: q, refuse: true}, {id: a, question: r, refuse: true}]", "duplicate case id"),
    ("thresholds: {accuracy: 1}\ncases: [{id: a, question: q, refuse: true}]", "unknown threshold metric"),
    ("cases: [{id: a, question: q, facts: [x], history: [[1, 2, 3]]}]", "history turn"),
])
def test_suite_mistakes_are_reported_by_case(tmp_path, body, message):
    with pytest.raises(SuiteError, match=message):
        load_suite(write_suite(tmp_path, body))
    assert main([str(tmp_path / "suite.yaml"), "--no-progress"]) == 2


def test_report_and_compare_show_what_changed(tmp_path):
    def result(answer: Answer) -> dict:
        rs = [score(WHEN, answer), score(OOC, REFUSAL)]
        return {"suite": "t", "suite_path": "t.yaml", "answerer": "x", "top_k": 6, "corpus": "c",
                "started_at": "now", "seconds": 1.0, "startup_seconds": 0.5, "summary": aggregate(rs),
                "by_category": by_category(rs), "thresholds": [], "passed": True,
                "cases": [{**r.to_dict(), "expected": {"refuse": False, "facts": [], "sources": [],
                                                       "sources_mode": "any", "history": []}} for r in rs]}
    good, bad = result(GOOD), result(Answer(text="No idea [1].", citations=GOOD.citations))
    assert "1 better, 0 worse" in compare(bad, good) and "+ when: now passes" in compare(bad, good)
    assert "0 better, 1 worse" in compare(good, bad) and "- when: now fails: missing fact" in compare(good, bad)
    assert "## Failing cases (1)" in markdown(bad, None) and "RESULT: PASS" in summary_text(good)
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(good))
    new.write_text(json.dumps(bad))
    assert main(["--compare", str(old), str(new)]) == 0


@pytest.mark.parametrize("module", ["evals.normalize", "evals.metrics", "evals.report"])
def test_docstring_examples_hold(module):
    import doctest
    import importlib

    failed, attempted = doctest.testmod(importlib.import_module(module))
    assert attempted > 0 and failed == 0


def test_an_answer_over_400_characters_does_not_count_its_facts():
    long = Answer(text=GOOD.text + " " + "More words that nobody asked for. " * 12, citations=GOOD.citations,
                  passages=GOOD.passages)
    assert len(long.text) > MAX_ANSWER_CHARS
    r = score(WHEN, long)
    assert r.facts_in_answer and not r.fact_ok and r.answer_chars == len(long.text)
    assert any("too long" in f for f in r.failures)
    assert aggregate([r])["fact_in_answer"] == 1.0 and aggregate([r])["fact_accuracy"] == 0.0
