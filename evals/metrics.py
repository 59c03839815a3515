"""Deterministic scoring of answers: no LLM judge, every number reproducible.

Per case (:func:`score_case`): which fact groups the answer holds, whether
the expected files were retrieved (recall@k, reciprocal rank) and cited
(file-level precision/recall), whether every quote sits verbatim at its
offsets, and whether it refused when it should. :func:`aggregate` turns cases
into suite metrics; :func:`check_thresholds` compares them with the suite's bar.

>>> from rag.objects import Answer, Citation
>>> case = Case(id="c1", question="When?", facts=(("Feb. 1",),), sources=(("a.txt",),))
>>> ans = Answer(text="On February 1 [1].", citations=[Citation(1, "a.txt", "February 1", 3, 13)])
>>> r = score_case(case, ans, 0.1, {"a.txt": "On February 1."}.get)
>>> r.fact_ok, r.citation_precision, r.quotes_valid, r.passed
(True, 1.0, 1, True)

A fact counts (``fact_ok``) only when the answer holds every fact group, cites
a file the case expects (when it names files), and is at most
:data:`MAX_ANSWER_CHARS` characters long: a reader must be able to use it.
``facts_in_answer`` is the lenient check (the facts anywhere in the answer).

Why not ragas: ragas 0.4.3 has ID-based context recall/precision without an LLM,
but they are a few lines of set arithmetic, while the package cannot be
installed next to our openai==3.54.0 / langchain-openai==1.7.3 pins (pip:
ResolutionImpossible, via instructor), pulls langchain-community, datasets and
tiktoken (~800 MB venv), and in a fresh venv `import ragas` fails
(langchain_community.chat_models.vertexai is gone). It has no file-level
citation or verbatim-quote metric either.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .normalize import has_fact
from .suite import Case, Threshold

CorpusText = Callable[[str], "str | None"]
# An answer longer than this is a passage to read, not an answer.
MAX_ANSWER_CHARS = 400


@dataclass(frozen=True)
class CaseResult:
    """Everything measured for one case (``None`` = does not apply)."""

    id: str
    category: str
    question: str
    refuse_expected: bool
    refused: bool
    answer: str
    latency_s: float | None
    citations: list[dict] = field(default_factory=list)   # + "valid": bool
    retrieved: list[str] = field(default_factory=list)    # passage sources, best first
    facts_found: list[bool] = field(default_factory=list)
    fact_ok: bool | None = None
    facts_in_answer: bool | None = None
    answer_chars: int = 0
    forbidden_found: list[str] = field(default_factory=list)
    retrieval_recall: float | None = None
    reciprocal_rank: float | None = None
    citation_precision: float | None = None
    citation_recall: float | None = None
    quotes_total: int = 0
    quotes_valid: int = 0
    error: str | None = None
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "passed": self.passed}


def matches(source: str, pattern: str) -> bool:
    """A cited file matches an expected entry exactly or as a glob (``000_*``)."""
    return source == pattern or fnmatch.fnmatchcase(source, pattern)


def source_recall(found: list[str], groups: tuple[tuple[str, ...], ...], mode: str) -> float:
    """mode ``any``: 1.0 if any listed file is in ``found``; ``all``: the share
    of groups with a member in ``found``.

    >>> source_recall(["a.txt"], (("a.txt",), ("b.txt", "c.txt")), "all")
    0.5
    """
    hit = [any(matches(f, p) for f in found for p in g) for g in groups]
    if mode == "any":
        return 1.0 if any(hit) else 0.0
    return sum(hit) / len(hit)


def score_case(case: Case, answer, latency_s: float | None, corpus_text: CorpusText) -> CaseResult:
    """Score one :class:`rag.Answer` against its case. ``corpus_text(source)``
    returns a file's text as citations index into it (None if it is missing)."""
    expected = [p for g in case.sources for p in g]
    retrieved = [p.source for p in answer.passages]
    cited = list(dict.fromkeys(c.source for c in answer.citations))
    citations = []
    for c in answer.citations:
        text = corpus_text(c.source)
        valid = bool(c.quote) and text is not None and text[c.start:c.end] == c.quote
        citations.append({"marker": c.marker, "source": c.source, "start": c.start, "end": c.end,
                          "quote": c.quote, "valid": valid})

    r: dict = {"retrieved": retrieved, "citations": citations, "quotes_total": len(citations),
               "quotes_valid": sum(c["valid"] for c in citations)}
    right_file = not expected or any(matches(s, p) for s in cited for p in expected)
    short = len(answer.text) <= MAX_ANSWER_CHARS
    if case.facts and not case.refuse:
        found = [not answer.refused and any(has_fact(answer.text, alt) for alt in g) for g in case.facts]
        r.update(facts_found=found, facts_in_answer=all(found), fact_ok=all(found) and right_file and short)
    if not answer.refused:
        r["forbidden_found"] = [f for f in case.forbidden if has_fact(answer.text, f)]
    if expected and not case.refuse:
        r["retrieval_recall"] = source_recall(retrieved, case.sources, case.sources_mode)
        ranks = [i for i, s in enumerate(retrieved, start=1) if any(matches(s, p) for p in expected)]
        r["reciprocal_rank"] = 1.0 / ranks[0] if ranks else 0.0
        r["citation_recall"] = source_recall(cited, case.sources, case.sources_mode)
        if cited:
            r["citation_precision"] = sum(any(matches(s, p) for p in expected) for s in cited) / len(cited)

    failures = []
    if case.refuse and not answer.refused:
        failures.append("answered instead of refusing")
    if not case.refuse and answer.refused:
        failures.append(f"refused: {answer.text}")
    for group, ok in zip(case.facts, r.get("facts_found", [])):
        if not ok and not answer.refused:
            failures.append("missing fact: " + " | ".join(group))
    if not case.refuse and not answer.refused and not short:
        failures.append(f"answer too long ({len(answer.text)} characters > {MAX_ANSWER_CHARS})")
    failures += [f"unsupported claim: {f}" for f in r.get("forbidden_found", [])]
    if r.get("citation_recall") is not None and r["citation_recall"] < 1.0 and not answer.refused:
        failures.append(f"expected source not cited ({case.sources_mode} of "
                        f"{', '.join('|'.join(g) for g in case.sources)}); cited: {', '.join(cited) or 'nothing'}")
    failures += [f"quote not verbatim at {c['source']}:{c['start']}-{c['end']}" for c in citations if not c["valid"]]
    return CaseResult(id=case.id, category=case.category, question=case.question,
                      refuse_expected=case.refuse, refused=answer.refused, answer=answer.text,
                      answer_chars=len(answer.text), latency_s=latency_s, failures=failures, **r)


