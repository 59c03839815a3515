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
from .questions import asked_attribute, asked_noun, asked_speaker, asks_separately, is_list_question, mentions_target, question_kind
from .retrieval import inverse_frequency
from .settings import Settings
from .text import (in_vocabulary, is_context_term, salient_surface, salient_words, same_word, sentence_spans,
                   stem, surface_of, terms, tokens)
from .types import Answer, Citation, Passage

log = logging.getLogger(__name__)

REFUSAL_PREFIX = "I can't answer that from the corpus"
MAX_SENTENCES = 3
MAX_LIST_SENTENCES = 4
MAX_ABSENT_MASS = 0.45

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
_YEAR = re.compile(r"(?:1[89]|20)\d\d")
_TIMES = re.compile(r"\b(?:\w+ times|once|twice|(?:first|second|third|\w+th) time)\b", re.IGNORECASE)
_COUNT = re.compile(
    r"\d|\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundred|thousand|million|billion|first|second|third|fourth|fifth|twice|once|several|dozens?)\b",
    re.IGNORECASE)
_TITLES = frozenset("""Minister Secretary President Prime Foreign Deputy Vice Mr Ms Mrs Dr Ambassador
State States Affairs Honorable Japanese Japan United Department Government Administration""".split())
_TERMINAL = re.compile(r"[.!?:][\"'”’)\]]*$")
_PLACE = re.compile(r"\b(?:in|at|to|from|near|off)\s+(?:the\s+)?[A-Z][a-z]+")
_NAME = re.compile(r"\b[A-Z][a-z]+\s+(?:[A-Z]\.\s+)?[A-Z][a-z]+\b")


@dataclass(frozen=True)
class Sentence:
    """One sentence of a passage, at absolute file offsets."""

    passage: Passage
    start: int
    end: int
    text: str
    tokens: frozenset


