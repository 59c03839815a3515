"""Answering, embedded default: an extractive, grounded answerer (no LLM).

Three steps over the retrieved passages:

1. **Units**: whole sentences, list items (with their lead-in), table rows
   and fields (:mod:`rag.retrieval.units`); headings and code are context, never answers.
2. **Evidence**: every unit is scored on signals that hold in any genre:
   embedding similarity to the question (the bundled MiniLM), how much of the
   question's weighted terms the unit and its headings cover (weights are the
   corpus's own inverse document frequencies), whether it holds the kind of
   fact asked for (a number for "how many", a date or version for "when"), and
   how well its passage was retrieved. The best one to three units form the
   answer, quoted verbatim with ``[n]`` markers.
3. **Refusal**: the corpus cannot answer when a name, number or identifier of
   the question appears nowhere in it, when the best evidence never mentions
   what the question is specifically about, when it lacks the kind of fact
   asked for, or when its score stays below the calibrated floor.

Weights and floors were set on the tuning suites of four corpora of different
genres (news prose, HTML reference docs, a Markdown handbook, PDF manuals) and
are checked on held-out splits of each (see ``evals/README.md``).

>>> ans = ExtractiveAnswerer(settings, embeddings).answer(q, passages, retriever, qv)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field

import numpy as np

from rag.answer.citations import citation_from_span
from rag.answer.questions import asked_attribute, asked_speaker, asked_type, asks_separately, defined_term, mentions_target, question_kind
from rag.settings import Settings
from rag.text import (INSTRUCTION, in_vocabulary, is_context_term, question_identifiers, salient_surface, same_word, sentence_spans,
                   stem, surface_of, terms, tokens, word_pieces, words)
from rag.objects import MAX_ANSWER_CHARS, Answer, Citation, Passage
from rag.retrieval import Unit, passage_units

log = logging.getLogger(__name__)

REFUSAL_PREFIX = "I can't answer that from the corpus"

# Evidence score of a unit: similarity + weighted term coverage + the kind of fact asked
# for (twice for numbers, dates and durations, which a unit either states or not).
# Fitted (softmax over each question's candidates) on the tuning suites of four corpora;
# richer feature sets did no better on the corpus left out.
WEIGHTS = {"dense": 0.725, "cover": 1.0, "kind": 0.307, "kind_exact": 0.33}
# In the order of Signals.ranking_features().
RANKING_WEIGHTS = [WEIGHTS["dense"], WEIGHTS["cover"], WEIGHTS["kind"], WEIGHTS["kind_exact"]]
# Confidence that the best evidence answers (logistic over the signals of the best unit
# and its margin over the second): fitted the same way, on answerable vs unanswerable
# questions that the rules below let through. Below CONFIDENT: refuse. It is kept
# permissive: past it, each refusal it adds costs about as many right answers.
CONFIDENCE = {"score": 0.889, "dense": 0.475, "cover": 0.625, "cover_own": 0.403, "attr_missing": -0.634,
              "ident_missing": -0.454, "margin": 0.447, "numeric": -0.597, "kind": 0.16, "bias": -0.047}
CONFIDENT = 0.7
RELEVANT_NEIGHBOUR = 0.15  # a neighbour joins the answer when it scores at least this share of the best
MAX_ABSENT_MASS = 0.5  # share of the question's weight the corpus never mentions
EXACT_KINDS = ("number", "date", "version", "duration", "frequency")

_DATE = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b|\b(?:1[5-9]|20)\d{2}\b|"
    r"\b\d{1,2}:\d{2}\b|\b[ap]\.m\.|\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b|"
    r"\b\d{4}-\d{2}-\d{2}\b",
    re.IGNORECASE)
_NUMBER = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundred|thousand|million|billion|trillion|dozens?|half|twice|once)\b", re.IGNORECASE)
_DURATION = re.compile(
    r"\b(?:\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|several|few)\s+"
    r"(?:and a half\s+)?(?:milli|micro)?(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?)\b",
    re.IGNORECASE)
_TIMES = re.compile(r"\b(?:\w+ times|once|twice|(?:first|second|third|\w+th) time)\b", re.IGNORECASE)
_NAME = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z]\.)?\s+[A-Z][a-z]+\b")
_PLACE = re.compile(r"\b(?:in|at|to|from|near)\s+(?:the\s+)?[A-Z][a-z]+")
# A value written as code or a name: a URL, a file name, an option, an identifier, a quoted literal.
_LITERAL = re.compile(r"https?://\S+|\b[\w-]+\.[A-Za-z]{1,5}\b|(?<!\w)--?[A-Za-z][\w-]+|\b\w+_\w+\b|"
                      r"\b[A-Z][A-Z0-9_]{2,}\b|[\"“'‘`][^\"”'’`\n]{1,40}[\"”'’`]|\w\s*=\s*\S|<\w+>|/\w+")
# A release: a version number ("3.9", "1.18.0", "v2") or the date it came out.
_VERSION = re.compile(_DATE.pattern + r"|\b\d+\.\d+\b|\bv\d+\b", re.IGNORECASE)
_KIND_PATTERNS = {"date": _DATE, "version": _VERSION, "number": _NUMBER, "duration": _DURATION, "frequency": _TIMES,
                  "person": _NAME, "place": _PLACE, "literal": _LITERAL, "how": _LITERAL}
@dataclass(frozen=True)
class Signals:
    """What a unit's evidence score is made of (all in [0, 1] but the words and kinds).

    The ranking features and the confidence features are defined here once: the
    answerer scores with them and ``evals/calibrate.py`` fits their weights.
    """

    dense: float  # cosine similarity of the unit to the question
    cover: float  # share of the question's weighted terms in the unit, its headings and lead-in
    cover_own: float  # the same in the unit alone
    kind: float  # 1.0 when the unit holds the kind of fact asked for (a date for "when"...)
    kind_asked: str
    attr_words: list[str]
    attr_missing: list[str]  # attribute words of the question the unit's context never mentions
    speaker: str | None = None  # "what did X say": X
    missing_specific: list[str] = field(default_factory=list)  # names/identifiers of the question it lacks
    kind_in_heading: bool = False  # the fact asked for is only in the unit's heading

    def ranking_features(self) -> list[float]:
        """The features weighted by WEIGHTS (dense, cover, kind, kind of an exact question)."""
        return [self.dense, self.cover, self.kind, self.kind * (self.kind_asked in EXACT_KINDS)]

    def confidence_features(self, score: float, margin: float) -> dict[str, float]:
        """The features weighted by CONFIDENCE, for the best unit (``margin``: its lead over the second)."""
        return {"score": score, "dense": self.dense, "cover": self.cover, "cover_own": self.cover_own,
                "attr_missing": float(bool(self.attr_missing)), "ident_missing": float(bool(self.missing_specific)),
                "margin": margin, "numeric": float(self.kind_asked in EXACT_KINDS), "kind": self.kind}

    def trace(self) -> dict:
        """The signals as logged in an answer's trace."""
        out = {"dense": self.dense, "cover": self.cover, "cover_own": self.cover_own, "kind": self.kind,
               "kind_asked": self.kind_asked, "attr_words": self.attr_words, "attr_missing": self.attr_missing}
        if self.speaker:
            out["speaker"] = self.speaker
        if self.kind_in_heading:
            out["kind_in_heading"] = True
        return out


