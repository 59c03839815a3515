"""Example questions drawn from the corpus, for a new user facing an empty chat.

Questions a person would ask, taken from the documents' own structure:

* FAQ entries: a heading (or a line on its own) that is a question is used as it is;
* definitions: "Hatch is a modern project manager." gives "What is Hatch?";
* headings: "Installing Hatch" gives "How do I install Hatch?", "Libraries vs
  applications" "What is the difference between libraries and applications?",
  "Environment variables" "What are environment variables?";
* names, for text without headings (news, letters): people quoted give "What did
  Secretary Tillerson say?", places "Where are the Senkaku Islands?", others
  "What is the Security Council?".

Each candidate is asked for real (extractive answerer) and kept only when the
corpus answers it with a citation and no warning, so an example never leads to a
refusal.

>>> from rag import Settings
>>> example_questions(Settings(), 3)  # doctest: +SKIP
['How do I install Hatch?', 'What is Hatch?', 'What did Secretary Tillerson say?']
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

from rag.settings import Settings
from rag.objects import Chunk

# "Rex Tillerson", "UN Security Council Resolutions", "Republic of Korea".
_NAME = re.compile(r"\b(?:[A-Z][a-z]+|[A-Z]{2,})(?:[ -](?:of |the |de |van )?(?:[A-Z][a-z]+|[A-Z]{2,}))+\b")
_SPEECH = r"(?:said|says|stated|states|told|asserted|commented|noted|explained|stressed|wrote|writes|argued)"
_TITLES = frozenset("""Mr Ms Mrs Dr Prof Professor Secretary Minister President Prime Foreign Deputy Vice
Ambassador Senator Governor Chairman Chair Director General Chief Officer Judge Mayor Sir Dame Lord
King Queen Pope Captain Colonel Commander Spokesman Spokeswoman Spokesperson State""".split())
# Capitalised only because they open a sentence or a date; never a topic.
_GENERIC = frozenset("""The A An This That These Those In On At For From With By Of And But Or If When While
Where What Which Who How Why It Its He She They We Our Their His Her After Before During Since Until
Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May June July
August September October November December Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec
Photo Image Figure Table Page Read Print Share Official Blog Click Mr Ms Here There Now Today Also Then
Each Every Some All Both Another One Such Other Its Note See Example Examples Below Above Yes No""".split())
_DETERMINERS = frozenset("the a an your my our their its this that these those each every all any some multiple "
                         "several".split())
_BODIES = frozenset("""Department Ministry Council Office Agency Committee Commission Administration Government
Cabinet Embassy House Senate Congress Parliament Court Bureau Service Forces Force Army Navy""".split())
_PLACES = frozenset("""Island Islands Sea Ocean River Mountain Mountains Peninsula Strait Bay Lake City
Prefecture Province State County Region Valley Base Station Airport Port""".split())
# A definition: "Hatch is a ...", "SQLite is the ...", "Virtual environments are ..." opening a sentence.
_DEFINES = re.compile(r"(?m)(?:^|(?<=[.!?] ))([A-Z][\w.+-]*(?: [\w.+-]+){0,2}) (is|are) (?:a|an|the) \w")
_QUESTION_LINE = re.compile(r"^\s*(?:\(?\d+[.)]\s*|Q:\s*)?((?:How|What|Why|When|Where|Which|Who|Can|Does|Do|Is|Are|Should"
                            r"|Will|Must)\b[^?\n]{6,120}\?)\s*$", re.MULTILINE)
EXAMPLE_CHUNKS = 2000  # chunks spread over the corpus that candidate questions are drawn from
MAX_TRIES = 16  # each try is one extractive answer (~10-300 ms)
# Kinds of question, in the order they are preferred.
FAQ, HOW, DEFINE, WHAT, PERSON, NAME = range(6)


def example_questions(settings: Settings, n: int = 3) -> list[str]:
    """Up to ``n`` questions the indexed corpus answers, drawn from its text
    (deterministic for a given index). Empty when there is no index."""
    from rag.store import index_exists
    from rag import engine

    try:
        if not index_exists(settings):
            return []  # examples never build an index as a side effect
        chunks = engine(settings).retriever.sample(EXAMPLE_CHUNKS)
    except Exception:  # no index yet, or the store is unreachable: no examples, no error
        return []
    verified: list[tuple[int, str]] = []  # (kind, question) in candidate order
    for kind, question in _spread(candidate_questions(chunks, with_kind=True))[:MAX_TRIES]:
        if _answered(question, settings):
            verified.append((kind, question))
        if len(verified) >= n and len({k for k, _ in verified}) >= min(n, 3):
            break
    # Different kinds first (an FAQ, a how-to, a definition...), then the rest in order.
    firsts = [next(q for kk, q in verified if kk == k) for k in dict.fromkeys(k for k, _ in verified)]
    return (firsts + [q for _, q in verified if q not in firsts])[:n]


def candidate_questions(chunks: list[Chunk], with_kind: bool = False) -> list:
    """Questions from the chunks' structure and names, best kinds first (with
    ``with_kind``, as ``(kind, question)`` pairs; kinds: FAQ, HOW, DEFINE, WHAT,
    PERSON, NAME).

    >>> from rag.objects import Block
    >>> c = [Chunk("1", "a.md", 0, 99, "Installing Hatch\\n\\nHatch is a project manager. Install it.", "",
    ...            blocks=(Block("heading", 0, 16, 2),)),
    ...      Chunk("2", "b.txt", 0, 60, "Secretary Clinton said the Senkaku Islands matter.", ""),
    ...      Chunk("3", "c.txt", 0, 60, "The Senkaku Islands were discussed by Secretary Clinton.", "")]
    >>> candidate_questions(c)
    ['How do I install Hatch?', 'What is Hatch?', 'What did Secretary Clinton say?', 'Where are the Senkaku Islands?']
    """
    corpus = _Usage(chunks)
    found: dict[str, tuple[int, int]] = {}  # question -> (kind, first seen)

    def add(kind: int, question: str | None) -> None:
        if question and question not in found and 12 <= len(question) <= 110:
            found[question] = (kind, len(found))

    for c in chunks:
        for heading in _headings(c):
            add(*_from_heading(heading, corpus))
        for m in _QUESTION_LINE.finditer(c.text):
            add(FAQ, " ".join(m.group(1).split()))
        for m in _DEFINES.finditer(c.text):
            term = m.group(1).rstrip(".")
            words = term.split()
            if words[0] in _GENERIC:
                continue  # "Here is a", "This is the": not a name
            if len(words) == 1 or all(not w.islower() for w in words[1:]):
                add(DEFINE, f"What {m.group(2)} {term}?")
    for kind, q in _from_names(chunks):
        add(kind, q)
    ranked = sorted(found.items(), key=lambda kv: kv[1])
    ranked.sort(key=lambda kv: kv[1][0])  # stable: kinds in order of preference, each in corpus order
    return [(k, q) for q, (k, _) in ranked] if with_kind else [q for q, _ in ranked]


def _spread(candidates: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Candidates interleaved by kind (the best of each kind first), so a few
    tries reach questions of several kinds."""
    by_kind: dict[int, list[str]] = defaultdict(list)
    for k, q in candidates:
        by_kind[k].append(q)
    out: list[tuple[int, str]] = []
    for i in range(max(map(len, by_kind.values()), default=0)):
        out.extend((k, qs[i]) for k, qs in sorted(by_kind.items()) if i < len(qs))
    return out


