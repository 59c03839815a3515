"""Answering, embedded default: an extractive, grounded answerer (no LLM).

It scores the sentences of the retrieved passages against the question
(IDF-weighted term coverage + embedding similarity + a bonus when the sentence
holds the kind of fact asked for: a date for "when", a number for "how many"),
then composes a short answer of verbatim quotes, each followed by ``[n]``.
It refuses when the corpus does not support an answer: a name or number of the
question appears nowhere in the corpus, most of the question's topic is absent,
the question's names never occur together, or the best evidence is too weak.

>>> ans = ExtractiveAnswerer(settings, embeddings).answer(q, passages, retriever, qv)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np

from .citations import citation_from_span
from .settings import Settings
from .text import salient_surface, sentence_spans, stem, terms, tokens
from .types import Answer, Citation, Passage

log = logging.getLogger(__name__)

REFUSAL_PREFIX = "I can't answer that from the corpus"
MAX_SENTENCES = 3
MAX_LIST_SENTENCES = 4

_MENTIONS = re.compile(
    r"^\s*(?:which|what)\s+(?:documents?|files?|sources?|articles?|texts?|reports?|pages?)\s+"
    r"(?:in the corpus\s+)?(?:\w+\s+)?"
    r"(?:mention(?:s|ed)?|discuss(?:es|ed)?|cover(?:s|ed)?|talk(?:s|ed)? about|refer(?:s|red)? to|"
    r"reference(?:s|d)?|contain(?:s|ed)?|name(?:s|d)?|say anything about|speak(?:s)? (?:of|about))\s+"
    r"(?P<target>.+?)\s*\??\s*$",
    re.IGNORECASE,
)
_DATE = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b|\b(?:19|20)\d{2}\b|"
    r"\b\d{1,2}:\d{2}\b|\b[ap]\.m\.|\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b|"
    r"\b(?:next|last) (?:month|week|year)\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundred|thousand|million|billion|first|second|third|fourth|fifth|twice|several|dozens?)\b",
    re.IGNORECASE,
)
_DURATION = re.compile(
    r"\b(?:\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|several|few)\s+"
    r"(?:and a half\s+)?(?:hours?|minutes?|days?|weeks?|months?|years?)\b", re.IGNORECASE)
_PLACE = re.compile(r"\b(?:in|at|to|from|near|off)\s+(?:the\s+)?[A-Z][a-z]+")
_NAME = re.compile(r"\b[A-Z][a-z]+\s+(?:[A-Z]\.\s+)?[A-Z][a-z]+\b")


@dataclass(frozen=True)
class Scored:
    """A candidate evidence sentence."""

    passage: Passage
    start: int
    end: int
    text: str
    score: float
    coverage: float
    dense: float


class ExtractiveAnswerer:
    """Selects evidence sentences and quotes them verbatim with citations."""

    name = "extractive"

    def __init__(self, settings: Settings, embeddings) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self._sentence_vectors: dict[tuple[str, int, int], np.ndarray] = {}

    # -- the public step ---------------------------------------------------
    def answer(self, question: str, passages: list[Passage], retriever, query_vector) -> Answer:
        """Compose a cited answer from ``passages`` or refuse."""
        m = _MENTIONS.match(question)
        if m:
            return self._which_documents(m.group("target"), retriever)
        reason = self.unsupported_reason(question, passages, retriever)
        if reason:
            return refusal(reason)
        chosen = self.select_evidence(question, passages, retriever, query_vector)
        if not chosen:
            return refusal("no passage is close enough to the question")
        best = chosen[0]
        if best.coverage < self.settings.min_coverage and best.dense < 0.5:
            return refusal(f"the best evidence is too weak (coverage {best.coverage:.2f}, "
                           f"similarity {best.dense:.2f})")
        return compose(chosen)

    # -- refusal checks ----------------------------------------------------
    def unsupported_reason(self, question: str, passages: list[Passage], retriever) -> str | None:
        """Why the corpus cannot answer ``question``, or None when it may."""
        if not passages:
            return "nothing relevant was retrieved"
        vocab = retriever.idf
        surface = salient_surface(question)
        names = [stem(w) for w in surface]
        missing = [w for w, t in zip(surface, names) if t not in vocab]
        if missing:
            return f"the corpus never mentions {', '.join(repr(w) for w in missing)}"
        q_terms = terms(question)
        if q_terms:
            idf = retriever.idf
            top = max(idf.values()) if idf else 1.0
            total = sum(idf.get(t, top) for t in q_terms)
            absent = sum(top for t in q_terms if t not in vocab)
            if total and absent / total > 0.5:
                return "most of the question's terms appear nowhere in the corpus"
        if len(set(names)) > 1 and not self._names_cooccur(set(names), passages, retriever):
            return f"no passage mentions {', '.join(dict.fromkeys(surface))} together"
        return None

    def _names_cooccur(self, names: set[str], passages: list[Passage], retriever) -> bool:
        """Do all the question's names appear within one passage (or its neighbours)?
        A question pairing things the corpus never pairs has a false premise."""
        window_of = retriever.windows
        for p in passages:
            if names <= window_of.get(p.chunk_id, set(tokens(p.text))):
                return True
        return False

    # -- evidence selection -------------------------------------------------
    def select_evidence(self, question: str, passages: list[Passage], retriever, query_vector) -> list[Scored]:
        """The sentences to quote, best first."""
        kind = question_kind(question)
        q_terms = terms(question)
        if kind == "duration":  # "how long did it last/take": the verb is not the topic
            q_terms = [t for t in q_terms if t not in ("last", "take", "took")]
        idf = retriever.idf
        top_idf = max(idf.values()) if idf else 1.0
        weight = {t: idf.get(t, top_idf) for t in q_terms}
        total = sum(weight.values()) or 1.0

        cands: list[tuple[Passage, int, int, str, float, set[str]]] = []
        seen: set[tuple[str, int]] = set()
        for rank, p in enumerate(passages):
            spans = sentence_spans(p.text, base=p.start)
            prev_terms: set[str] = set()
            for s, e in spans:
                if (p.source, s) in seen:
                    prev_terms = set(tokens(p.text[s - p.start:e - p.start]))
                    continue  # overlapping chunks repeat sentences
                seen.add((p.source, s))
                text = p.text[s - p.start:e - p.start]
                toks = set(tokens(text))
                own = sum(w for t, w in weight.items() if t in toks) / total
                # A quote often names its speaker in the sentence before ("Tillerson said:").
                ctx = sum(w for t, w in weight.items() if t in toks or t in prev_terms) / total
                cov = max(own, 0.5 * own + 0.5 * ctx)
                cands.append((p, s, e, text, cov, toks))
                prev_terms = toks
        if not cands:
            return []
        dense = self._dense(query_vector, [(c[0].source, c[1], c[2], c[3]) for c in cands])
        scored: list[Scored] = []
        for (p, s, e, text, cov, toks), d in zip(cands, dense):
            bonus = kind_bonus(kind, text)
            if len(text) < 25:
                bonus -= 0.1  # headlines and captions fragments rarely answer anything
            scored.append(Scored(p, s, e, text, 0.55 * cov + 0.45 * float(d) + bonus, cov, float(d)))
        scored.sort(key=lambda x: -x.score)

        limit = MAX_LIST_SENTENCES if is_list_question(question) else MAX_SENTENCES
        best = scored[0]
        chosen = [best]
        covered = set(t for t in q_terms if t in set(tokens(best.text)))
        for cand in scored[1:]:
            if len(chosen) >= limit:
                break
            if cand.score < 0.8 * best.score or cand.coverage < self.settings.min_coverage:
                break
            ctoks = set(tokens(cand.text))
            if any(_overlap(ctoks, set(tokens(c.text))) > 0.6 for c in chosen):
                continue  # the same statement quoted by another source adds nothing
            chosen.append(cand)
            covered |= set(t for t in q_terms if t in ctoks)
        log.debug("evidence: %s", [(c.passage.source, c.start, round(c.score, 3)) for c in chosen])
        return chosen

    def _dense(self, query_vector, items: list[tuple[str, int, int, str]]) -> np.ndarray:
        missing = [(key[:3], key[3]) for key in items if key[:3] not in self._sentence_vectors]
        if missing:
            vecs = self.embeddings.embed_documents([t for _, t in missing])
            for (key, _), v in zip(missing, vecs):
                self._sentence_vectors[key] = np.asarray(v, dtype=np.float32)
        mat = np.stack([self._sentence_vectors[key[:3]] for key in items])
        return mat @ np.asarray(query_vector, dtype=np.float32)

    # -- corpus-wide questions ----------------------------------------------
    def _which_documents(self, target: str, retriever) -> Answer:
        """"Which documents mention X?": scan every chunk, cite every file."""
        target = target.strip().strip("\"'“”‘’").rstrip("?. ")
        target = re.sub(r"^(?:the|a|an)\s+", "", target, flags=re.IGNORECASE)
        want = set(tokens(target))
        if not want:
            return refusal(f"could not tell what to look for in {target!r}")
        phrase = re.compile(r"\b" + r"\W+".join(re.escape(w) for w in target.split()) + r"\b", re.IGNORECASE)
        hits: dict[str, tuple[Passage, int, int]] = {}
        for c in retriever.chunks:
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


# -- helpers ---------------------------------------------------------------

def refusal(reason: str) -> Answer:
    """The answer given when the corpus does not support one."""
    return Answer(text=f"{REFUSAL_PREFIX}: {reason}.", citations=[], refused=True,
                  trace={"refusal_reason": reason})


def compose(chosen: list[Scored]) -> Answer:
    """Quotes in order of relevance, each followed by its marker."""
    citations = [citation_from_span(n, c.passage, c.start, c.end) for n, c in enumerate(chosen, start=1)]
    text = " ".join(f"{c.quote} [{c.marker}]" for c in citations)
    return Answer(text=text, citations=citations, refused=False,
                  trace={"evidence": [{"source": c.passage.source, "start": c.start, "end": c.end,
                                       "score": round(c.score, 4), "coverage": round(c.coverage, 3),
                                       "dense": round(c.dense, 3)} for c in chosen]})


def question_kind(question: str) -> str:
    q = question.lower()
    if re.search(r"\bhow long\b|\bfor how (?:long|many (?:hours|minutes|days))\b", q):
        return "duration"
    if re.search(r"\bhow (?:many|much|far|close|often|old)\b|\bwhat (?:number|percentage)\b", q):
        return "number"
    if re.search(r"\bwhen\b|\bwhat (?:date|day|time|year|month)\b|\bwhat time\b", q):
        return "date"
    if re.search(r"\bwhere\b|\bwhat (?:city|country|place|venue|location)\b|\bin which (?:city|country)\b", q):
        return "place"
    if re.search(r"\bwho\b|\bwhose\b|\bwhat (?:person|official)\b", q):
        return "person"
    return "other"


def kind_bonus(kind: str, text: str) -> float:
    if kind == "date":
        return 0.15 if _DATE.search(text) else 0.0
    if kind == "duration":
        return 0.15 if _DURATION.search(text) else 0.0
    if kind == "number":
        return 0.12 if _NUMBER.search(text) else 0.0
    if kind == "place":
        return 0.08 if _PLACE.search(text) else 0.0
    if kind == "person":
        return 0.05 if _NAME.search(text) else 0.0
    return 0.0


def is_list_question(question: str) -> bool:
    q = question.lower()
    return bool(re.match(r"\s*(?:which|what)\s+\w+s\b", q) or re.search(r"\blist\b|\ball\b|\bwhat are\b", q))


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / max(1, min(len(a), len(b)))
