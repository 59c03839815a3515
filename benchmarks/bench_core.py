"""Benchmark the core pipeline on this machine and print the figures.

    .venv/bin/python benchmarks/bench_core.py [--copies 40]

Measures, each in a fresh temp index: cold indexing of seeds/, a no-change
re-index, an edit of one file, ask() latency (first call and warm p50/p95),
indexing throughput on a larger synthetic corpus (seeds copied N times with the
copy number woven into the text), and peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

QUESTIONS = [
    "Which UN Security Council resolutions were cited?",
    "When did Tillerson assume the post of Secretary of State?",
    "At what time did the foreign ministers' meeting begin?",
    "Where is MCAS Futenma to be relocated?",
    "Who will lead the new economic dialogue?",
    "How many missiles were launched on March 6?",
    "What did Clinton say about the Senkaku islands?",
    "What is the capital of France?",
    "Which documents mention the Senkaku Islands?",
    "What did Kishida say about climate change?",
]


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=40, help="copies of seeds/ in the large corpus")
    args = ap.parse_args()

    from rag import Settings, ask, build_index

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        corpus = tmp / "seeds"
        shutil.copytree(REPO / "seeds", corpus)
        s = Settings(corpus_dir=corpus, index_dir=tmp / "index")

        report, t = timed(lambda: build_index(s, progress=False))
        print(f"index seeds (cold, incl. model load): {t:.2f} s, {report.chunks_embedded} chunks")
        report, t = timed(lambda: build_index(s, progress=False))
        print(f"re-index unchanged:                   {t:.2f} s, {report.chunks_embedded} chunks embedded")
        f = corpus / "004_5dafd41b89f38992.txt"
        f.write_text(f.read_text(encoding="utf-8") + "\n\nOne more paragraph.", encoding="utf-8")
        report, t = timed(lambda: build_index(s, progress=False))
        print(f"re-index after editing one file:      {t:.2f} s, {report.chunks_embedded} chunks embedded")

        _, first = timed(lambda: ask(QUESTIONS[0], settings=s))
        lat = []
        for _ in range(3):
            for q in QUESTIONS:
                _, t = timed(lambda: ask(q, settings=s))
                lat.append(t)
        lat.sort()
        p95 = lat[int(0.95 * (len(lat) - 1))]
        print(f"ask() first call (engine load):       {first:.2f} s")
        print(f"ask() warm, {len(lat)} calls:               p50 {statistics.median(lat) * 1000:.0f} ms, "
              f"p95 {p95 * 1000:.0f} ms")

        big = tmp / "big"
        for i in range(args.copies):
            for src in (REPO / "seeds").iterdir():
                d = big / f"copy{i:03d}"
                d.mkdir(parents=True, exist_ok=True)
                (d / src.name).write_text(f"Copy {i}.\n\n" + src.read_text(encoding="utf-8"), encoding="utf-8")
        sb = Settings(corpus_dir=big, index_dir=tmp / "big-index")
        report, t = timed(lambda: build_index(sb, progress=False))
        print(f"index {args.copies * 5} files ({report.chunks_embedded} chunks):      {t:.2f} s, "
              f"{report.chunks_embedded / t:.1f} chunks/s")
        _, t = timed(lambda: ask(QUESTIONS[0], settings=sb))
        print(f"ask() on the large corpus (cold):     {t:.2f} s")

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS:                             {rss:.0f} MB")


if __name__ == "__main__":
    main()