def _headings(chunk: Chunk) -> list[str]:
    """The texts of the chunk's heading blocks."""
    out = []
    for b in chunk.blocks:
        if b.kind == "heading":
            text = " ".join(chunk.text[max(0, b.start - chunk.start):b.end - chunk.start].split()).strip("#: ")
            if text:
                out.append(text)
    return out


class _Usage:
    """How the sampled text writes words and phrases: for sentence case and articles."""

    def __init__(self, chunks: list[Chunk]) -> None:
        self.text = " ".join(" ".join(c.text.split()) for c in chunks).lower()
        words = Counter(re.findall(r"[A-Za-z]+", " ".join(c.text for c in chunks)))
        self.lower = {w for w, n in words.items() if w.islower() and n >= words.get(w.capitalize(), 0)}
        self.vocabulary = {w.lower() for w in words}

    def sentence_case(self, phrase: str) -> str:
        """A heading's first word lowered when the text writes it in lower case
        ("Climate change" -> "climate change"; "Python versions" stays)."""
        first, _, rest = phrase.partition(" ")
        if first[:1].isupper() and first[1:].islower() and first.lower() in self.lower:
            first = first.lower()
        return first + (" " + rest if rest else "")

    def count(self, phrase: str) -> int:
        """How often the text says ``phrase`` (any case)."""
        return len(re.findall(rf"\b{re.escape(phrase.lower())}\b", self.text))

    def article(self, phrase: str) -> str:
        """"the " when the text mostly says "the <phrase>" ("the test command"),
        else nothing ("static analysis", "climate change")."""
        x = re.escape(phrase.lower())
        with_the = len(re.findall(rf"\bthe {x}\b", self.text))
        return "the " if with_the and 2 * with_the >= self.count(phrase) else ""


