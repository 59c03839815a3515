"""Question analysis: what a question asks for, before any evidence is scored.

Split compound questions into parts answerable from one place, tell the kind
of fact asked for (date, number, person...), find the speaker in "What did X
say", the asked-for noun in "Which seas...", and the target of "Which
documents mention X?".

>>> split_question("Where did Clinton meet Kishida, and where did Tillerson meet him?")
['Where did Clinton meet Kishida?', 'where did Tillerson meet him?']
>>> split_question("What did Tillerson and Clinton say about the Senkaku islands?")
['What did Tillerson say about the Senkaku islands?', 'What did Clinton say about the Senkaku islands?']
>>> split_question("When did Tillerson and Clinton meet?")
['When did Tillerson and Clinton meet?']
>>> question_kind("How many times had Kishida talked with Tillerson?")
'frequency'
"""

from __future__ import annotations

import re

MAX_PARTS = 3

# -- compound questions ------------------------------------------------------

_CLAUSES = re.compile(r"\s*[,;]?\s+and\s+(?=(?:which|what|who|whom|where|when|how|why)\b)", re.IGNORECASE)
# Two names (or years) joined by "and": "Tillerson and Clinton", "in 2013 and in 2017".
_PAIR_ITEM = r"(?:[A-Z][\w.’'-]*(?:\s+[A-Z][\w.’'-]*){0,2}|(?:19|20)\d\d)"
_PAIR = re.compile(
    rf"(?P<pre>\b(?:in|on|by|from|between)\s+)?(?P<a>{_PAIR_ITEM})"
    rf"\s+and\s+(?:(?:in|on|by|from)\s+)?(?P<b>{_PAIR_ITEM})")
# Verbs that make a pair of people one event ("When did X and Y meet?"): such a pair
# stays together, so a pair the corpus never mentions together is refused.
_JOINT = re.compile(
    r"\b(?:meet|met|meeting|together|joint(?:ly)?|each other|discuss(?:ed)?|talk(?:ed)?|"
    r"hold|held|sign(?:ed)?|agree(?:d)?|shake|shook|in common|disputed?|claim(?:ed|s)?|negotiat\w*|relations?)\b",
    re.IGNORECASE,
)
_YEAR = re.compile(r"(?:19|20)\d\d")


def split_question(question: str) -> list[str]:
    """Independent parts of a compound question (the question itself when it has one part)."""
    parts = [p.strip() for p in _CLAUSES.split(question) if p and p.strip()]
    if len(parts) > 1:
        parts = [p if p.rstrip().endswith("?") else p.rstrip(" ,;") + "?" for p in parts]
        return parts[:MAX_PARTS]
    m = _PAIR.search(question)
    if not m or m.start("a") == 0:
        return [question]
    years = bool(_YEAR.fullmatch(m.group("a")) and _YEAR.fullmatch(m.group("b")))
    if not years and _JOINT.search(question):
        return [question]
    pre = (m.group("pre") or "").replace("between ", "in ")
    head, tail = question[:m.start()], question[m.end():]
    return [f"{head}{pre}{m.group('a')}{tail}", f"{head}{pre}{m.group('b')}{tail}"]


# -- what kind of fact is asked for ----------------------------------------------

_SEPARATELY = re.compile(r"\b(?:both|each|respectively|compare[ds]?|differ(?:ed|ence)?)\b", re.IGNORECASE)


def asks_separately(question: str) -> bool:
    """Does the question ask about several people or times one by one ("both
    Clinton and Tillerson", "in each case")? Then they need not appear together.

    >>> asks_separately("What did both Clinton and Tillerson call the alliance?")
    True
    """
    return bool(_SEPARATELY.search(question))


# Nouns that name the type of an answer ("which venue", "what day"), not an attribute
# the corpus must hold ("the population of", "on the menu"): plain English, not corpus words.
TYPE_NOUNS = frozenset("""
venue city cities country countries place places location locations company companies organization
day days date dates time times year years month months week weeks kind type sort person people
official officials name names title titles position post role meal event events document documents
file files island islands sea seas program programs issue issues agreement agreements treaty
convention list number amount steps step way ways thing things part parts topic topics subject
""".split())
_FOCUS = re.compile(
    r"^\s*(?:what|which)\s+(?:(?:is|was|are|were)\s+(?:(?:on|in|at|of)\s+)?(?:the|a|an)\s+)?(?P<noun>[a-z]+)\b",
    re.IGNORECASE)
_NOT_NOUNS = frozenset("is was are were did does do has had have will would can could should may might".split())


def asked_attribute(question: str) -> str | None:
    """The attribute a question asks for, when it names one: "What is the
    population of Tokyo?" -> "population", "What was on the menu?" -> "menu";
    None for answer types ("Which venue...") and other shapes.

    >>> asked_attribute("What was on the menu at the working dinner?"), asked_attribute("Which venue was it?")
    ('menu', None)
    """
    m = _FOCUS.match(question)
    if not m:
        return None
    noun = m.group("noun").lower()
    if noun in _NOT_NOUNS or noun in TYPE_NOUNS or noun in ("the", "a", "an"):
        return None
    return noun