@dataclass(frozen=True)
class Scored:
    """A unit with its evidence score and the signals behind it (None for a unit
    added only to complete the answer, such as a list's continuation)."""

    unit: Unit
    score: float
    signals: Signals | None = None


class ExtractiveAnswerer:
    """Selects evidence units and quotes them verbatim with citations."""

    name = "extractive"

    def __init__(self, settings: Settings, embeddings) -> None:
        self.settings = settings
        self.embeddings = embeddings

    # -- the public step -----------------------------------------------------------
    def answer(self, question: str, passages: list[Passage], retriever, query_vector,
               max_chars: int | None = None) -> Answer:
        """Compose a cited answer of at most ``max_chars`` (default MAX_ANSWER_CHARS) from ``passages``, or refuse."""
        max_chars = max_chars or MAX_ANSWER_CHARS
        target = mentions_target(question)
        if target:
            return self._which_documents(target, retriever)
        reason = self.unsupported_reason(question, passages, retriever)
        if reason:
            return refusal(reason)
        scored = self.score_units(question, passages, retriever, query_vector)
        reason, confidence = self.weak_reason(scored)
        if reason:
            return refusal(reason, scored[0].signals if scored else None, confidence)
        answer = compose(self.window(scored, retriever, max_chars))
        answer.trace["confidence"] = round(confidence, 3)
        return answer

    # -- refusal before evidence ----------------------------------------------------
    def unsupported_reason(self, question: str, passages: list[Passage], retriever) -> str | None:
        """Why the corpus cannot answer ``question`` whatever the evidence, or None:
        a name or identifier of the question that the corpus never mentions, or
        most of the question's weight on words the corpus never uses."""
        if not passages:
            return "nothing relevant was retrieved"
        vocab = retriever.idf
        known = lambda t: in_vocabulary(t, retriever.vocab_sorted, vocab)  # noqa: E731
        missing = [w for w in salient_surface(question) if not known(stem(w))]
        # "What was on the menu?": the thing asked for must be something the corpus speaks of.
        kinds = set(asked_type(question))  # "which company": the answer's type, not a word it must use
        missing += [w for w in asked_attribute(question)
                    if not all(known(t) for t in word_pieces(w)) and w not in missing and w not in kinds]
        missing += [i for i in question_identifiers(question) if i.lower() not in retriever.identifiers]
        if missing:
            return f"the corpus never mentions {_names(missing)}"
        q_terms = terms(question)
        if q_terms:
            rare = retriever.absent_weight
            total = sum(vocab.get(t, rare) for t in q_terms)
            absent = [t for t in q_terms if not known(t)]
            if total and rare * len(absent) / total > MAX_ABSENT_MASS:
                written = surface_of(question)
                return f"the corpus has nothing on {_names([written.get(t, t) for t in absent])}"
        return None

    def weak_reason(self, scored: list[Scored]) -> tuple[str | None, float]:
        """(why the best evidence does not answer or None, the confidence that it does)."""
        if not scored:
            return "no passage holds a sentence close enough to the question", 0.0
        best = scored[0].signals
        confidence = _confidence(scored)
        if best.missing_specific:
            return f"no passage says anything about {_names(best.missing_specific)}", confidence
        if best.attr_missing and all(s.signals.attr_missing for s in scored):
            return f"the passages never mention the {' '.join(best.attr_words)} asked for", confidence
        if best.kind_asked in EXACT_KINDS and not best.kind:
            what = {"number": "number", "date": "date or version", "duration": "duration",
                    "frequency": "count", "version": "version or date"}[best.kind_asked]
            return f"the passages that match the question give no {what}", confidence
        if confidence < CONFIDENT:
            if best.speaker:
                return f"no passage reports {best.speaker} saying that", confidence
            return "no passage answers the question closely enough", confidence
        return None, confidence

    # -- evidence ----------------------------------------------------------------------
    def score_units(self, question: str, passages: list[Passage], retriever, query_vector) -> list[Scored]:
        """Every unit of ``passages`` scored against ``question``, best first."""
        # Text that addresses a model or its reader ("ignore previous instructions") is
        # never evidence: quoting it would pass the instruction on.
        units = [u for u in self.units(passages, retriever) if not INSTRUCTION.search(u.reading)]
        if not units:
            return []
        q = _QuestionTerms(question, retriever)
        dense = self._dense(query_vector, units, retriever)
        out: list[Scored] = []
        for u, d in zip(units, dense):
            own = set(tokens(u.reading))
            ctx = own | set(tokens(" ".join(u.headings))) | set(tokens(u.before))
            kind_ok, in_heading = q.holds_kind(u, question)
            signals = Signals(
                dense=round(float(d), 4),
                cover=round(q.coverage(ctx), 4),
                cover_own=round(q.coverage(own), 4),
                kind=1.0 if kind_ok else 0.0,
                kind_asked=q.kind,
                attr_words=q.attribute_words,
                attr_missing=[a for a, pieces in q.attribute if not all(_mentions(t, ctx) for t in pieces)],
                speaker=q.speaker_name or None,
                missing_specific=q.missing_specific(u, ctx),
                kind_in_heading=bool(in_heading),
            )
            score = sum(w * x for w, x in zip(RANKING_WEIGHTS, signals.ranking_features()))
            out.append(Scored(u, round(score, 4), signals))
        # Evidence that lacks what the question is specifically about answers another question;
        # for "how many"/"when" questions, evidence without a number or date answers none.
        exact = q.kind in EXACT_KINDS
        out.sort(key=lambda s: (not s.signals.missing_specific,
                                not exact or bool(s.signals.kind) + (not s.signals.kind_in_heading),
                                s.score), reverse=True)
        return out

    def units(self, passages: list[Passage], retriever) -> list[Unit]:
        """The candidate units of the passages, each once (chunks may overlap)."""
        seen: set[tuple[str, int, int]] = set()
        out: list[Unit] = []
        for p in passages:
            units = retriever.units(p)
            for u in units:
                key = (u.passage.source, u.start, u.end)
                if key not in seen:
                    seen.add(key)
                    out.append(u)
        return out

    def window(self, scored: list[Scored], retriever=None, max_chars: int = MAX_ANSWER_CHARS) -> list[Scored]:
        """The best unit with its neighbours in the same section of the same passage
        (the next one first), as many as fit in an answer: the sentence that states
        a fact often follows the one that matches the question best. A window that
        ends on a lead-in ("...as follows:") goes on into the next chunk; a date
        found only in the heading is quoted with the heading. In document order."""
        best = scored[0]
        same = sorted((s for s in scored if s.unit.passage.chunk_id == best.unit.passage.chunk_id
                       and s.unit.headings == best.unit.headings), key=lambda s: s.unit.start)
        i = next(k for k, s in enumerate(same) if s is best)
        lo = hi = i
        fits = lambda units: len(compose(units).text) <= max_chars  # noqa: E731
        # "Secretary Tillerson said:" belongs with the quote it introduces (also across chunks).
        intro = same[i - 1] if i > 0 else _previous_unit(best.unit, retriever)
        if intro is not None and intro.unit.text.rstrip().endswith(":") and fits([intro, same[i]]):
            if i > 0:
                lo = i - 1
            else:
                same.insert(0, intro)
                hi += 1
        # "This is the only way to...": a sentence that points back needs the one before it first.
        back = bool(_POINTS_BACK.match(best.unit.text))
        grown = True
        while grown:
            grown = False
            for j in ((lo - 1, hi + 1) if back and lo == i else (hi + 1, lo - 1)):
                # A neighbour that shares nothing with the question (by itself, not by the
                # headings it shares with the best one) is filler, not context.
                if 0 <= j < len(same) and _own(same[j]) >= RELEVANT_NEIGHBOUR * _own(best) \
                        and fits(same[min(lo, j):max(hi, j) + 1]):
                    lo, hi = min(lo, j), max(hi, j)
                    grown = True
                    break
        chosen = same[lo:hi + 1]
        if retriever is not None and _introduces(chosen[-1].unit):
            nxt = retriever.next_passage(chosen[-1].unit.passage)
            if nxt is not None:
                chunk = retriever.chunk(nxt.chunk_id)
                for u in passage_units(nxt, chunk.blocks if chunk is not None else ()):
                    if u.start < chosen[-1].unit.end or not fits(chosen + [Scored(u, 0.0)]):
                        break
                    chosen.append(Scored(u, 0.0))
        while len(chosen) > 1 and chosen[-1].unit.text.rstrip().endswith(":") and chosen[-1] is not best:
            chosen.pop()  # a lead-in whose continuation did not fit: never end on it
        if best.signals is not None and best.signals.kind_in_heading and retriever is not None:
            span = retriever.heading_span(best.unit.passage.source, best.unit.start, best.unit.headings[-1])
            if span is not None:
                hp, hs, he = span
                title = Scored(Unit(hp, hs, he, hp.text[hs - hp.start:he - hp.start], "heading"), 0.0)
                if fits([title] + chosen):
                    chosen = [title] + chosen
                else:
                    chosen = [title, best]
        return chosen

    def _dense(self, query_vector, units: list[Unit], retriever) -> np.ndarray:
        return retriever.unit_vectors(units) @ np.asarray(query_vector, dtype=np.float32)

    # -- corpus-wide questions ---------------------------------------------------------
    def _which_documents(self, target: str, retriever) -> Answer:
        """"Which documents mention X?": scan every chunk, cite every file."""
        want = set(tokens(target))
        if not want:
            return refusal(f"could not tell what to look for in {target!r}")
        phrase = re.compile(r"\b" + r"\W+".join(re.escape(w) for w in target.split()) + r"\b", re.IGNORECASE)
        hits: dict[str, tuple[Passage, int, int]] = {}
        # Only the chunks that hold every word of the target (from the lexicon), not the corpus.
        chunks = retriever.containing(sorted(want), skip_sources=hits)
        for c in chunks:
            if c.source in hits:
                continue
            p = Passage(c.id, c.source, c.start, c.end, c.text, 1.0)
            best = None
            for s, e in sentence_spans(c.text, base=c.start):
                sent = c.text[s - c.start:e - c.start]
                if phrase.search(sent):
                    best = (s, e)
                    break
                if best is None and want <= set(tokens(sent)):
                    best = (s, e)
            if best:
                hits[c.source] = (p, *best)
        if not hits:
            return refusal(f"no document mentions {target!r}")
        citations: list[Citation] = []
        parts = []
        for n, source in enumerate(sorted(hits), start=1):
            p, s, e = hits[source]
            citations.append(citation_from_span(n, p, s, e))
            parts.append(f"{source} [{n}]")
        noun = "document mentions" if len(hits) == 1 else "documents mention"
        text = f"{len(hits)} {noun} {target}: " + "; ".join(parts) + "."
        return Answer(text=text, citations=citations, refused=False,
                      trace={"mode": "corpus-scan", "target": target})


