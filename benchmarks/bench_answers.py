"""Warm ``ask()`` latency of the extractive answerer on the eval corpora.

For each corpus (seeds, Markdown handbook, PDF manuals, ~2,100-chunk HTML docs):
bring its index up to date (unit vectors included), load the engine with a few
warm-up questions, then ask every question of its tuning and held-out suites
once and report p50/p95 per question with the per-stage breakdown that
``Answer.trace["timings"]`` records.

    .venv/bin/python benchmarks/bench_answers.py            # all corpora
    .venv/bin/python benchmarks/bench_answers.py sqlite-docs

Figures vary run to run (±15-30% on a shared 2-core machine); compare runs of
the same machine.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from evals.runner import settings_for  # noqa: E402
from evals.suite import load_suite  # noqa: E402
from rag import Settings, ask, build_index  # noqa: E402

CORPORA = ["seeds", "hatch-docs", "r-manuals", "sqlite-docs"]
STAGES = ["embed_query", "dense", "lexical", "fusion", "answer"]


def bench(name: str) -> dict:
    suites = [load_suite(REPO / "evals" / f"{name}.yaml"), load_suite(REPO / "evals" / f"{name}-heldout.yaml")]
    settings = settings_for(suites[0], Settings.from_env())
    t = time.perf_counter()
    report = build_index(settings, progress=False)
    index_s = time.perf_counter() - t
    questions = [(c.question, list(c.history) or None) for s in suites for c in s.cases]
    for q, h in questions[:3]:  # load the model, the store and the lexical index
        ask(q, history=h, settings=settings)
    seconds, stages = [], {k: [] for k in STAGES}
    for q, h in questions:
        t = time.perf_counter()
        a = ask(q, history=h, settings=settings)
        seconds.append(time.perf_counter() - t)
        for k in STAGES:
            stages[k].append(a.trace.get("timings", {}).get(k, 0.0))
    return {"corpus": name, "chunks": report.chunks_total, "questions": len(questions), "index_s": index_s,
            "p50": float(np.percentile(seconds, 50)), "p95": float(np.percentile(seconds, 95)),
            "stages": {k: statistics.median(v) for k, v in stages.items()}}


def main(argv: list[str]) -> None:
    names = argv or CORPORA
    print(f"warm ask() latency, extractive answerer; {platform.machine()}, {os.cpu_count()} cores, "
          f"{time.strftime('%Y-%m-%d')}")
    print(f"{'corpus':12} {'chunks':>6} {'questions':>9} {'p50 ms':>7} {'p95 ms':>7}   median per stage (ms)")
    for name in names:
        r = bench(name)
        per = ", ".join(f"{k} {1000 * v:.1f}" for k, v in r["stages"].items())
        print(f"{r['corpus']:12} {r['chunks']:>6} {r['questions']:>9} {1000 * r['p50']:>7.1f} {1000 * r['p95']:>7.1f}"
              f"   {per}")


if __name__ == "__main__":
    main(sys.argv[1:])
