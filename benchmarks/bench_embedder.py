"""Tune the bundled embedder: onnxruntime threads, graph options and batch
shapes, each measured on the same texts in the same process, interleaved in
rounds so that load from other processes hits every variant alike.

    .venv/bin/python benchmarks/bench_embedder.py [--texts 300] [--rounds 3]

Prints texts/s per variant, the median of its paired speed ratios to the
first one run (the configuration before issue 12; same slice of texts, timed
back to back),
CPU seconds per text, and how far each variant's vectors are from the default's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))


def sample_texts(n: int) -> list[str]:
    from corpus import generate
    from rag.ingest.chunking import split_documents
    from rag.ingest.loading import load_corpus

    dest = Path(tempfile.gettempdir()) / "rag-bench-embedder-corpus"
    generate(dest, chunks=max(n, 200))
    docs, _ = load_corpus(dest)
    chunks = split_documents(docs, 800, 120)
    return [c.text for c in chunks[:n]]


def variants():
    import onnxruntime as ort

    from rag.embeddings.local import MiniLMOnnxEmbeddings

    def opts(**kw):
        def configure(o: ort.SessionOptions) -> None:
            for k, v in kw.items():
                if k.startswith("cfg_"):
                    o.add_session_config_entry(k[4:].replace("_", "."), v)
                else:
                    setattr(o, k, v)
        return configure

    return {
        "1 session x 2 threads, 1024 tokens (before)": lambda: MiniLMOnnxEmbeddings(threads=2, batch_tokens=1024),
        "now: 2 threads for queries, 2 sessions x 1 thread, 256": lambda: MiniLMOnnxEmbeddings(
            threads=2, bulk_sessions=2, batch_tokens=256),
        "1 session x 1 thread, 1024": lambda: MiniLMOnnxEmbeddings(threads=1, batch_tokens=1024),
        "2 sessions x 1 thread, 1024": lambda: MiniLMOnnxEmbeddings(threads=1, bulk_sessions=2, batch_tokens=1024),
        "2 sessions x 1 thread, 256": lambda: MiniLMOnnxEmbeddings(threads=1, bulk_sessions=2, batch_tokens=256),
        "2 sessions x 1 thread, 512": lambda: MiniLMOnnxEmbeddings(threads=1, bulk_sessions=2, batch_tokens=512),
        "2 sessions x 1 thread, 768": lambda: MiniLMOnnxEmbeddings(threads=1, bulk_sessions=2, batch_tokens=768),
        "2 sessions x 1 thread, 2048": lambda: MiniLMOnnxEmbeddings(threads=1, bulk_sessions=2, batch_tokens=2048),
        "1 session x 2 threads, no spinning": lambda: MiniLMOnnxEmbeddings(
            batch_tokens=1024, configure=opts(cfg_session_intra_op_allow_spinning="0")),
        "2 sessions x 1 thread, 512, graph opt basic": lambda: MiniLMOnnxEmbeddings(
            threads=1, bulk_sessions=2, batch_tokens=512,
            configure=opts(graph_optimization_level=ort.GraphOptimizationLevel.ORT_ENABLE_BASIC)),
        "2 sessions x 1 thread, 512, graph opt extended": lambda: MiniLMOnnxEmbeddings(
            threads=1, bulk_sessions=2, batch_tokens=512,
            configure=opts(graph_optimization_level=ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED)),
        "2 sessions x 1 thread, 256, graph opt basic": lambda: MiniLMOnnxEmbeddings(
            threads=1, bulk_sessions=2, batch_tokens=256,
            configure=opts(graph_optimization_level=ort.GraphOptimizationLevel.ORT_ENABLE_BASIC)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--texts", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--slice", type=int, default=50, help="texts per timed call")
    ap.add_argument("--only", nargs="*", help="variant names to run (default: all)")
    args = ap.parse_args()

    texts = sample_texts(args.texts)
    print(f"{len(texts)} texts, mean {statistics.mean(map(len, texts)):.0f} characters; "
          f"load average at start {os.getloadavg()[0]:.1f}")
    built = {name: make() for name, make in variants().items() if not args.only or name in args.only}
    names = list(built)
    reference = np.asarray(built[names[0]].embed_documents(texts))
    for name, emb in built.items():  # a full warm-up pass each (arena growth), and an equality check
        diff = float(np.abs(np.asarray(emb.embed_documents(texts)) - reference).max())
        print(f"  {name}: max |difference| to {names[0]}: {diff:.2e}")
    # Paired design: every slice of texts is embedded by every variant back to back (in
    # rotating order), so a burst of load from other processes hits them alike.
    slices = [texts[i:i + args.slice] for i in range(0, len(texts), args.slice)]
    wall: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    for r in range(args.rounds):
        for k, part in enumerate(slices):
            order = names[(r + k) % len(names):] + names[:(r + k) % len(names)]
            for name in order:
                w0, c0 = time.perf_counter(), time.process_time()
                built[name].embed_documents(part)
                wall[name].append(time.perf_counter() - w0)
                cpu[name].append(time.process_time() - c0)
        print(f"  round {r + 1} done, load average {os.getloadavg()[0]:.1f}")
    base = names[0]
    n = len(texts) * args.rounds
    print(f"\n{'variant':36s} {'texts/s':>8s} {'median paired ratio':>20s} {'CPU s/text':>11s}")
    for name in names:
        ratios = [b / v for b, v in zip(wall[base], wall[name])]
        print(f"{name:36s} {n / sum(wall[name]):8.1f} {statistics.median(ratios):20.2f} "
              f"{sum(cpu[name]) / n:11.4f}")
    print(f"load average at end {os.getloadavg()[0]:.1f}")

if __name__ == "__main__":
    main()