class _QuestionTerms:
    """The question's terms weighted by the corpus's inverse document frequency,
    its kind, what it asks for, and what it is specifically about (identifiers,
    rare names)."""

    def __init__(self, question: str, retriever) -> None:
        idf = retriever.idf
        absent = retriever.absent_weight
        self.kind = question_kind(question)
        self.terms = terms(question)
        self.attribute_words = asked_attribute(question)
        self.attribute = [(stem(w), word_pieces(w)) for w in self.attribute_words]
        # A term absent from the corpus weighs like a rare one: no unit covers that part of the question.
        self.weight = {t: (0.3 if is_context_term(t) else 1.0) * idf.get(t, absent) for t in self.terms}
        self.total = sum(self.weight.values()) or 1.0
        self.idents = question_identifiers(question)
        # Names must be met together: "When did Tillerson meet Clinton?" is not answered by a
        # document that never mentions one of them (unless the question asks about each one).
        phrases = _name_phrases(question)
        self.names = [] if len(phrases) < 2 or asks_separately(question) else phrases
        self.file_terms = retriever.file_terms
        self.file_idents = retriever.file_identifiers
        self.speaker_name = asked_speaker(question)
        self.speaker = tokens(self.speaker_name)[-1:] if self.speaker_name else []
        self.years = re.findall(r"\b(?:1[5-9]|20)\d\d\b", question)
        self.defined = tokens(defined_term(question) or "")
        self.counted = stem(self.attribute_words[-1]) if self.kind == "number" and self.attribute_words and \
            re.search(r"\bhow many\b", question, re.IGNORECASE) else None
        self.file_years = retriever.years

    def holds_kind(self, unit: Unit, question: str) -> tuple[bool, bool]:
        """(does the unit hold the kind of fact asked for, is that only in its heading).
        A definition question wants a unit that opens with the defined term."""
        pattern = _KIND_PATTERNS.get(self.kind)
        if pattern is not None:
            if self.counted:
                # "How many bins...": a number that counts bins, not any number.
                return _counts(unit.reading, self.counted), False
            if pattern.search(_new_text(unit.text, question)):
                return True, False
            # "When was 3.40.0 released?": a changelog dates its entries in their headings.
            heading = unit.headings[-1] if unit.headings else ""
            found = self.kind in ("date", "version") and bool(_DATE.search(_new_text(heading, question)))
            return found, found
        if self.defined:
            return all(t in tokens(unit.text)[:4] for t in self.defined), False
        return False, False

    def coverage(self, toks: set[str]) -> float:
        """Share of the question's weight that ``toks`` cover."""
        return sum(w for t, w in self.weight.items() if _mentions(t, toks)) / self.total

    def missing_specific(self, unit: Unit, ctx: set[str]) -> list[str]:
        """Identifiers and rare names of the question that the unit's passage never
        mentions, and years that its file never mentions."""
        # Identifiers: their document must use them (the answering sentence need not repeat them).
        in_doc = self.file_idents(unit.passage.source)
        text = unit.passage.text.lower() + " " + " ".join(unit.headings).lower()
        missing = [i for i in self.idents if i.lower() not in text and i.lower() not in in_doc]
        if self.names:
            in_file = self.file_terms(unit.passage.source)
            missing += [n[-1] for n in self.names if not _mentions(n[-1], in_file)]
        # "What did X say...": someone else's words do not answer it.
        said = ctx | set(tokens(unit.lead_text))
        missing += [t for t in self.speaker if not _mentions(t, said) and t not in missing]
        # A question dated 2017 is not answered by a document that speaks of other years only.
        years = self.file_years.get(unit.passage.source)
        if years:
            missing += [y for y in self.years if y not in years]
        return missing