def question_kind(question: str) -> str:
    """One of frequency, duration, number, date, place, person, other."""
    q = question.lower()
    if re.search(r"\bhow (?:many|much) times\b|\bhow often\b", q):
        return "frequency"
    if re.search(r"\bhow long\b|\bfor how (?:long|many (?:hours|minutes|days))\b", q):
        return "duration"
    if re.search(r"\bhow (?:many|much|far|close|old)\b|\bwhat (?:number|percentage)\b", q):
        return "number"
    if re.search(r"\bwhen\b|\b(?:what|which) (?:date|day|time|year|month)\b|\bwhat time\b", q):
        return "date"
    if re.search(r"\bwhere\b|\b(?:what|which) (?:city|country|place|venue|location)\b"
                 r"|\bin which (?:city|country)\b", q):
        return "place"
    if re.search(r"\bwho\b|\bwhose\b|\b(?:what|which) (?:person|official)\b|\bby whom\b|\baccording to whom\b", q):
        return "person"
    return "other"


def is_list_question(question: str) -> bool:
    """Does the question ask for several things ("Which seas...", "List...")?"""
    q = question.lower()
    return bool(re.match(r"\s*(?:which|what)\s+(?:[a-z-]+\s+)?\w+s\b", q)
                or re.search(r"\blist\b|\ball\b|\bwhat are\b|\bwhat steps\b", q))


_HEAD = re.compile(r"^\s*(?:which|what)\s+(?:(?:[A-Za-z-]+)\s+)?(?P<noun>[a-z]+s)\b")


def asked_noun(question: str) -> str | None:
    """The plural noun a list question asks for: "Which seas did..." -> "seas"."""
    m = _HEAD.match(question.lower())
    return m.group("noun") if m else None


_SPEAKER = re.compile(
    r"\b(?:[Ww]hat (?:did|does|has|had|will|would)|[Cc]onfirm that|[Ii]s it true that|[Dd]id|[Dd]oes) "
    r"(?P<who>(?:[A-Z][\w.’'-]*\s+){0,3}[A-Z][\w’'-]*)\s+"
    r"(?:say|said|state|tell|told|think|announce|stress|claim|argue|comment|remark|express|assert|note)\b")


def asked_speaker(question: str) -> str | None:
    """The person in "What did <Name> say ...", if the question has that shape.

    >>> asked_speaker("Confirm that Tillerson said Japan should leave.")
    'Tillerson'
    """
    m = _SPEAKER.search(question)
    return m.group("who") if m else None


# -- "which documents mention X?" --------------------------------------------------

_DOCS = r"(?:documents?|files?|sources?|articles?|texts?|reports?|pages?)"
_VERB = (r"(?:mention(?:s|ed)?|discuss(?:es|ed)?|cover(?:s|ed)?|talk(?:s|ed)? about|refer(?:s|red)? to|"
         r"reference(?:s|d)?|contain(?:s|ed)?|name(?:s|d)?|cite(?:s|d)?|say anything about|speak(?:s)? (?:of|about))")
_END = r"\s*[?.!]*\s*$"
_MENTIONS = [re.compile(p, re.IGNORECASE) for p in (
    rf"^\s*(?:which|what)\s+(?:of the\s+)?{_DOCS}\s+(?:in the corpus\s+)?(?:\w+\s+)?{_VERB}\s+(?P<target>.+?){_END}",
    rf"^\s*(?:list|name|show)\s+(?:me\s+)?(?:all\s+)?(?:the\s+)?{_DOCS}\s+(?:that|which)\s+{_VERB}\s+"
    rf"(?P<target>.+?){_END}",
    rf"^\s*(?:in\s+)?which\s+{_DOCS}\s+(?:is|are|was|were)\s+(?P<target>.+?)\s+"
    rf"(?:mentioned|discussed|cited|referenced|named|covered)(?:\s+in)?\s*[?.!]*\s*$",
    rf"^\s*(?:do|does)\s+any\s+(?:of the\s+)?{_DOCS}\s+{_VERB}\s+(?P<target>.+?)\s*[?.!]*\s*$",
)]


def mentions_target(question: str) -> str | None:
    """X in "Which documents mention X?" (and usual variants), else None.

    >>> mentions_target("In which documents is Putin mentioned?")
    'Putin'
    """
    for pat in _MENTIONS:
        m = pat.match(question)
        if m:
            target = m.group("target").strip().strip("\"'“”‘’").rstrip("?. ")
            return re.sub(r"^(?:the|a|an)\s+", "", target, flags=re.IGNORECASE)
    return None
