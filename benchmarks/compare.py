"""Before/after: the same benchmark phases against two versions of the code,
alternating in one run so that load from other jobs hits both alike.

    .venv/bin/python benchmarks/compare.py bba0b72 WORKTREE --chunks 2000 --rounds 2

A version is a git revision (its ``rag/`` is extracted with ``git archive``) or
WORKTREE (this checkout as it is). Prints each version's figures and the ratio
of the second to the first.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from corpus import generate  # noqa: E402
from run import label, parse_size, run_phase  # noqa: E402

FIGURES = [("index", "index_chunks_per_s", "index chunks/s", "higher"),
           ("index", "ratio_wall", "index / raw embedder", "higher"),
           ("index", "ratio_cpu", "same, CPU time", "higher"),
           ("index", "peak_rss_mb", "peak RSS indexing (MB)", "lower"),
           ("reindex", "unchanged_median_s", "unchanged re-index (s)", "lower"),
           ("reindex", "edit_s", "one file edited (s)", "lower"),
           ("ask", "cold_s", "cold first answer (s)", "lower"),
           ("ask", "p50_s", "warm p50 (s)", "lower"),
           ("ask", "p95_s", "warm p95 (s)", "lower")]


def code_dir(rev: str, work: Path) -> str:
    if rev == "WORKTREE":
        return str(REPO)
    dest = work / f"code-{rev}"
    if not dest.exists():
        dest.mkdir(parents=True)
        archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "rag"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return str(dest)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--chunks", default="2k")
    ap.add_argument("--embedding", default="minilm-onnx")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--phases", default="index,reindex,ask")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "rag-bench")
    args = ap.parse_args()
    n = parse_size(args.chunks)
    args.work.mkdir(parents=True, exist_ok=True)
    corpus = args.work / f"corpus-{label(n)}"
    info = generate(corpus, chunks=n)
    questions = info["questions"][:12] + [{"question": q, "source": None} for q in info["out_of_corpus"]]
    versions = {v: code_dir(v, args.work) for v in (args.before, args.after)}
    phases = args.phases.split(",")
    results: dict[str, list[dict]] = {v: [] for v in versions}
    for r in range(args.rounds):
        for v in (list(versions) if r % 2 == 0 else list(versions)[::-1]):
            index = args.work / f"compare-index-{label(n)}"
            subprocess.run(["rm", "-rf", str(index)], check=True)
            base = {"corpus": str(corpus), "index": str(index), "embedding": args.embedding}
            env = {"RAG_BENCH_CODE": versions[v]}
            got = {}
            for p in phases:
                extra = {"questions": questions, "rounds": 2} if p == "ask" else {}
                got[p] = run_phase(p, {**base, **extra}, args.work, env=env)
            results[v].append(got)
            print(f"round {r + 1}, {v}: " + ", ".join(
                f"{name} {got[p][key]:.3g}" for p, key, name, _ in FIGURES if p in got), flush=True)
    before, after = args.before, args.after
    print(f"\n{'figure':28s} {before:>12s} {after:>12s}  after/before")
    for p, key, name, better in FIGURES:
        if p not in phases:
            continue
        b = statistics.median(x[p][key] for x in results[before])
        a = statistics.median(x[p][key] for x in results[after])
        print(f"{name:28s} {b:12.4g} {a:12.4g}  {a / b:6.2f} ({better} is better)")


if __name__ == "__main__":
    main()