def _confidence(scored: list[Scored]) -> float:
    """How likely the best evidence answers the question (logistic model, see CONFIDENCE)."""
    best = scored[0]
    second = scored[1].score if len(scored) > 1 else 0.0
    x = best.signals.confidence_features(best.score, best.score - second)
    z = CONFIDENCE["bias"] + sum(CONFIDENCE[k] * v for k, v in x.items())
    return 1.0 / (1.0 + math.exp(-z))


# -- helpers ---------------------------------------------------------------------------

def refusal(reason: str, signals: Signals | None = None, confidence: float | None = None) -> Answer:
    """The answer given when the corpus does not support one: the reason in plain
    words in the text, the scores behind it in ``trace``."""
    trace: dict = {"refusal_reason": reason}
    if signals is not None:
        trace["best_evidence"] = signals.trace()
    if confidence is not None:
        trace["confidence"] = round(confidence, 3)
    return Answer(text=f"{REFUSAL_PREFIX}: {reason}.", citations=[], refused=True, trace=trace)


def compose(chosen: list[Scored]) -> Answer:
    """Quotes with their markers, in the order given (each unit's lead-in before it)."""
    spans: list[tuple[Passage, int, int]] = []
    for s in chosen:
        u = s.unit
        if u.lead is not None and all(u.lead[0] != sp[1] for sp in spans):
            spans.append((u.lead_passage or u.passage, *u.lead))
        spans.append((u.passage, u.start, u.end))
    citations = [citation_from_span(n, p, s, e) for n, (p, s, e) in enumerate(spans, start=1)]
    text = " ".join(f"{' '.join(c.quote.split())} [{c.marker}]" for c in citations)
    return Answer(text=text, citations=citations, refused=False,
                  trace={"evidence": [{"source": s.unit.passage.source, "start": s.unit.start, "end": s.unit.end,
                                       "kind": s.unit.kind, "score": s.score,
                                       **(s.signals.trace() if s.signals is not None else {})}
                                      for s in chosen]})


