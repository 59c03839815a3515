"""rag.answer.questions.split_question: the independent parts of a compound question.

Each part is retrieved and answered on its own (rag.pipeline.Engine.ask_stream), so a
wrong split asks the corpus another question, and a missed one asks two at once.
"""

from __future__ import annotations

import pytest

from rag.answer.questions import MAX_PARTS, split_question


@pytest.mark.parametrize("question, parts", [
    # Clauses joined by "and" + a question word: each clause is a part, each ending with "?".
    pytest.param("Where did Clinton meet Kishida, and where did Tillerson meet him?",
                 ["Where did Clinton meet Kishida?", "where did Tillerson meet him?"], id="two clauses"),
    pytest.param("What is WAL and how does it work?", ["What is WAL?", "how does it work?"],
                 id="clause without a comma"),
    pytest.param("Who is Abe; and what did he say?", ["Who is Abe?", "what did he say?"], id="semicolon"),
    pytest.param("Why and how?", ["Why?", "how?"], id="bare question words"),
    pytest.param("What did Tillerson and Clinton say, and when did they meet?",
                 ["What did Tillerson and Clinton say?", "when did they meet?"],
                 id="clauses are split first; a name pair inside a clause is then kept"),
    # Two names joined by "and": one question per name, the rest repeated.
    pytest.param("What did Tillerson and Clinton say about the Senkaku islands?",
                 ["What did Tillerson say about the Senkaku islands?",
                  "What did Clinton say about the Senkaku islands?"], id="two names"),
    pytest.param("What did Hillary Clinton and Rex Tillerson say about Japan?",
                 ["What did Hillary Clinton say about Japan?", "What did Rex Tillerson say about Japan?"],
                 id="full names"),
    pytest.param("What did Obama and Abe say?", ["What did Obama say?", "What did Abe say?"], id="short names"),
    pytest.param("What did Tillerson say about Japan and Korea?",
                 ["What did Tillerson say about Japan?", "What did Tillerson say about Korea?"], id="two topics"),
    # Two years: one question per year ("between" becomes "in").
    pytest.param("What happened in 2013 and in 2017?", ["What happened in 2013?", "What happened in 2017?"],
                 id="two years"),
    pytest.param("What happened between 2013 and 2017?", ["What happened in 2013?", "What happened in 2017?"],
                 id="between two years"),
    pytest.param("What did Clinton say in 2013 and in 2017?",
                 ["What did Clinton say in 2013?", "What did Clinton say in 2017?"], id="years after a name"),
    # Kept whole.
    pytest.param("When did Tillerson and Clinton meet?", ["When did Tillerson and Clinton meet?"],
                 id="a joint event (meet) needs both names together"),
    pytest.param("Where did Tillerson and Kishida hold talks?", ["Where did Tillerson and Kishida hold talks?"],
                 id="joint verb hold"),
    pytest.param("What did the U.S. and Japan agree?", ["What did the U.S. and Japan agree?"],
                 id="joint verb agree"),
    pytest.param("How do PGO and LTO differ?", ["How do PGO and LTO differ?"],
                 id="acronyms name one topic, not two names"),
    pytest.param("What do json_insert and json_set return?", ["What do json_insert and json_set return?"],
                 id="code words are not names"),
    pytest.param("What did salt and pepper cost?", ["What did salt and pepper cost?"],
                 id="lower-case words are not names"),
    pytest.param("Tillerson and Clinton: what did they say?", ["Tillerson and Clinton: what did they say?"],
                 id="a pair that opens the question is not split"),
    pytest.param("What is WAL?", ["What is WAL?"], id="a simple question is its own part"),
])
def test_split_question(question, parts):
    assert split_question(question) == parts


def test_at_most_max_parts():
    # A long chain of clauses keeps the first MAX_PARTS parts (they share one answer's length).
    q = "What is WAL, and when was it added, and why is it fast, and who wrote it?"
    assert MAX_PARTS == 3
    assert split_question(q) == ["What is WAL?", "when was it added?", "why is it fast?"]


@pytest.mark.parametrize("q", ["What is the difference between Tokyo and Osaka?",
                               "Who won more votes between Clinton and Trump?"])
def test_a_comparison_between_two_names_stays_whole(q):
    assert split_question(q) == [q]


def test_between_two_years_is_still_asked_year_by_year():
    assert split_question("What changed between 2013 and 2017?") == ["What changed in 2013?", "What changed in 2017?"]