def error_result(case: Case, message: str, latency_s: float | None) -> CaseResult:
    """A case whose ask() raised: it fails, counts as not refused, and facts as missed."""
    return CaseResult(id=case.id, category=case.category, question=case.question, refuse_expected=case.refuse,
                      refused=False, answer="", latency_s=latency_s, error=message,
                      facts_found=[False] * len(case.facts) if not case.refuse else [],
                      fact_ok=False if case.facts and not case.refuse else None,
                      facts_in_answer=False if case.facts and not case.refuse else None,
                      failures=[f"error: {message}"])


def aggregate(results: list[CaseResult]) -> dict:
    """Suite-level metrics; ``None`` where no case applies.

    Rates over cases are macro averages; quote validity is over all quotes;
    refusal precision/recall treat "should refuse" as the positive class.
    """
    def mean(values) -> float | None:
        values = [float(v) for v in values if v is not None]
        return round(sum(values) / len(values), 4) if values else None

    def ratio(num: int, den: int) -> float | None:
        return round(num / den, 4) if den else None

    tp = sum(r.refuse_expected and r.refused for r in results)
    latencies = [r.latency_s for r in results if r.latency_s is not None]
    return {
        "cases": len(results),
        "passed": sum(r.passed for r in results),
        "pass_rate": mean(r.passed for r in results),
        "fact_accuracy": mean(r.fact_ok for r in results),
        "fact_in_answer": mean(r.facts_in_answer for r in results),
        "fact_recall": mean(f for r in results for f in r.facts_found),
        "retrieval_recall": mean(r.retrieval_recall for r in results),
        "mrr": mean(r.reciprocal_rank for r in results),
        "citation_precision": mean(r.citation_precision for r in results),
        "citation_recall": mean(r.citation_recall for r in results),
        "quote_validity": ratio(sum(r.quotes_valid for r in results), sum(r.quotes_total for r in results)),
        "refusal_precision": ratio(tp, sum(r.refused for r in results)),
        "refusal_recall": ratio(tp, sum(r.refuse_expected for r in results)),
        # The other side of refusing: answerable questions the answerer refused.
        "answerable_refused": ratio(sum(r.refused and not r.refuse_expected for r in results),
                                    sum(not r.refuse_expected for r in results)),
        "latency_p50_s": round(float(np.percentile(latencies, 50)), 3) if latencies else None,
        "latency_p95_s": round(float(np.percentile(latencies, 95)), 3) if latencies else None,
        "errors": sum(r.error is not None for r in results),
    }


def by_category(results: list[CaseResult]) -> dict[str, dict]:
    """:func:`aggregate` for each category, in order of first appearance."""
    cats = dict.fromkeys(r.category for r in results)
    return {c: aggregate([r for r in results if r.category == c]) for c in cats}


def check_thresholds(summary: dict, categories: dict[str, dict], thresholds: tuple[Threshold, ...]) -> list[dict]:
    """One row per threshold: value, limit, and ok (None when no case measures it,
    which does not fail the run: e.g. a ``--case`` filter left that category out)."""
    rows = []
    for t in thresholds:
        scope = summary if t.category is None else categories.get(t.category, {})
        value = scope.get(t.metric)
        ok = None if value is None else (value <= t.limit if t.is_max else value >= t.limit)
        rows.append({"metric": t.metric, "category": t.category, "limit": t.limit,
                     "kind": "max" if t.is_max else "min", "value": value, "ok": ok})
    return rows
