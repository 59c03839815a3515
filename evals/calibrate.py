"""Refit the extractive answerer's weights from the tuning suites (never the held-out ones).

    .venv/bin/python -m evals.calibrate            # all tuning suites in evals/
    .venv/bin/python -m evals.calibrate evals/seeds.yaml evals/sqlite-docs.yaml

Two small models are fitted, and each is checked by leaving one corpus out
(fit on the others, measure on it), so a weight that only helps one genre shows:

* ``WEIGHTS`` (rag/answer/extractive.py): the evidence score of a unit. For every
  answerable question, the units of its retrieved passages are candidates and
  those holding an expected fact (in a file the case names) are the right ones;
  a softmax over each question's candidates is fitted on four signals
  (similarity, weighted coverage, kind of fact, kind for exact questions).
* ``CONFIDENCE`` (rag/answer/extractive.py): a logistic model of "the best unit answers"
  over answerable vs unanswerable questions that the refusal rules let through.

It prints the fitted weights and the left-out figures; copying them into
rag/answer/extractive.py is a deliberate step, followed by ``rag eval`` on every suite.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from rag import Settings, build_index
from rag.answer.extractive import ExtractiveAnswerer
from rag.pipeline import engine, rewrite_followup
from rag.answer.questions import mentions_target, split_question

from .metrics import matches
from .normalize import has_fact
from .runner import EVALS_DIR, settings_for
from .suite import load_suite

SCORE_SIGNALS = ["dense", "cover", "kind", "kind_exact"]
CONF_SIGNALS = ["score", "dense", "cover", "cover_own", "attr_missing", "ident_missing", "margin", "numeric", "kind"]


def collect(paths: list[Path]) -> tuple[list, list]:
    """(ranking cases, confidence cases) with the signals of every candidate unit."""
    ranking, confidence = [], []
    for path in paths:
        suite = load_suite(path)
        settings = settings_for(suite, Settings.from_env())
        build_index(settings, progress=False)
        loaded = engine(settings)
        answerer, retriever = ExtractiveAnswerer(settings, loaded.embeddings), loaded.retriever
        for case in suite.cases:
            q = rewrite_followup(case.question, list(case.history)) if case.history else case.question
            if mentions_target(q) or len(split_question(q)) > 1:
                continue
            qv = loaded.embeddings.embed_query(q)
            passages = retriever.search(q, settings.retrieval.top_k, query_vector=qv)
            if answerer.unsupported_reason(q, passages, retriever):
                continue
            scored = answerer.score_units(q, passages, retriever, qv)
            if not scored:
                continue
            expected = [p for g in case.sources for p in g]
            if not case.refuse:
                x = np.array([s.signals.ranking_features() for s in scored])
                y = np.array([any(any(has_fact(s.unit.reading, a) for a in g) for g in case.facts)
                              and any(matches(s.unit.passage.source, e) for e in expected) for s in scored])
                if y.any() and not y.all():
                    ranking.append((suite.name.removesuffix("-heldout"), x, y))
            best = scored[0]
            second = scored[1].score if len(scored) > 1 else 0.0
            features = best.signals.confidence_features(best.score, best.score - second)
            assert list(features) == CONF_SIGNALS
            confidence.append((suite.name, np.array(list(features.values())), 0 if case.refuse else 1))
        print(f"collected {suite.name}", file=sys.stderr)
    return ranking, confidence


def fit_softmax(cases: list, l2: float = 0.003, epochs: int = 1500, lr: float = 0.5) -> np.ndarray:
    w = np.zeros(cases[0][1].shape[1])
    for _ in range(epochs):
        g = np.zeros_like(w)
        for _, x, y in cases:
            z = x @ w
            p = np.exp(z - z.max())
            p /= p.sum()
            g += x.T @ p - (x[y].T @ p[y]) / max(p[y].sum(), 1e-12)
        w -= lr * (g / len(cases) + l2 * w)
    return w


def fit_logistic(cases: list, l2: float = 0.02, epochs: int = 6000, lr: float = 0.5) -> np.ndarray:
    x = np.hstack([np.array([c[1] for c in cases]), np.ones((len(cases), 1))])
    y = np.array([c[2] for c in cases])
    w = np.zeros(x.shape[1])
    for _ in range(epochs):
        p = 1 / (1 + np.exp(-x @ w))
        g = x.T @ (p - y) / len(y)
        g[:-1] += l2 * w[:-1]
        w -= lr * g
    return w


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.calibrate", description=__doc__.split("\n\n")[0])
    parser.add_argument("suites", nargs="*", type=Path)
    parser.add_argument("--threshold", type=float, default=0.7, help="confidence below which to refuse")
    args = parser.parse_args(argv)
    paths = args.suites or sorted(p for p in EVALS_DIR.glob("*.yaml") if not p.stem.endswith("-heldout"))
    ranking, confidence = collect(paths)
    corpora = sorted({c[0] for c in ranking})
    print("\nevidence score: top-1 unit holds a fact (left-out corpus / fitted on all)")
    w_all = fit_softmax(ranking)
    for name in corpora:
        w = fit_softmax([c for c in ranking if c[0] != name])
        test = [c for c in ranking if c[0] == name]
        print(f"  {name:12} {np.mean([y[np.argmax(x @ w)] for _, x, y in test]):.2f} / "
              f"{np.mean([y[np.argmax(x @ w_all)] for _, x, y in test]):.2f}  ({len(test)} questions)")
    norm = w_all / w_all[1]
    print("  WEIGHTS =", {k: round(float(v), 3) for k, v in zip(SCORE_SIGNALS, norm)})
    print(f"\nconfidence at {args.threshold}: unanswerable refused / answerable kept (left-out corpus)")
    for name in sorted({c[0] for c in confidence}):
        w = fit_logistic([c for c in confidence if c[0] != name])
        test = [c for c in confidence if c[0] == name]
        p = np.array([1 / (1 + np.exp(-(np.append(c[1], 1.0) @ w))) for c in test])
        y = np.array([c[2] for c in test])
        print(f"  {name:12} {np.mean(p[y == 0] < args.threshold) if (y == 0).any() else float('nan'):.2f} / "
              f"{np.mean(p[y == 1] >= args.threshold):.2f}")
    w = fit_logistic(confidence)
    print("  CONFIDENCE =", {k: round(float(v), 3) for k, v in zip(CONF_SIGNALS + ["bias"], w)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