def _own(s: Scored) -> float:
    """What a unit itself shares with the question: similarity and its own coverage."""
    return WEIGHTS["dense"] * s.signals.dense + WEIGHTS["cover"] * s.signals.cover_own


def _previous_unit(u: Unit, retriever) -> Scored | None:
    """The last unit of the chunk before ``u``'s, when ``u`` opens its chunk."""
    if retriever is None:
        return None
    prev = retriever.previous_passage(u.passage)
    if prev is None:
        return None
    units = retriever.units(prev)
    return Scored(units[-1], 0.0) if units and units[-1].end <= u.start else None


_POINTS_BACK = re.compile(r"^\W*(?:this|that|these|those|it|they|such|here|there|then|thus|hence|so)\b", re.I)


def _introduces(u: Unit) -> bool:
    """Does the unit end by introducing what follows (a colon, or no closing punctuation)?"""
    t = u.text.rstrip()
    return u.kind in ("sentence", "paragraph") and (t.endswith(":") or not re.search(r"[.!?)\"'”’\]]$", t))


def _name_phrases(question: str) -> list[list[str]]:
    """The names of a question as phrases of stems ("Hillary Clinton" -> ["hillary",
    "clinton"]): runs of capitalised words after the first word, dates left out."""
    out: list[list[str]] = []
    for m in re.finditer(r"(?<!^)(?<![.?!]\s)\b[A-Z][\w’'-]*(?:\s+[A-Z][\w’'-]*)*", question.strip()):
        words = [t for t in tokens(m.group(0)) if not is_context_term(t)]
        if words and words not in out:
            out.append(words)
    return out


