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

from rag.text import STOPWORDS

MAX_PARTS = 3

# -- compound questions ------------------------------------------------------

_CLAUSES = re.compile(r"\s*[,;]?\s+and\s+(?=(?:which|what|who|whom|where|when|how|why)\b)", re.IGNORECASE)
# Two names (or years) joined by "and": "Tillerson and Clinton", "in 2013 and in 2017".
# Names are capitalised words ("Tillerson", "Hillary Clinton"); acronyms and code ("PGO and LTO",
# "json_insert and json_set") name one topic asked about together, so they are not split.
_PAIR_ITEM = r"(?:[A-Z][a-z][\w.’'-]*(?:\s+[A-Z][a-z][\w.’'-]*){0,2}|(?:19|20)\d\d)"
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
    if not years and (_JOINT.search(question) or m.group("pre") and m.group("pre").startswith("between")):
        return [question]  # one event, or a comparison "between X and Y": it needs both names at once
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


# Words that name the type of an answer ("what value", "which kind"), not something the
# evidence must mention: plain English, the same in every corpus.
_GENERIC = frozenset("""
value values name names kind kinds type types sort way ways thing things one ones number numbers amount
part parts example examples option options difference purpose reason meaning version versions release
releases year years date dates time times day days month months
""".split())
_VERBS = r"(?:does|do|did|is|are|was|were|can|could|will|would|should|has|have|had|must|may|might)"
_ATTRIBUTE = [re.compile(p, re.IGNORECASE) for p in (
    rf"\bhow (?:many|much) (?P<a>(?:[\w-]+ ){{0,3}}?[\w-]+?)(?: {_VERBS}\b| (?:in|of|for|on|at|per|to|by|can|get)\b|\s*[?.]|$)",
    rf"^\W*(?:what|which) {_VERBS} (?:the|a|an) (?P<a>[\w-]+(?: [\w-]+){{0,2}}?)(?:,| (?:of|for|in|on|does|do|did|is|are|was|were|can|should|will|has|have|that|when)\b)",
    rf"^\W*(?:what|which) (?P<a>[\w-]+(?: [\w-]+)?) {_VERBS}\b",
    rf"^\W*what {_VERBS} (?:on|in|at) (?:the|a|an) (?P<a>[\w-]+)\b",
)]


def asked_type(question: str) -> list[str]:
    """The noun of "Which <noun> did..." questions: the type of the answer ("Which
    company...": Exxon is one), which the corpus need not name as such.

    >>> asked_type("Which company was he chief executive of?"), asked_type("What is the size of X?")
    (['company'], [])
    """
    m = _ATTRIBUTE[2].search(question)
    if not m:
        return []
    return [w for w in m.group("a").split() if w.lower() not in _GENERIC and w.lower() not in STOPWORDS]


def asked_attribute(question: str) -> list[str]:
    """The words naming what a question asks for ("How many bins does hist()
    use?" -> ["bins"]; "What is the default timeout of X?" -> ["default",
    "timeout"]): evidence that never mentions them answers another question.
    Answer-type words ("what value", "which kind") and stop words are left out.

    >>> asked_attribute("How many stable Ruff rules does Hatch select?"), asked_attribute("What is the maximum length of a name?")
    (['rules'], ['maximum', 'length'])
    """
    for pat in _ATTRIBUTE:
        m = pat.search(question)
        if not m:
            continue
        words = [w for w in m.group("a").split() if w.lower() not in _GENERIC and w.lower() not in STOPWORDS]
        if pat is _ATTRIBUTE[0]:
            words = words[-1:]  # "how many stable Ruff rules": the counted thing is the head noun
        return words
    return []


_AUX = r"(?:did|does|do|was|were|is|are|will|would|has|have|had|can|could|should)"