def _from_heading(heading: str, corpus: _Usage) -> tuple[int, str | None]:
    """A question a heading stands for, or None (dates, versions, titles, single words).

    >>> u = _Usage([Chunk("1", "a", 0, 1, "You install, configure and run the test command. Set environment "
    ...                   "variables (environment variables are...); static analysis helps. The test command and "
    ...                   "static analysis matter; environment variables and the test command, libraries, static analysis.", "")])
    >>> [_from_heading(h, u)[1] for h in ["Why Hatch?", "How to publish a package", "Configuring the build",
    ...     "Libraries vs applications", "Environment variables", "Options", "1.2.0 - 2024-01-01"]]
    ['Why Hatch?', 'How do I publish a package?', 'How do I configure the build?', 'What is the difference between libraries and applications?', 'What are environment variables?', None, None]
    >>> [_from_heading(h, u)[1] for h in ["Test command", "2.1 Static analysis", "Tillerson in Japan", "print PRINT"]]
    ['What is the test command?', 'What is static analysis?', None, None]
    """
    h = re.sub(r"^\(?\d+(?:\.\d+)*[.)]?\s+", "", heading.strip())  # "(2) Okinawa", "4.1 Options"
    if h.endswith("?") and len(h.split()) >= 2:
        return FAQ, h
    words = h.split()
    if re.search(r"[\d{}\[\]()#:=/<>`|@]", h) or len(h) > 60 or not h[:1].isupper() \
            or len({w.lower() for w in words}) < len(words):
        return WHAT, None
    if re.match(r"(?i)how to ", h):
        return HOW, f"How do I {' '.join(words[2:])}?"
    # "Installing Vole", "Configuring the build", "Upgrading dependencies"; not "Packaging ecosystem" (a noun).
    if len(words) >= 2 and words[0].endswith("ing") and len(words[0]) > 5 and (
            words[1].lower() in _DETERMINERS or words[1][:1].isupper() or words[1].endswith("s")):
        base = _verb(words[0].lower(), corpus.vocabulary)
        if base:
            return HOW, f"How do I {base} {' '.join(words[1:])}?"
    vs = re.split(r"\s+(?:vs\.?|versus)\s+", h, flags=re.IGNORECASE)
    if len(vs) == 2 and all(vs):
        return WHAT, (f"What is the difference between {corpus.sentence_case(vs[0])} "
                      f"and {corpus.sentence_case(vs[1])}?")
    # A concept in sentence case ("Environment variables"), not a title ("Tillerson in Japan").
    if 2 <= len(words) <= 5 and words[0] not in _GENERIC and words[0].isalpha() \
            and all(w.islower() or w.isupper() for w in words[1:]):
        last = words[-1].lower()
        plural = last.endswith("s") and not last.endswith(("ss", "us", "is"))
        phrase = corpus.sentence_case(h)
        if corpus.count(phrase) < 3:  # a section title, not something the text talks about
            return WHAT, None
        return WHAT, f"What {'are' if plural else 'is'} {'' if plural else corpus.article(phrase)}{phrase}?"
    return WHAT, None


