"""rag.answer.questions.question_kind: the kind of fact a question asks for.

The kind decides what a unit must hold to answer (a number for "how many", a date or
version for "when"): the rules are tried in order, so the cases below also pin which rule
wins when a question matches several.
"""

from __future__ import annotations

import pytest

from rag.answer.questions import question_kind


@pytest.mark.parametrize("question, kind", [
    # frequency: how many times / how often (checked first, before "how many" = number)
    pytest.param("How many times had Kishida talked with Tillerson?", "frequency", id="how many times"),
    pytest.param("HOW MANY TIMES did they meet?", "frequency", id="case does not matter"),
    pytest.param("How often does the cache refresh?", "frequency", id="how often"),
    # duration: "how long" with a verb of lasting, or "for how long"
    pytest.param("How long did the meeting last?", "duration", id="how long ... last"),
    pytest.param("How long ago did it happen?", "duration", id="how long ago"),
    pytest.param("For how long is the token valid?", "duration", id="for how long"),
    # number: how many/much/far..., maximum/minimum <quantity>, what percentage
    pytest.param("How long is the timeout?", "number", id="how long without a lasting verb is a size"),
    pytest.param("How long can a name be?", "number", id="how long can = a limit"),
    pytest.param("How many bins does hist() use?", "number", id="how many"),
    pytest.param("How much memory is needed?", "number", id="how much"),
    pytest.param("How far is Tokyo from Osaka?", "number", id="how far"),
    pytest.param("What is the maximum length of a name?", "number", id="maximum length"),
    pytest.param("What percentage of users opted in?", "number", id="what percentage"),
    # version: which release/version, since which, when ... added/removed
    pytest.param("Which version added the flag?", "version", id="which version"),
    pytest.param("What release dropped Python 2?", "version", id="what release"),
    pytest.param("Since which version is the field honoured?", "version", id="since which"),
    pytest.param("When was json_patch added?", "version", id="when was ... added is a release"),
    # date: when + auxiliary, what year/day/time
    pytest.param("When was the treaty signed?", "date", id="when was ... signed is a date, not a release"),
    pytest.param("When did Tillerson visit Tokyo?", "date", id="when did"),
    pytest.param("What year did the war end?", "date", id="what year"),
    pytest.param("What time does the store open?", "date", id="what time"),
    pytest.param("In which year did it start?", "date", id="in which year"),
    pytest.param("When did they meet and where?", "date", id="date wins over place (tried first)"),
    # literal: a file, command, option... asked for by name
    pytest.param("What file does it load?", "literal", id="what file"),
    pytest.param("Which environment variable sets the port?", "literal", id="which environment variable"),
    pytest.param("What command rebuilds the index?", "literal", id="what command"),
    # how: a way to do something
    pytest.param("How do I install the package?", "how", id="how do I"),
    pytest.param("How can I reset my password?", "how", id="how can I"),
    pytest.param("How does WAL work?", "how", id="how does"),
    pytest.param("And how is it configured?", "how", id="a follow-up opening with and how"),
    # place, person
    pytest.param("Where did Clinton meet Kishida?", "place", id="where"),
    pytest.param("In which city was the summit held?", "place", id="in which city"),
    pytest.param("Who met Abe in Tokyo?", "person", id="who"),
    pytest.param("Whose idea was it?", "person", id="whose"),
    pytest.param("By whom was the decree signed?", "person", id="by whom"),
    pytest.param("Which official announced the sanctions?", "person", id="which official"),
    pytest.param("Who decided when the meeting was held?", "person",
                 id="when not followed by an auxiliary does not make a date question"),
    # other: definitions, reasons, reported speech
    pytest.param("What is WAL?", "other", id="definition"),
    pytest.param("Why did the talks fail?", "other", id="why"),
    pytest.param("What did Tillerson say about North Korea?", "other", id="reported speech"),
    pytest.param("What is the default value of the timeout?", "other",
                 id="value two words after what is not a literal (one word allowed between)"),
])
def test_question_kind(question, kind):
    assert question_kind(question) == kind
