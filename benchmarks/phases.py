"""The measurements, each run in a fresh child process by ``benchmarks/run.py``
(so peak RSS and cold start belong to that phase alone). Each phase writes one
JSON object to the path it is given.

    python benchmarks/phases.py index  '{"corpus": ..., "index": ..., "embedding": "minilm-onnx"}' out.json
    python benchmarks/phases.py reindex '{...}' out.json
    python benchmarks/phases.py ask    '{..., "questions": [...], "rounds": 2}' out.json
    python benchmarks/phases.py files  '{"corpus": ..., "index": ..., "embedding": "hash"}' out.json
"""

from __future__ import annotations

import time

T_PROCESS = time.time()  # before the heavy imports: cold start counts them

import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
# benchmarks/compare.py points this at another version's code to measure before/after.
sys.path.insert(0, os.environ.get("RAG_BENCH_CODE") or str(REPO))

STAGES = ("embed_query", "dense", "lexical", "fusion", "answer")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> bool:
    """Free what can be freed and restart the kernel's peak-RSS count (Linux:
    writing 5 to /proc/self/clear_refs), so the next phase's peak is its own."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # hand freed heap back, or it counts as still used
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def current_peak_mb() -> float | None:
    """VmHWM: peak RSS since the last reset_peak_rss()."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def disk_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 2**20


def settings_for(args: dict):
    from rag import Settings

    return Settings(corpus_dir=args["corpus"], index_dir=args["index"], embedding=args["embedding"],
                    chroma_url=args.get("chroma_url"))


def phase_index(args: dict) -> dict:
    """Raw embedder and the whole indexing pipeline on the same texts, same process."""
    from rag import build_index
    from rag.ingest.chunking import split_documents
    from rag.ingest.loading import load_corpus
    from rag.embeddings import make_embeddings
    from rag.retrieval.units import chunk_units

    s = settings_for(args)
    t = time.perf_counter()
    emb = make_embeddings(s)
    model_load = time.perf_counter() - t
    t = time.perf_counter()
    docs, _ = load_corpus(s.ingest.corpus_dir)
    chunks = split_documents(docs, s.ingest.chunk_size, s.ingest.chunk_overlap)
    # The bare embedder's side: each chunk's search text embedded once, as a plain LangChain +
    # Chroma pipeline would (issue 16's yardstick). Indexing also gets its answer units' vectors
    # (pooled from the same forward pass), which the bare side does without.
    chunk_texts = [c.search_text for c in chunks]
    unit_texts = [u.reading for i, c in enumerate(chunks)
                  for u in chunk_units(c, chunks[i - 1] if i and chunks[i - 1].source == c.source else None)]
    texts = chunk_texts
    read_chunk = time.perf_counter() - t
    emb.embed_documents(texts[:64])  # warm-up: the first calls grow onnxruntime's memory arena

    def timed(fn):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        return out, time.perf_counter() - w, time.process_time() - c

    # Raw, then the pipeline, then raw again on every 4th text: both with the embedder
    # loaded and warm, and a drift in load from other jobs hits both sides.
    _, raw_wall, raw_cpu = timed(lambda: len(emb.embed_documents(texts)))  # vectors dropped at once
    load_between = os.getloadavg()[0]
    own_peak = reset_peak_rss()  # the raw run's vectors must not count as indexing memory
    report, ix_wall, ix_cpu = timed(lambda: build_index(s, embeddings=emb, progress=False))
    index_peak = current_peak_mb() if own_peak else None
    sample = chunk_texts[::4]
    _, w2, c2 = timed(lambda: len(emb.embed_documents(sample)))
    # Pooled over both raw runs, scaled to all texts.
    rate = (len(texts) + len(sample)) / (raw_wall + w2)
    cpu_rate = (len(texts) + len(sample)) / (raw_cpu + c2)
    raw_wall, raw_cpu = len(texts) / rate, len(texts) / cpu_rate
    return {
        "chunks": report.chunks_total, "files": len(report.files_added), "texts": len(texts),
        "unit_texts": len(unit_texts),
        "embedded": report.chunks_embedded, "model_load_s": model_load, "read_chunk_s": read_chunk,
        "raw_s": raw_wall, "raw_cpu_s": raw_cpu, "index_s": ix_wall, "index_cpu_s": ix_cpu,
        # chunks/s on both sides: the raw side embeds each chunk text once, indexing does that and pools units
        "raw_chunks_per_s": len(chunk_texts) / raw_wall, "index_chunks_per_s": report.chunks_embedded / ix_wall,
        "ratio_wall": raw_wall / ix_wall, "ratio_cpu": raw_cpu / ix_cpu,
        "mean_chars": statistics.mean(map(len, texts)),
        # index_peak_rss_mb: build_index() alone (model loaded, corpus texts held by this benchmark);
        # peak_rss_mb: the whole process, raw embedding runs included.
        "index_peak_rss_mb": index_peak, "peak_rss_mb": peak_rss_mb(),
        "disk_mb": None if s.store.chroma_url else disk_mb(s.store.index_dir),
        "load_between": load_between,
    }