def _verb(gerund: str, vocabulary: set[str]) -> str | None:
    """The verb of a gerund, if the corpus uses it: "configuring" -> "configure"."""
    stem = gerund[:-3]
    for base in (stem, stem + "e", stem[:-1] if len(stem) > 2 and stem[-1] == stem[-2] else None):
        if base and base in vocabulary:
            return base
    return None


def _from_names(chunks: list[Chunk]) -> list[tuple[int, str]]:
    """Questions about recurring names: people quoted, places, other names."""
    files: dict[str, set[str]] = defaultdict(set)
    count: Counter = Counter()
    with_the: Counter = Counter()
    speakers: Counter = Counter()
    for c in chunks:
        for m in _NAME.finditer(c.text):
            name = _trim(m.group(0))
            if name is None:
                continue
            files[name].add(c.source)
            count[name] += 1
            if m.group(0).startswith("The ") or c.text[max(0, m.start() - 4):m.start()] == "the ":
                with_the[name] += 1
            after = c.text[m.end():m.end() + 24]
            before = c.text[max(0, m.start() - 12):m.start()]
            if re.match(rf",?\s*{_SPEECH}\b", after) or re.search(rf"\b{_SPEECH}\s+$", before):
                speakers[name] += 1
    ranked = sorted(count, key=lambda k: (-len(files[k]), -count[k], -len(k), k))

    def the(name: str) -> str:
        return f"the {name}" if with_the[name] * 2 > count[name] else name

    out: list[tuple[int, str]] = []
    for p in sorted(speakers, key=lambda k: (-speakers[k], -len(files[k]), k)):
        if _is_person(p):
            out.append((PERSON, f"What did {p} say?"))
    for t in ranked:
        if t in speakers or count[t] < 2:
            continue
        if _is_person(t):
            out.append((PERSON, f"Who is {t}?"))
            continue
        head = t.split(" of ")[0].split()[-1]  # "Bill of Materials" is one bill
        last = t.split()[-1]
        plural = head.endswith("s") and not head.endswith("ss")
        if last in _PLACES:
            out.append((NAME, f"Where {'are' if plural else 'is'} {the(t)}?"))
        else:
            out.append((NAME, f"What {'are' if plural else 'is'} {the(t)}?"))
    return out


def _trim(name: str) -> str | None:
    """Drop sentence-opening and date words at the ends; None when nothing
    specific is left ("The Secretary", "March 16")."""
    words = name.replace("-", " - ").split()
    while words and words[0] in _GENERIC:
        words = words[1:]
    while words and words[-1] in _GENERIC:
        words = words[:-1]
    if len(words) < 2 and not (words and words[0].isupper() and len(words[0]) > 2):
        return None
    if all(w in _TITLES or w in _GENERIC or w in ("of", "the", "-") for w in words):
        return None
    return " ".join(words).replace(" - ", "-")


def _is_person(name: str) -> bool:
    """A title, then a name: "Secretary Tillerson", "Secretary of State Rex Tillerson";
    not "State Department" or "Foreign Ministers".

    >>> [_is_person(n) for n in ["Secretary of State Rex Tillerson", "State Department", "Foreign Ministers"]]
    [True, False, False]
    """
    words = name.split()
    titles = [i for i, w in enumerate(words) if w in _TITLES]
    rest = words[titles[-1] + 1:] if titles else []
    return 1 <= len(rest) <= 3 and all(w[:1].isupper() and w not in _BODIES and w.rstrip("s") not in _TITLES
                                       for w in rest)


def _answered(question: str, settings: Settings) -> bool:
    """Does the extractive answerer answer ``question`` with a citation and no warning?"""
    from rag import ask

    try:
        answer = ask(question, settings=settings.replace(answerer="extractive"))
    except Exception:
        return False
    return not answer.refused and bool(answer.citations) and not answer.warnings
