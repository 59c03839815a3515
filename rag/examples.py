"""Example questions drawn from the corpus, for a new user facing an empty chat.

Names that recur in the indexed text become questions of three kinds: what a
speaker said, what is said about a topic, which documents mention something.
Each candidate is asked for real (extractive answerer) and kept only when the
corpus answers it with a citation, so an example never leads to a refusal.

>>> from rag import Settings
>>> example_questions(Settings(), 3)  # doctest: +SKIP
['What did Secretary Tillerson say?', 'What is said about the Senkaku Islands?', ...]
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

from .settings import Settings
from .types import Chunk

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
Photo Image Figure Table Page Read Print Share Official Blog Click Mr Ms""".split())
EXAMPLE_CHUNKS = 2000  # chunks spread over the corpus that candidate questions are drawn from
MAX_TRIES = 12  # each try is one extractive answer (~10-300 ms)


def example_questions(settings: Settings, n: int = 3) -> list[str]:
    """Up to ``n`` questions the indexed corpus answers, drawn from its text
    (deterministic for a given index). Empty when there is no index."""
    from .indexing import index_exists
    from .pipeline import _loading_part, engine_for

    try:
        if not index_exists(settings):
            return []  # examples never build an index as a side effect
        chunks = engine_for(_loading_part(settings)).retriever.sample(EXAMPLE_CHUNKS)
    except Exception:  # no index yet, or the store is unreachable: no examples, no error
        return []
    verified: list[tuple[int, str]] = []  # (kind, question) in candidate order
    for kind, question in candidate_questions(chunks, with_kind=True)[:MAX_TRIES]:
        if _answered(question, settings):
            verified.append((kind, question))
        if len({k for k, _ in verified}) == 3 and len(verified) >= n:
            break
    # One of each kind first (a speaker, a topic, a corpus scan), then the rest in order.
    firsts = [next(q for kk, q in verified if kk == k) for k in dict.fromkeys(k for k, _ in verified)]
    return (firsts + [q for _, q in verified if q not in firsts])[:n]


def candidate_questions(chunks: list[Chunk], with_kind: bool = False) -> list:
    """Questions from recurring names, best first, alternating the three kinds
    (with ``with_kind``, as ``(kind, question)`` pairs: 0 speaker, 1 topic, 2 scan).

    >>> c = [Chunk("1", "a.txt", 0, 60, "Secretary Clinton said the Senkaku Islands matter.", ""),
    ...      Chunk("2", "b.txt", 0, 60, "The Senkaku Islands were discussed by Secretary Clinton.", "")]
    >>> candidate_questions(c)
    ['What did Secretary Clinton say?', 'What is said about the Senkaku Islands?', 'Which documents mention the Senkaku Islands?']
    """
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

    people = [k for k in sorted(speakers, key=lambda k: (-speakers[k], -len(files[k]), k)) if _is_person(k)]
    topics = [k for k in ranked if k not in speakers and not _is_person(k)]
    kinds = [
        [f"What did {p} say?" for p in people],
        [f"What is said about {the(t)}?" for t in topics],
        [f"Which documents mention {the(t)}?" for t in topics if len(files[t]) > 1],
    ]
    out: list[tuple[int, str]] = []
    for i in range(max(map(len, kinds), default=0)):
        for k, kind in enumerate(kinds):
            if i < len(kind) and all(kind[i] != q for _, q in out):
                out.append((k, kind[i]))
    return out if with_kind else [q for _, q in out]


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
    words = name.split()
    return words[0] in _TITLES and words[-1] not in _TITLES and len(words) <= 4


def _answered(question: str, settings: Settings) -> bool:
    """Does the extractive answerer answer ``question`` with a citation and no warning?"""
    from .pipeline import ask

    try:
        answer = ask(question, settings=settings.replace(answerer="extractive"))
    except Exception:
        return False
    return not answer.refused and bool(answer.citations) and not answer.warnings