def phase_reindex(args: dict) -> dict:
    """Unchanged re-index (fast path), the full check, and one edited file."""
    from rag import build_index

    s = settings_for(args)
    unchanged = []
    for _ in range(3):
        t = time.perf_counter()
        r = build_index(s, progress=False)
        unchanged.append(time.perf_counter() - t)
        assert r.chunks_embedded == 0, r.summary()
    import inspect

    unchanged_cli = cli_index_times(s, 3)  # what a user sees: `rag index` in a new process
    t = time.perf_counter()
    if "full_check" in inspect.signature(build_index).parameters:
        r = build_index(s, progress=False, full_check=True)
    else:  # older versions read every file on every run
        r = build_index(s, progress=False)
    full = time.perf_counter() - t
    target = sorted(p for p in Path(s.ingest.corpus_dir).rglob("*.md"))[len(r.files_added) // 2 or 0]
    original = target.read_bytes()
    try:
        target.write_text(original.decode("utf-8") + "\n\nAn added closing paragraph about the harbour.\n",
                          encoding="utf-8")
        t = time.perf_counter()
        edited = build_index(s, progress=False)
        edit = time.perf_counter() - t
        # The same edit again, undone and redone, indexed by `rag index` in a new process (imports,
        # opening Chroma and the store check included).
        target.write_bytes(original)
        build_index(s, progress=False)
        target.write_text(original.decode("utf-8") + "\n\nAn added closing paragraph about the harbour.\n",
                          encoding="utf-8")
        edit_cli = cli_index_times(s, 1)[0]
    finally:
        target.write_bytes(original)
    restored = build_index(s, progress=False)  # the corpus stays as generated
    return {"files": r.files_unchanged + len(r.skipped), "unchanged_s": unchanged,
            "unchanged_median_s": statistics.median(unchanged), "full_check_s": full,
            "edit_s": edit, "edit_embedded": edited.chunks_embedded, "edit_updated": edited.files_updated,
            "unchanged_cli_s": unchanged_cli, "unchanged_cli_median_s": statistics.median(unchanged_cli),
            "edit_cli_s": edit_cli,
            "restore_embedded": restored.chunks_embedded, "peak_rss_mb": peak_rss_mb()}


def cli_index_times(s, runs: int) -> list[float]:
    """Wall time of ``rag index`` run ``runs`` times, each in a new process."""
    env = {**os.environ, "RAG_CORPUS_DIR": str(s.ingest.corpus_dir), "RAG_INDEX_DIR": str(s.store.index_dir),
           "RAG_EMBEDDING": s.embeddings.provider}
    if s.store.chroma_url:
        env["RAG_CHROMA_URL"] = s.store.chroma_url
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rag.cli", "index"], env=env, check=True, capture_output=True)
        out.append(time.perf_counter() - t)
    return out


def phase_files(args: dict) -> dict:
    """A corpus of many small files: index it once, then re-index it unchanged, in this
    process and as `rag index` in new processes (what the file-state record is for)."""
    from rag import build_index

    s = settings_for(args)
    t = time.perf_counter()
    first = build_index(s, progress=False)
    index_s = time.perf_counter() - t
    time.sleep(2.5)  # files written just before the first run are "racy" once: read again, as git does
    build_index(s, progress=False)
    inproc = []
    for _ in range(3):
        t = time.perf_counter()
        r = build_index(s, progress=False)
        inproc.append(time.perf_counter() - t)
        assert r.chunks_embedded == 0 and not r.files_updated, r.summary()
    cli = cli_index_times(s, 3)
    return {"files": len(first.files_added), "chunks": first.chunks_total, "index_s": index_s,
            "unchanged_s": inproc, "unchanged_median_s": statistics.median(inproc),
            "unchanged_cli_s": cli, "unchanged_cli_median_s": statistics.median(cli),
            "disk_mb": disk_mb(s.store.index_dir), "peak_rss_mb": peak_rss_mb()}


def phase_ask(args: dict) -> dict:
    """Cold first answer in this new process, then warm latencies per stage."""
    from rag import ask

    s = settings_for(args)
    questions = args["questions"]
    first = ask(questions[0]["question"], settings=s)
    cold = time.time() - args.get("launched", T_PROCESS)
    cold_inside = time.time() - T_PROCESS
    rss_after_first = peak_rss_mb()
    lat, stages, hits, refused_ok = [], {k: [] for k in STAGES}, 0, 0
    by_round: list[list[float]] = []
    for r in range(args["rounds"]):
        by_round.append([])
        for q in questions:
            t = time.perf_counter()
            a = ask(q["question"], settings=s)
            lat.append(time.perf_counter() - t)
            by_round[-1].append(lat[-1])
            timings = a.trace.get("timings", {})
            for k in STAGES:
                stages[k].append(timings.get(k, 0.0))
            if r == 0:
                if q.get("source") is None:
                    refused_ok += a.refused
                else:
                    hits += any(c.source == q["source"] for c in a.citations)
    lat.sort()
    return {
        "cold_s": cold, "cold_inside_s": cold_inside, "first_refused": first.refused,
        "n": len(lat), "p50_s": pct(lat, 50), "p95_s": pct(lat, 95), "max_s": lat[-1],
        # The first round reads most passages for the first time (their answer units are embedded
        # then and kept); later rounds find them stored.
        "first_round_p50_s": pct(sorted(by_round[0]), 50), "first_round_p95_s": pct(sorted(by_round[0]), 95),
        "repeat_p50_s": pct(sorted(x for r in by_round[1:] for x in r), 50) if len(by_round) > 1 else None,
        "repeat_p95_s": pct(sorted(x for r in by_round[1:] for x in r), 95) if len(by_round) > 1 else None,
        "stages_p50_s": {k: pct(sorted(v), 50) for k, v in stages.items()},
        "stages_mean_s": {k: statistics.mean(v) for k, v in stages.items()},
        "answerable": sum(1 for q in questions if q.get("source")), "cited_expected": hits,
        "unanswerable": sum(1 for q in questions if not q.get("source")), "refused_unanswerable": refused_ok,
        "peak_rss_mb": peak_rss_mb(), "rss_after_first_mb": rss_after_first,
    }


def pct(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


PHASES = {"index": phase_index, "reindex": phase_reindex, "ask": phase_ask, "files": phase_files}

if __name__ == "__main__":
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    name, raw, out = sys.argv[1], sys.argv[2], sys.argv[3]
    result = PHASES[name](json.loads(raw))
    result["load_end"] = os.getloadavg()[0]
    Path(out).write_text(json.dumps(result, indent=1), encoding="utf-8")
