"""docs/BENCHMARKS.md and its chart from the results of ``benchmarks/run.py``.

    python benchmarks/report.py docs/benchmarks.json    # re-render without re-running
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rag.extras import require

STAGES = ("embed_query", "dense", "lexical", "fusion", "answer")


def ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def mb(v: float | None) -> str:
    return "n/a" if v is None else f"{v:,.0f} MB"


def write_report(results: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    chart = out.with_name("benchmarks.png") if out.name == "BENCHMARKS.md" else out.with_suffix(".png")
    draw_chart(results, chart)
    out.write_text(render(results, chart.name), encoding="utf-8")


def render(r: dict, chart_name: str) -> str:
    m, load = r["machine"], r["load"]
    sizes = r["sizes"]
    shared = load["max"] > (m["cores"] or 1) * 0.75
    lines = [
        "# Benchmarks",
        "",
        f"Written by `{r['command']}` on {r['date']} in {r['seconds'] / 60:.0f} minutes. "
        "Re-run it to refresh this page; `--help` lists the options "
        "(`--sizes 2k --server-sizes 2k` is a quick run).",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['mem_gib']:.0f} GiB RAM, no GPU; Python {m['python']}, "
        f"chromadb {m['chromadb']}, onnxruntime {m['onnxruntime']}.",
        f"Load average during the run: {load['min']:.1f} to {load['max']:.1f} (mean {load['mean']:.1f}) on "
        f"{m['cores']} cores." + (" **The machine was shared with other jobs: absolute times are inflated and "
                                   "noisy; ratios measured in the same process are the figures to trust.**"
                                   if shared else ""),
        "",
        f"![benchmark chart]({chart_name})",
        "",
        "Corpora come from `benchmarks/corpus.py` (deterministic Markdown/text reports with headings; "
        "default chunking, 800 characters with 120 overlap). Sizes marked *hash* use the word-hashing "
        "embedder (`RAG_EMBEDDING=hash`): fine for retrieval latency and re-index costs, not for answer "
        "quality or embedding throughput.",
        "",
        "## Indexing: the pipeline next to the raw embedder",
        "",
        "Same texts, same process, embedder loaded and warm for both: *raw* is "
        "`embed_documents(texts)` in one call over every chunk's search text, each once, as a plain "
        "LangChain + Chroma pipeline embeds them; indexing embeds exactly that too (answer units, *unit texts* "
        "below, are embedded when a question first reads them, and kept), timed before the index is built and "
        "again on every 4th text after it (pooled); both sides are reported as chunks/s; *index* is `build_index()` from scratch (list, read, "
        "chunk, diff, embed, write to Chroma). Ratio = raw time / index time (1.00 = indexing costs "
        "nothing on top of the model); CPU ratio uses process CPU time, which other jobs disturb less. "
        "With the *hash* embedder the raw side costs next to nothing, so its ratio (in parentheses) is "
        "not a target: its index rate is what reading, chunking and Chroma writes alone allow. "
        "Peak RSS is that of `build_index()` (model loaded; the benchmark also holds the corpus texts).",
        "",
        "| size | embedder | chunks | unit texts | files | raw chunks/s | index chunks/s | ratio | CPU ratio | "
        "peak RSS | index on disk |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in sizes:
        i = s["index"]
        ratio, cpu = f"{i['ratio_wall']:.2f}", f"{i['ratio_cpu']:.2f}"
        if s["embedding"] == "hash":
            ratio, cpu = f"({ratio})", f"({cpu})"
        units = f"{i['unit_texts']:,}" if "unit_texts" in i else "n/a"
        lines.append(f"| {s['label']} | {emb(s)} | {i['chunks']:,} | {units} | {s['files']:,} | "
                     f"{i['raw_chunks_per_s']:,.1f} | "
                     f"{i['index_chunks_per_s']:,.1f} | {ratio} | {cpu} | "
                     f"{mb(i.get('index_peak_rss_mb') or i['peak_rss_mb'])} | {mb(i['disk_mb'])} "
                     f"({i['disk_mb'] * 2**20 / i['chunks'] / 1024:.1f} KB/chunk) |")
    lines += [
        "",
        "## Re-indexing",
        "",
        "*Unchanged*: `rag index` again with nothing changed (median of 3; files whose size and times "
        "match the last run are not read; when the index files are as the last run left them, Chroma is not "
        "even opened), in the benchmark's process and as `rag index` in a new process (*CLI*: Python start-up "
        "and imports included). *Full check*: `rag index --full-check`, which reads and hashes "
        "every file (what every re-index cost before). *One file edited*: a paragraph appended to one file, "
        "in the benchmark's process (embedder loaded) and as `rag index` in a new process (importing Chroma "
        "and the embedder, opening the store, checking it).",
        "",
        "| size | files | unchanged | unchanged, CLI | full check | full / unchanged | one file edited | "
        "one file edited, CLI | chunks re-embedded |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in sizes:
        x = s["reindex"]
        lines.append(f"| {s['label']} | {x['files']:,} | {ms(x['unchanged_median_s'])} | "
                     f"{ms(x.get('unchanged_cli_median_s'))} | {ms(x['full_check_s'])} | "
                     f"{x['full_check_s'] / x['unchanged_median_s']:.1f}x | {ms(x['edit_s'])} | "
                     f"{ms(x.get('edit_cli_s'))} | {x['edit_embedded']} |")
    if r.get("files"):
        lines += [
            "",
            "Corpora of many small files (about a chunk or two each, *hash* embedder): re-index with nothing "
            "changed, median of 3, in-process and as `rag index` in a new process.",
            "",
            "| files | chunks | first index | unchanged | unchanged, CLI | index on disk |",
            "| ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for f in r["files"]:
            lines.append(f"| {f['files']:,} | {f['chunks']:,} | {ms(f['index_s'])} | {ms(f['unchanged_median_s'])} | "
                         f"{ms(f['unchanged_cli_median_s'])} | {mb(f['disk_mb'])} |")
    lines += [
        "",
        "## Asking",
        "",
        "*Cold*: from starting a new Python process to the first answer (imports, model, index and lexical "
        "state loaded). *Warm*: `ask()` in that process afterwards; each question "
        f"asked {r.get('rounds', 2)} times. Stages are "
        "medians of `answer.trace['timings']`. *Cited* counts answerable questions whose citations "
        "include the file that states the fact; *refused* counts out-of-corpus questions refused.",
        "",
        "| size | cold first answer | warm p50 | warm p95 | embed query | dense | lexical | fusion | answer | "
        "peak RSS | cited | refused |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in sizes:
        a = s["ask"]
        st = a["stages_p50_s"]
        lines.append(f"| {s['label']} | {ms(a['cold_s'])} | {ms(a['p50_s'])} | {ms(a['p95_s'])} | "
                     + " | ".join(ms(st[k]) for k in STAGES)
                     + f" | {mb(a['peak_rss_mb'])} | {a['cited_expected']}/{a['answerable']} | "
                       f"{a['refused_unanswerable']}/{a['unanswerable']} |")
    if len(sizes) > 1:
        small, big = sizes[0]["ask"], sizes[-1]["ask"]
        lines += ["", f"p95 at {sizes[-1]['label']} / p95 at {sizes[0]['label']}: "
                      f"{big['p95_s'] / small['p95_s']:.1f}x (same run)."]
    server = [s for s in sizes if "server_index" in s]
    if server:
        lines += [
            "",
            "## Chroma server (`chroma run` on 127.0.0.1) against the embedded store",
            "",
            "Same corpus, same embedder; ratios are server / embedded (above 1 = the server is slower).",
            "",
            "| size | index chunks/s | ratio (time) | cold first answer | warm p50 | ratio | warm p95 | ratio | "
            "dense stage p50 | server peak RSS | server data on disk |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for s in server:
            si, sa, i, a = s["server_index"], s["server_ask"], s["index"], s["ask"]
            lines.append(
                f"| {s['label']} | {si['index_chunks_per_s']:.1f} | {i['index_chunks_per_s'] / si['index_chunks_per_s']:.2f} | "
                f"{ms(sa['cold_s'])} | {ms(sa['p50_s'])} | {sa['p50_s'] / a['p50_s']:.2f} | {ms(sa['p95_s'])} | "
                f"{sa['p95_s'] / a['p95_s']:.2f} | {ms(sa['stages_p50_s']['dense'])} | {mb(s.get('server_rss_mb'))} | "
                f"{mb(s.get('server_disk_mb'))} |")
    lines += ["", "Raw figures: `docs/benchmarks.json`. Per-chunk costs derived from them: "
                  "[SCALING.md](SCALING.md).", ""]
    return "\n".join(lines)


def emb(size: dict) -> str:
    return "MiniLM" if size["embedding"] == "minilm-onnx" else "*hash*"


def draw_chart(r: dict, path: Path) -> None:
    matplotlib = require("matplotlib", "eval", "the benchmark charts")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = r["sizes"]
    names = [f"{s['label']}\n({emb(s).strip('*')})" for s in sizes]
    x = list(range(len(sizes)))
    fig, ax = plt.subplots(2, 2, figsize=(11, 7.5))

    a = ax[0][0]
    bottom = [0.0] * len(sizes)
    for k in STAGES:
        v = [s["ask"]["stages_mean_s"][k] * 1000 for s in sizes]
        a.bar(x, v, bottom=bottom, label=k, width=0.5)
        bottom = [b + y for b, y in zip(bottom, v)]
    a.plot(x, [s["ask"]["p50_s"] * 1000 for s in sizes], "ko-", label="p50")
    a.plot(x, [s["ask"]["p95_s"] * 1000 for s in sizes], "k^--", label="p95")
    a.set_xticks(x, names)
    a.set_ylabel("ms")
    a.set_title("warm ask(): mean per stage, p50, p95")
    a.legend(fontsize=7)

    a = ax[0][1]
    w = 0.35
    a.bar([i - w / 2 for i in x], [s["index"]["raw_chunks_per_s"] for s in sizes], w, label="raw embedder")
    a.bar([i + w / 2 for i in x], [s["index"]["index_chunks_per_s"] for s in sizes], w, label="build_index()")
    for i, s in zip(x, sizes):
        a.annotate(f"{s['index']['ratio_wall']:.2f}", (i + w / 2, s["index"]["index_chunks_per_s"]),
                   ha="center", va="bottom", fontsize=8)
    a.set_xticks(x, names)
    a.set_yscale("log")
    a.set_ylabel("chunks/s (log)")
    a.set_title("indexing throughput, same texts (ratio on top)")
    a.legend(fontsize=7)

    a = ax[1][0]
    w = 0.25
    for j, (key, lab) in enumerate([("unchanged_median_s", "unchanged"), ("full_check_s", "full check"),
                                    ("edit_s", "one file edited")]):
        a.bar([i + (j - 1) * w for i in x], [s["reindex"][key] for s in sizes], w, label=lab)
    a.set_xticks(x, names)
    a.set_yscale("log")
    a.set_ylabel("seconds (log)")
    a.set_title("re-index")
    a.legend(fontsize=7)

    a = ax[1][1]
    w = 0.25
    a.bar([i - w for i in x], [s["index"].get("index_peak_rss_mb") or s["index"]["peak_rss_mb"] for s in sizes], w,
          label="peak RSS, indexing")
    a.bar(x, [s["ask"]["peak_rss_mb"] for s in sizes], w, label="peak RSS, asking")
    a.bar([i + w for i in x], [s["index"]["disk_mb"] for s in sizes], w, label="index on disk")
    a.set_xticks(x, names)
    a.set_ylabel("MB")
    a.set_title("memory and disk")
    a.legend(fontsize=7)

    fig.suptitle(f"rag-citations benchmarks, {r['date'][:10]}, {r['machine']['cores']} cores, "
                 f"load {r['load']['min']:.1f}-{r['load']['max']:.1f}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


if __name__ == "__main__":
    src = Path(sys.argv[1])
    write_report(json.loads(src.read_text(encoding="utf-8")), src.with_name("BENCHMARKS.md"))
