"""Run every benchmark and write docs/BENCHMARKS.md (with docs/benchmarks.png
and the raw figures in docs/benchmarks.json).

    .venv/bin/python benchmarks/run.py                      # 2k, 20k (MiniLM) and 100k chunks (hash)
    .venv/bin/python benchmarks/run.py --sizes 2k --server-sizes 2k   # a quick run, a few minutes
    .venv/bin/python benchmarks/run.py --sizes 500 --files-sizes 500 --out /tmp/b.md   # a smoke test

For each size: a deterministic corpus (benchmarks/corpus.py, cached under
--work), then each phase in a fresh process (benchmarks/phases.py): indexing
next to the raw embedder on the same texts; re-index unchanged, full check and
one edited file (in-process, and as `rag index` in a new process); cold first
answer and warm ask() latencies per stage. For each --files-sizes, a corpus of
that many small files re-indexed unchanged. For the
--server-sizes, the same indexing and asking against `chroma run` on
127.0.0.1. Sizes up to --minilm-up-to use the bundled MiniLM, bigger ones the
word-hashing embedder (retrieval latency does not depend on vector quality).
The machine's load average is sampled throughout and reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from corpus import generate  # noqa: E402
from report import write_report  # noqa: E402


def parse_size(text: str) -> int:
    text = text.strip().lower()
    return int(float(text[:-1]) * 1000) if text.endswith("k") else int(text)


def label(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


class LoadSampler:
    """Samples the 1-minute load average every few seconds in the background."""

    def __init__(self, every: float = 5.0) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)

    def _run(self, every: float) -> None:
        while not self._stop.is_set():
            self.samples.append(os.getloadavg()[0])
            self._stop.wait(every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def run_phase(name: str, args: dict, work: Path, env: dict | None = None, timeout: float = 4 * 3600) -> dict:
    out = work / f"phase-{name}-{os.getpid()}.json"
    args = {**args, "launched": time.time()}
    cmd = [sys.executable, str(HERE / "phases.py"), name, json.dumps(args), str(out)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"phase {name} failed:\n{proc.stderr[-4000:]}")
    result = json.loads(out.read_text(encoding="utf-8"))
    out.unlink()
    result["process_s"] = time.perf_counter() - t
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChromaServer:
    """`chroma run` on 127.0.0.1 in a temp folder; stopped by its own PID."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        exe = Path(sys.executable).with_name("chroma")
        cmd = [str(exe) if exe.exists() else shutil.which("chroma"), "run", "--path", str(self.path),
               "--host", "127.0.0.1", "--port", str(self.port)]
        self.log = open(self.path.parent / f"chroma-{self.port}.log", "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError("chroma server did not start")
            time.sleep(0.3)

    def peak_rss_mb(self) -> float | None:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self.log.close()


def machine() -> dict:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                       if line.startswith("MemTotal"))) / 2**20
    except (OSError, StopIteration):
        mem = None
    import chromadb
    import onnxruntime

    return {"cpu": cpu, "cores": os.cpu_count(), "mem_gib": mem, "python": platform.python_version(),
            "chromadb": chromadb.__version__, "onnxruntime": onnxruntime.__version__,
            "platform": platform.platform()}


def bench_size(n: int, args, work: Path, log) -> dict:
    embedding = "minilm-onnx" if n <= args.minilm_up_to else "hash"
    corpus = work / f"corpus-{label(n)}"
    t = time.perf_counter()
    info = generate(corpus, chunks=n)
    log(f"[{label(n)}] corpus: {info['files']} files ({time.perf_counter() - t:.0f} s)")
    questions = info["questions"][:args.questions] + [{"question": q, "source": None}
                                                      for q in info["out_of_corpus"]]
    index = work / f"index-{label(n)}"
    shutil.rmtree(index, ignore_errors=True)
    base = {"corpus": str(corpus), "index": str(index), "embedding": embedding}
    out: dict = {"size": n, "label": label(n), "embedding": embedding, "files": info["files"]}
    out["index"] = run_phase("index", base, work)
    log(f"[{label(n)}] index: {out['index']['chunks']} chunks, {out['index']['index_chunks_per_s']:.1f}/s, "
        f"raw {out['index']['raw_chunks_per_s']:.1f}/s, ratio {out['index']['ratio_wall']:.2f}")
    out["reindex"] = run_phase("reindex", base, work)
    log(f"[{label(n)}] re-index unchanged {out['reindex']['unchanged_median_s']:.2f} s, "
        f"full check {out['reindex']['full_check_s']:.2f} s, edit {out['reindex']['edit_s']:.2f} s")
    ask_args = {**base, "questions": questions, "rounds": args.rounds}
    out["ask"] = run_phase("ask", ask_args, work)
    log(f"[{label(n)}] ask cold {out['ask']['cold_s']:.2f} s, warm p50 {out['ask']['p50_s'] * 1000:.0f} ms "
        f"p95 {out['ask']['p95_s'] * 1000:.0f} ms (first time a passage is read: p50 "
        f"{out['ask']['first_round_p50_s'] * 1000:.0f} ms p95 {out['ask']['first_round_p95_s'] * 1000:.0f} ms)")
    if n in args.server_sizes:
        data = work / f"server-{label(n)}"
        shutil.rmtree(data, ignore_errors=True)
        with ChromaServer(data) as server:
            remote = {**base, "chroma_url": server.url, "index": str(work / "unused-index")}
            out["server_index"] = run_phase("index", remote, work)
            out["server_ask"] = run_phase("ask", {**remote, "questions": questions, "rounds": args.rounds},
                                          work)
            out["server_rss_mb"] = server.peak_rss_mb()
        out["server_disk_mb"] = sum(f.stat().st_size for f in data.rglob("*") if f.is_file()) / 2**20
        shutil.rmtree(data, ignore_errors=True)
        log(f"[{label(n)}] server: index {out['server_index']['index_chunks_per_s']:.1f}/s, "
            f"ask p50 {out['server_ask']['p50_s'] * 1000:.0f} ms")
    if not args.keep:
        shutil.rmtree(index, ignore_errors=True)
    return out


