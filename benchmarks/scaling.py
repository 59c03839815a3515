"""Per-chunk costs from a benchmark run, and what they add up to at a target
size: the arithmetic behind docs/SCALING.md, so it can be redone after every
run of ``benchmarks/run.py``.

    .venv/bin/python benchmarks/scaling.py docs/benchmarks.json [--target 10M]

Only the figures named "assumed" are not measured here (GPU speed, HNSW graph
overhead); each is printed with its source.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

DIM = 384                     # all-MiniLM-L6-v2
HNSW_M = 16                   # Chroma's default max links per node (assumed per-node overhead below)
GPU_CHUNKS_PER_S = (3000, 10000)  # assumed: MiniLM-L6, ~130 tokens, one current datacenter GPU; not measured here


def parse_size(text: str) -> int:
    t = text.strip().lower()
    mult = {"k": 10**3, "m": 10**6}.get(t[-1], 1)
    return int(float(t.rstrip("km")) * mult)


def derive(r: dict, target: int) -> list[tuple[str, str]]:
    sizes = r["sizes"]
    minilm = [s for s in sizes if s["embedding"] == "minilm-onnx"]
    big = max(sizes, key=lambda s: s["index"]["chunks"])
    small = min(sizes, key=lambda s: s["index"]["chunks"])
    cores = r["machine"]["cores"] or 1
    out: list[tuple[str, str]] = []

    def add(name: str, value: str) -> None:
        out.append((name, value))

    if minilm:
        m = max(minilm, key=lambda s: s["index"]["chunks"])
        i = m["index"]
        per_core = i["raw_chunks_per_s"] / cores
        cpu_ms = i["raw_cpu_s"] / i["texts"] * 1000
        add("embedding, bundled MiniLM on this CPU", f"{i['raw_chunks_per_s']:.1f} chunks/s on {cores} cores "
            f"({per_core:.1f}/core; {cpu_ms:.0f} ms CPU per chunk of {i['mean_chars']:.0f} characters), "
            f"measured at {m['label']}")
        add("indexing pipeline / raw embedder", f"{i['ratio_wall']:.2f} (CPU time {i['ratio_cpu']:.2f})")
        core_hours = target * cpu_ms / 1000 / 3600
        add(f"embed {target:,} chunks on CPU", f"{core_hours:,.0f} core-hours: {core_hours / cores / 24:,.1f} days "
            f"on this {cores}-core machine, {core_hours / 64:,.1f} h on 64 cores")
        lo, hi = GPU_CHUNKS_PER_S
        add(f"embed {target:,} chunks on GPUs (assumed {lo:,}-{hi:,} chunks/s per GPU)",
            f"{target / hi / 3600:.1f}-{target / lo / 3600:.1f} GPU-hours (e.g. 4 GPUs: "
            f"{target / hi / 3600 / 4 * 60:.0f}-{target / lo / 3600 / 4 * 60:.0f} min)")
        json_bytes = DIM * 20 + i["mean_chars"] + 60  # floats as JSON text (~20 characters each) + request
        add("embedding traffic (float JSON)", f"{json_bytes / 1024:.1f} KB per chunk: "
            f"{target * json_bytes / 1e9:,.0f} GB in all ({target * (DIM * 4 * 4 / 3 + i['mean_chars']) / 1e9:,.0f} "
            "GB as base64)")
        disk_kb = i["disk_mb"] * 1024 / i["chunks"]
        add("embedded Chroma on disk (MiniLM, 384-d)", f"{disk_kb:.1f} KB per chunk (vector alone: "
            f"{DIM * 4 / 1024:.1f} KB): {target * disk_kb / 2**20:,.0f} GB at {target:,}")
        if m.get("server_disk_mb"):
            sk = m["server_disk_mb"] * 1024 / i["chunks"]
            add("Chroma server data on disk", f"{sk:.1f} KB per chunk: {target * sk / 2**20:,.0f} GB")
    hnsw = target * (DIM * 4 + HNSW_M * 2 * 4 + 64) / 2**30
    add("dense index in RAM (vectors + HNSW links, assumed M=16, float32)", f"{hnsw:,.1f} GiB at {target:,}")

    ask_b, ask_s = big["ask"], small["ask"]
    n_b, n_s = big["index"]["chunks"], small["index"]["chunks"]
    slope_kb = (ask_b["peak_rss_mb"] - ask_s["peak_rss_mb"]) * 1024 / max(1, n_b - n_s)
    add("asking process peak RSS", f"{ask_s['peak_rss_mb']:.0f} MB at {n_s:,} chunks, {ask_b['peak_rss_mb']:.0f} MB "
        f"at {n_b:,}: {slope_kb:.1f} KB per extra chunk (texts, lexical state, Chroma's HNSW in process)")
    add(f"same process at {target:,} chunks", f"{(ask_s['peak_rss_mb'] + slope_kb * (target - n_s) / 1024) / 1024:,.0f} GB "
        "if nothing changes: the corpus-sized state must leave the process")
    for k in ("dense", "lexical", "answer"):
        a, b = ask_s["stages_p50_s"][k], ask_b["stages_p50_s"][k]
        add(f"ask stage '{k}' p50", f"{a * 1000:.1f} ms at {n_s:,}, {b * 1000:.1f} ms at {n_b:,} "
            f"(x{b / a if a else float('nan'):.1f} for x{n_b / n_s:.0f} chunks)")
    lex_per_chunk_us = ask_b["stages_p50_s"]["lexical"] / n_b * 1e6
    add("in-process lexical search, linear extrapolation", f"{lex_per_chunk_us * target / 1e6:,.1f} s per question at "
        f"{target:,} (scores every chunk)")
    x = big["reindex"]
    files_target = target * big["files"] / n_b
    add("unchanged re-index", f"{x['unchanged_median_s']:.2f} s for {x['files']:,} files "
        f"({x['unchanged_median_s'] / x['files'] * 1e6:.0f} us/file): ~{x['unchanged_median_s'] / x['files'] * files_target:,.0f} s "
        f"for the {files_target:,.0f} files of {target:,} chunks")
    for h in [s for s in sizes if s["embedding"] == "hash"][-1:]:
        hi = h["index"]
        add(f"indexing pipeline with a near-free embedder (hash, {h['label']})",
            f"{hi['index_chunks_per_s']:,.0f} chunks/s into embedded Chroma (read, chunk, write): one writer "
            f"takes {target / hi['index_chunks_per_s'] / 3600:,.1f} h for {target:,}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", type=Path)
    ap.add_argument("--target", default="10M")
    args = ap.parse_args()
    r = json.loads(args.results.read_text(encoding="utf-8"))
    target = parse_size(args.target)
    print(f"From {args.results} ({r['date']}, {r['machine']['cores']} cores, load {r['load']['min']:.1f}-"
          f"{r['load']['max']:.1f}); target {target:,} chunks\n")
    for name, value in derive(r, target):
        print(f"- {name}: {value}")


if __name__ == "__main__":
    main()