@dataclass(frozen=True)
class Scored:
    """A candidate evidence sentence, with the sentence introducing it when the
    quote needs it ("Secretary Tillerson said:")."""

    passage: Passage
    start: int
    end: int
    text: str
    score: float
    coverage: float
    dense: float
    lead: Sentence | None = None
    tokens: frozenset = frozenset()


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
        target = mentions_target(question)
        if target:
            return self._which_documents(target, retriever)
        reason = self.unsupported_reason(question, passages, retriever)
        if reason:
            return refusal(reason)
        chosen = self.select_evidence(question, passages, retriever, query_vector)
        weak = not chosen or (chosen[0].coverage < self.settings.min_coverage
                              and (terms(question) or chosen[0].dense < 0.5))
        if weak:
            speaker = asked_speaker(question)
            if speaker:
                return refusal(f"no passage reports {speaker} saying that")
            if not chosen:
                return refusal("no passage is close enough to the question")
            return refusal(f"the best evidence is too weak (coverage {chosen[0].coverage:.2f}, "
                           f"similarity {chosen[0].dense:.2f})")
        return compose(chosen)

    # -- refusal checks ----------------------------------------------------
    def unsupported_reason(self, question: str, passages: list[Passage], retriever) -> str | None:
        """Why the corpus cannot answer ``question``, or None when it may."""
        if not passages:
            return "nothing relevant was retrieved"
        vocab = retriever.idf
        known = lambda t: in_vocabulary(t, retriever.vocab_sorted, vocab)  # noqa: E731
        surface = salient_surface(question)
        names = [stem(w) for w in surface]
        missing = [w for w, t in zip(surface, names) if not known(t)]
        if missing:
            return f"the corpus never mentions {', '.join(repr(w) for w in missing)}"
        attribute = asked_attribute(question)
        if attribute and stem(attribute) in terms(question) and not known(stem(attribute)):
            return f"the corpus has nothing on {attribute!r}"
        q_terms = terms(question)
        if q_terms:
            top = max(vocab.values()) if vocab else 1.0
            total = sum(vocab.get(t, top) for t in q_terms)
            absent = [t for t in q_terms if not known(t)]
            # Calibrated on seed questions: paraphrased answerable questions stay
            # below ~0.4 absent IDF mass; "how old is X" / "GDP of Y" land above.
            if total and top * len(absent) / total > MAX_ABSENT_MASS:
                written = surface_of(question)
                return f"the corpus has nothing on {', '.join(repr(written.get(t, t)) for t in absent)}"
        if len(set(names)) > 1 and not asks_separately(question) and \
                not self._names_cooccur(set(names), passages, retriever):
            return f"no passage mentions {', '.join(dict.fromkeys(surface))} together"
        return None

    def _names_cooccur(self, names: set[str], passages: list[Passage], retriever) -> bool:
        """Do the question's names appear together: words within one passage (or its
        neighbours), numbers such as years anywhere in that passage's file (they
        often sit only in a dateline)? A question pairing things the corpus never
        pairs has a false premise."""
        words_ = {n for n in names if not is_context_term(n)}
        context = names - words_

        def within(wanted: set[str], have: set[str]) -> bool:
            return all(w in have or any(same_word(w, h) for h in have) for w in wanted)

        for p in passages:
            file_tokens = retriever.file_tokens.get(p.source, set())
            # Several dates ("between 2013 and 2017") span files: one of them must be in this one.
            if within(words_, retriever.windows.get(p.chunk_id, set(tokens(p.text)))) and \
                    (not context or any(within({c}, file_tokens) for c in context)):
                return True
        return False

    # -- evidence selection -------------------------------------------------
    def select_evidence(self, question: str, passages: list[Passage], retriever, query_vector) -> list[Scored]:
        """The sentences to quote, best first."""
        kind = question_kind(question)
        speaker = asked_speaker(question)
        speaker_tok = tokens(speaker)[-1:] if speaker else []
        q_terms = terms(question)
        if kind == "duration":  # "how long did it last/take": the verb is not the topic
            q_terms = [t for t in q_terms if t not in ("last", "take", "took")]
        idf = retriever.idf
        top_idf = max(idf.values()) if idf else 1.0
        noun = asked_noun(question)
        noun_stem = stem(noun) if noun else None

        def term_weight(t: str) -> float:
            w = idf.get(t, top_idf)
            if is_context_term(t) and not t.isdigit() or _YEAR.fullmatch(t):
                return 0.3 * w  # years and months narrow the context ("in March 2017"); not the topic
            return 2.0 * w if t == noun_stem else w  # "Which seas...": the asked-for thing
        # A term absent from the corpus keeps its (top) weight: it is part of the
        # question no sentence covers ("What is the weather in Tokyo?").
        weight = {t: term_weight(t) for t in q_terms}
        total = sum(weight.values()) or 1.0
        q_names = set(salient_words(question))
        # A name found in only a chunk or two ("Pyongyang") is what the question is
        # about: evidence that does not mention it answers some other question.
        rare = {n for n in q_names if not is_context_term(n) and idf.get(n, top_idf) >= _rare_idf(len(retriever.chunks))}

        cands: list[tuple[Sentence, Sentence | None, float]] = []
        seen: set[tuple[str, int]] = set()
        for p in passages:
            prev = self._sentence_before(p, retriever)
            same_par = False
            for s, e in sentence_spans(p.text, base=p.start):
                text = p.text[s - p.start:e - p.start]
                sent = Sentence(p, s, e, text, frozenset(tokens(text)))
                if prev is not None and prev.passage is p:
                    same_par = "\n\n" not in p.text[prev.end - p.start:s - p.start]
                if (p.source, s) not in seen:  # overlapping chunks repeat sentences
                    seen.add((p.source, s))
                    lead = _lead_in(prev, same_par, sent, kind, q_names)
                    ctx_toks = sent.tokens | (prev.tokens if prev and (same_par or lead) else frozenset())
                    own = sum(w for t, w in weight.items() if t in sent.tokens) / total
                    ctx = sum(w for t, w in weight.items() if t in ctx_toks) / total
                    # "What did X say about Y": a quote of someone else is not an answer.
                    speaker_ok = all(t in sent.tokens or (lead and t in lead.tokens) for t in speaker_tok)
                    if speaker_ok and all(any(same_word(n, t) for t in ctx_toks) for n in rare):
                        cands.append((sent, lead, max(own, 0.5 * own + 0.5 * ctx)))
                prev = sent
        if not cands:
            return []
        dense = self._dense(query_vector, [(c[0].passage.source, c[0].start, c[0].end, c[0].text) for c in cands])
        scored: list[Scored] = []
        for (sent, lead, cov), d in zip(cands, dense):
            bonus = kind_bonus(kind, sent.text)
            if len(sent.text) < 80 and not _TERMINAL.search(sent.text):
                bonus -= 0.15  # headlines and caption fragments rarely answer anything
            scored.append(Scored(sent.passage, sent.start, sent.end, sent.text,
                                 0.55 * cov + 0.45 * float(d) + bonus, cov, float(d), lead, sent.tokens))
        scored.sort(key=lambda x: -x.score)
        if kind in ("number", "frequency"):
            # "How many people live in Japan?": evidence without any count is no answer.
            scored = [c for c in scored if _COUNT.search(c.text)]
            if not scored:
                return []

        limit = MAX_LIST_SENTENCES if is_list_question(question) else MAX_SENTENCES
        best = scored[0]
        chosen = [best]
        for cand in scored[1:]:
            if len(chosen) >= limit:
                break
            # In a list question, more sentences naming the asked-for thing are more items.
            floor = 0.6 if noun_stem and noun_stem in cand.tokens and limit > MAX_SENTENCES else 0.8
            if cand.score < floor * best.score or cand.coverage < self.settings.min_coverage:
                continue
            if any(_overlap(cand.tokens, c.tokens) > 0.6 or (c.passage.source == cand.passage.source
                   and c.start < cand.end and cand.start < c.end) for c in chosen):
                continue  # the same statement again (quoted by another source, or overlapping)
            chosen.append(cand)
        log.debug("evidence: %s", [(c.passage.source, c.start, round(c.score, 3)) for c in chosen])
        return chosen

    @staticmethod
    def _sentence_before(p: Passage, retriever) -> Sentence | None:
        """The sentence just before passage ``p`` in its file (from the stored
        chunk that holds it), so a quote opening a chunk keeps its speaker."""
        before = retriever.preceding_text(p.source, p.start)
        if not before or not before[1].strip():
            return None
        start, text = before
        spans = sentence_spans(text, base=start)
        if not spans:
            return None
        s0, e0 = spans[-1]
        holder = Passage(p.chunk_id + ":before", p.source, start, start + len(text), text, 0.0)
        sent_text = text[s0 - start:e0 - start]
        return Sentence(holder, s0, e0, sent_text, frozenset(tokens(sent_text)))

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
    """Quotes in order of relevance, each followed by its marker; a lead-in
    sentence comes first with its own marker."""
    spans = []
    for c in chosen:
        if c.lead is not None and all(c.lead.start != sp[1] for sp in spans):
            spans.append((c.lead.passage, c.lead.start, c.lead.end))
        spans.append((c.passage, c.start, c.end))
    citations = [citation_from_span(n, p, s, e) for n, (p, s, e) in enumerate(spans, start=1)]
    text = " ".join(f"{' '.join(c.quote.split())} [{c.marker}]" for c in citations)
    return Answer(text=text, citations=citations, refused=False,
                  trace={"evidence": [{"source": c.passage.source, "start": c.start, "end": c.end,
                                       "score": round(c.score, 4), "coverage": round(c.coverage, 3),
                                       "dense": round(c.dense, 3)} for c in chosen]})


def _rare_idf(n_chunks: int) -> float:
    """IDF of a term found in two chunks (or in 5% of them, when that is more)."""
    return inverse_frequency(n_chunks, max(2, n_chunks // 20))


def _lead_in(prev: Sentence | None, same_par: bool, sent: Sentence, kind: str,
             q_names: set[str]) -> Sentence | None:
    """The previous sentence when the quote needs it: it introduces this one
    ("Secretary Tillerson said:"), or a "who" question's answer names no one
    new while the sentence before it (same paragraph) does."""
    if prev is None:
        return None
    if prev.text.rstrip().endswith(":"):
        return prev
    if kind == "person" and same_par:
        def new_name(t: str) -> bool:
            return any(stem(w) not in q_names and w not in _TITLES for m in _NAME.findall(t) for w in m.split())
        if not new_name(sent.text) and new_name(prev.text):
            return prev
    return None


def kind_bonus(kind: str, text: str) -> float:
    """Bonus for a sentence that holds the kind of fact asked for."""
    if kind == "frequency":
        return 0.15 if _TIMES.search(text) else 0.0
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


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / max(1, min(len(a), len(b)))
