"""Benchmark `rag serve` against calling ask() in-process, and print the figures.

    .venv/bin/python benchmarks/bench_api.py [--requests 120] [--rounds 3] [--workers 2]

Indexes a temp copy of seeds/ (default MiniLM embedder, extractive answerer),
starts `rag serve` in its own process on 127.0.0.1, and sends non-streaming
chat completions from 1, 8 and 32 concurrent clients (asyncio tasks, one
keep-alive httpx connection each, cycling through ten questions, some refused); and times
ask() in this process, warm, one call after another, over the same questions.
The two alternate for ``--rounds`` rounds and each figure is the median over
rounds, so a burst of load from elsewhere on the machine does not land on one
side only. The clients share the machine's cores with the server, as they
would on a laptop.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench_core import QUESTIONS  # noqa: E402 - same questions as the core benchmark

LEVELS = (1, 8, 32)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def start_server(corpus: Path, index: Path, workers: int, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "RAG_CORPUS_DIR": str(corpus), "RAG_INDEX_DIR": str(index), "RAG_ANSWERER": "extractive",
           "RAG_SERVE_WORKERS": str(workers), "RAG_SERVE_QUEUE": "256", "ANONYMIZED_TELEMETRY": "False"}
    env.pop("RAG_API_KEY", None)
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--port", str(port)], env=env,
                            stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"rag serve exited: {log.read_text()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("rag serve did not start in 180 s")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.25)


def run_level(url: str, clients: int, total: int) -> dict:
    """``total`` requests spread over ``clients`` concurrent clients; latency of each, wall time of all."""
    return asyncio.run(_run_level(url, clients, total))


async def _run_level(url: str, clients: int, total: int) -> dict:
    # asyncio clients, one keep-alive connection each: ~1 ms of client CPU per request,
    # where 32 client threads would take CPU the server needs on a 2-core machine.
    latencies: list[float] = []
    errors: list[str] = []
    counter = iter(range(total))

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=120) as http:
            for i in counter:
                body = {"model": "rag", "messages": [{"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]}]}
                t0 = time.perf_counter()
                r = await http.post("/v1/chat/completions", json=body)
                dt = time.perf_counter() - t0
                if r.status_code == 200:
                    latencies.append(dt)
                else:
                    errors.append(f"{r.status_code} {r.text[:100]}")

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    wall = time.perf_counter() - t0
    return {"clients": clients, "ok": len(latencies), "errors": errors, "rps": len(latencies) / wall,
            "p50": statistics.median(latencies), "p95": pct(latencies, 0.95)}


def in_process(corpus: Path, index: Path, total: int) -> dict:
    from rag import Settings, ask

    s = Settings(corpus_dir=corpus, index_dir=index, answerer="extractive")
    for q in QUESTIONS:  # warm: model loaded, BM25 built, as in the server after start-up
        ask(q, settings=s)
    latencies = []
    t0 = time.perf_counter()
    for i in range(total):
        t = time.perf_counter()
        ask(QUESTIONS[i % len(QUESTIONS)], settings=s)
        latencies.append(time.perf_counter() - t)
    wall = time.perf_counter() - t0
    return {"rps": total / wall, "p50": statistics.median(latencies), "p95": pct(latencies, 0.95)}


def median_of(runs: list[dict]) -> dict:
    return {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50", "p95")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=120, help="requests per concurrency level and round")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds; figures are medians")
    ap.add_argument("--workers", type=int, default=2, help="RAG_SERVE_WORKERS of the server")
    args = ap.parse_args()

    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        corpus, index = tmp / "seeds", tmp / "index"
        shutil.copytree(REPO / "seeds", corpus)
        proc, url = start_server(corpus, index, args.workers, tmp / "server.log")
        rounds_local, rounds_levels = [], []
        try:
            run_level(url, 4, 2 * len(QUESTIONS))  # warm-up, not reported
            for _ in range(args.rounds):
                rounds_local.append(in_process(corpus, index, args.requests))
                rounds_levels.append([run_level(url, c, args.requests) for c in LEVELS])
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    local = median_of(rounds_local)
    levels = [{**median_of([r[i] for r in rounds_levels]), "clients": c,
               "errors": [e for r in rounds_levels for e in r[i]["errors"]]} for i, c in enumerate(LEVELS)]

    print(f"# rag serve vs in-process ask(), {date.today()}, {os.cpu_count()} cores, "
          f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"median of {args.rounds} rounds of {args.requests} requests per level, RAG_SERVE_WORKERS={args.workers}, "
          f"extractive answerer, MiniLM, load average before: {load:.1f}")
    print()
    print("| clients | requests/s | p50 latency | p95 latency | req/s vs in-process | p50 vs in-process |")
    print("| --- | --- | --- | --- | --- | --- |")
    for lv in levels:
        print(f"| {lv['clients']} | {lv['rps']:.1f} | {lv['p50'] * 1000:.0f} ms | {lv['p95'] * 1000:.0f} ms | "
              f"{lv['rps'] / local['rps']:.2f}x | {lv['p50'] / local['p50']:.1f}x |")
    print(f"| in-process ask(), sequential | {local['rps']:.1f} | {local['p50'] * 1000:.0f} ms | "
          f"{local['p95'] * 1000:.0f} ms | 1.00x | 1.0x |")
    failed = [(lv["clients"], e) for lv in levels for e in lv["errors"]]
    if failed:
        print(f"\n{len(failed)} requests failed, e.g. {failed[:3]}")


if __name__ == "__main__":
    main()