def bench_files(n: int, args, work: Path, log) -> dict:
    """A corpus of ``n`` small files (hash embedder): unchanged re-index."""
    corpus = work / f"files-{label(n)}"
    t = time.perf_counter()
    info = generate(corpus, chunks=0, files=n)
    log(f"[{label(n)} files] corpus: {info['files']} files ({time.perf_counter() - t:.0f} s)")
    index = work / f"index-files-{label(n)}"
    shutil.rmtree(index, ignore_errors=True)
    out = run_phase("files", {"corpus": str(corpus), "index": str(index), "embedding": "hash"}, work)
    log(f"[{label(n)} files] {out['chunks']} chunks indexed in {out['index_s']:.0f} s; unchanged re-index "
        f"{out['unchanged_median_s']:.2f} s in-process, {out['unchanged_cli_median_s']:.2f} s as `rag index`")
    if not args.keep:
        shutil.rmtree(index, ignore_errors=True)
    return {"size": n, "label": label(n), **out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--sizes", default="2k,20k,100k", help="corpus sizes in chunks (default 2k,20k,100k)")
    ap.add_argument("--minilm-up-to", default="20k", help="bigger sizes use the hash embedder (default 20k)")
    ap.add_argument("--server-sizes", default="2k", help="sizes also run against a Chroma server ('' for none)")
    ap.add_argument("--files-sizes", default="100k",
                    help="corpora of this many small files, re-indexed unchanged (hash embedder; '' for none)")
    ap.add_argument("--questions", type=int, default=24, help="answerable questions per size (plus 3 that are not)")
    ap.add_argument("--rounds", type=int, default=2, help="times each question is asked warm")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "rag-bench",
                    help="corpora (kept, reused) and indexes (deleted unless --keep)")
    ap.add_argument("--keep", action="store_true", help="keep the indexes")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "BENCHMARKS.md")
    args = ap.parse_args()
    args.sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    args.minilm_up_to = parse_size(args.minilm_up_to)
    args.server_sizes = {parse_size(s) for s in args.server_sizes.split(",") if s.strip()}
    args.files_sizes = [parse_size(s) for s in args.files_sizes.split(",") if s.strip()]
    args.work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

    started = time.perf_counter()

    def log(msg: str) -> None:
        print(f"{time.perf_counter() - started:7.0f} s  {msg}  (load {os.getloadavg()[0]:.1f})", flush=True)

    results = {"date": datetime.now(timezone.utc).isoformat(timespec="minutes"), "machine": machine(),
               "command": " ".join([Path(sys.executable).name, "benchmarks/run.py", *sys.argv[1:]]),
               "rounds": args.rounds, "sizes": []}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    json_path = args.out.with_name("benchmarks.json") if args.out.name == "BENCHMARKS.md" \
        else args.out.with_suffix(".json")
    with LoadSampler() as load:
        for n in args.sizes:
            results["sizes"].append(bench_size(n, args, args.work, log))
            results["seconds"] = time.perf_counter() - started
            results["load"] = {"min": min(load.samples), "max": max(load.samples),
                               "mean": sum(load.samples) / len(load.samples)}
            # Saved after every size, so a long run that fails late keeps what it measured.
            json_path.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
        for n in args.files_sizes:
            results.setdefault("files", []).append(bench_files(n, args, args.work, log))
            results["seconds"] = time.perf_counter() - started
            results["load"] = {"min": min(load.samples), "max": max(load.samples),
                               "mean": sum(load.samples) / len(load.samples)}
            json_path.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    write_report(results, args.out)
    log(f"wrote {args.out}, {json_path.name} and the chart")


if __name__ == "__main__":
    main()