def _names(items: list[str]) -> str:
    return ", ".join(repr(w) for w in dict.fromkeys(items))


def _new_text(text: str, question: str) -> str:
    """``text`` without the words the question already has (a fact of the asked
    kind must be new: "in 2017" does not answer "what happened in 2017?")."""
    have = {w.lower() for w in re.findall(r"[\w.:]+", question)}
    return " ".join(w for w in re.findall(r"[\w.:/-]+", text) if w.lower().strip(".:") not in have)


_NUMBER_WORD = re.compile(r"^(?:\d[\d.,]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|"
                          r"thirty|forty|fifty|hundred|thousand|million|billion|dozens?|several|single|both)$")


def _counts(text: str, noun: str, reach: int = 3) -> bool:
    """Does ``text`` put a number within ``reach`` words of ``noun`` ("four missiles",
    "missiles: 4")?"""
    ws = [w.lower() for w in words(text)]
    nums = [i for i, w in enumerate(ws) if _NUMBER_WORD.match(w)]
    hits = [i for i, w in enumerate(ws) if same_word(stem(w), noun)]
    return any(abs(i - j) <= reach for i in nums for j in hits)


def _mentions(term: str, toks: set[str]) -> bool:
    return term in toks or any(same_word(term, t) for t in toks if len(t) >= 5)