def question_kind(question: str) -> str:
    """One of frequency, duration, number, version (a release or date), date, place, person,
    literal (a file, command, option, URL... asked for by name), how (a way to
    do something), other.

    >>> question_kind("Since which version is the field honoured?"), question_kind("What file does it load?")
    ('version', 'literal')
    """
    q = question.lower()
    if re.search(r"\bhow (?:many|much) times\b|\bhow often\b", q):
        return "frequency"
    if re.search(r"\bhow long\b.*\b(?:take|took|taken|last|lasted|lasts|wait|waited|ago|stay|stayed|spend|spent|"
                 r"keep|kept|retain|retained|run|ran|remain|remained)\b|\bfor how (?:long|many (?:hours|minutes|days))\b",
                 q):
        return "duration"
    if re.search(r"\bhow (?:many|much|far|close|old|large|big|small|long|wide|deep|high|deeply)\b|"
                 r"\bwhat (?:number|percentage)\b|"
                 r"\b(?:maximum|minimum|max|min|largest|smallest|highest|lowest|upper|lower) (?:number|size|length|"
                 r"value|limit|count|amount)\b|\bhow long can\b", q):
        return "number"
    if re.search(r"\b(?:what|which) (?:\w+ )?(?:release|version)s?\b|\bsince (?:which|what)\b|"
                 r"\bin (?:which|what) (?:release|version)\b|\bwhen (?:was|were|did)\b.*\b(?:added|introduced|"
                 r"removed|deprecated|changed|released|dropped|renamed)\b", q):
        return "version"
    if re.search(rf"\bwhen {_AUX}\b|"
                 r"\b(?:what|which) (?:date|day|time|year|month)\b|\bwhat time\b|"
                 r"\bsince (?:which|what)\b|\bin (?:which|what) (?:release|version|year)\b", q):
        return "date"
    if re.search(r"\b(?:what|which) (?:\w+ )?(?:file|filename|file name|command|flag|option|url|path|directory|"
                 r"folder|variable|environment variable|setting|parameter|argument|function|macro|pragma|keyword|"
                 r"extension|username|key|field|syntax|module|package|method|class|header|format|value)s?\b", q):
        return "literal"
    if re.search(r"^\W*(?:(?:and|so|but|then)\s+)?how\b(?! (?:many|much|long|often|far|old|large|big|small|close))|"
                 r"\bhow (?:do|can|should|would|could|to)\b|\bwhat (?:do|should|can) (?:i|you|we)\b", q):
        return "how"
    if re.search(r"\bwhere\b|\b(?:what|which) (?:city|country|place|venue|location)\b"
                 r"|\bin which (?:city|country)\b", q):
        return "place"
    if re.search(r"\bwho\b|\bwhose\b|\b(?:what|which) (?:person|official)\b|\bby whom\b|\baccording to whom\b", q):
        return "person"
    return "other"


def is_list_question(question: str) -> bool:
    """Does the question ask for several things ("Which seas...", "List...",
    "In which order...")?

    >>> is_list_question("Which files are always included?"), is_list_question("What is WAL?")
    (True, False)
    """
    q = question.lower()
    return bool(re.match(r"\s*(?:which|what)\s+(?!(?:is|are|was|were|does|do|did|has|have)\b)(?:[a-z-]+\s+)?"
                         r"\w{2,}s\b(?!\s+(?:is|was|does|has)\b)", q)
                or re.search(r"\blist\b|\ball the\b|\bwhat are the\b|\bwhat steps\b|\bin (?:which|what) order\b", q))


_DEFINE = [re.compile(p, re.IGNORECASE) for p in (
    r"^\W*what\s+(?:is|are|was|were)\s+(?:a|an|the)?\s*(?P<x>[^?]+?)\s*(?:\b(?:used|meant|good|for|in|on|of)\b[^?]*)?\?*\s*$",
    r"^\W*what\s+(?:does|do|did)\s+(?:a|an|the)?\s*(?P<x>[^?]+?)\s+(?:do|mean|control|stand for|return|tell)\b[^?]*\?*\s*$",
    r"^\W*(?:define|explain|describe)\s+(?:a|an|the)?\s*(?P<x>[^?]+?)\s*[.?]*\s*$",
)]


def defined_term(question: str) -> str | None:
    """The thing a definition question asks about ("What is a checkpoint in WAL
    mode?" -> "checkpoint"; "What does the sep2 argument control?" -> "sep2 argument").

    >>> defined_term("What is a checkpoint in WAL mode?"), defined_term("What does diag(k) do?")
    ('checkpoint', 'diag(k)')
    """
    for pat in _DEFINE:
        m = pat.match(question.strip())
        if m:
            x = m.group("x").strip(" ,")
            if x and len(x.split()) <= 5 and not re.match(r"(?:the )?(?:difference|default|maximum|minimum)\b", x, re.I):
                return x
    return None


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
