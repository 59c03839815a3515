"""Several app processes on one Chroma server: two `rag serve` processes against one
`chroma run` (real, on 127.0.0.1) and one indexer, all pointed at one index folder
(as hosts mounting it from shared storage would). They load the lexicon the indexer
committed (no rebuild from Chroma at start, nothing written to the folder), answer
the seeds suite exactly as the embedded store does, and follow the indexer's edits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import free_port, stop_process
from evals.suite import load_suite
from rag import Settings, ask, build_index
from rag.store.lexicon import folder as lexicon_folder
from test_chroma_server import chroma_server  # noqa: F401  (the fixture: `chroma run` on 127.0.0.1)

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
REBUILD_LOG = "building the lexical index"


def files_of(path: Path) -> dict[str, tuple]:
    """Every file under ``path`` with its size, mtime and inode: what a write would change."""
    return {str(p.relative_to(path)): (p.stat().st_size, p.stat().st_mtime_ns, p.stat().st_ino)
            for p in sorted(path.rglob("*")) if p.is_file() and not p.name.endswith(".lock")}


def start_server(env: dict, log: Path) -> tuple[str, subprocess.Popen, object]:
    port = free_port()
    out = open(log, "w")
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--port", str(port)], env=env,
                            stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as r:
                if r.status == 200:
                    return url, proc, out
        except OSError:
            pass
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "rag serve did not come up in 180 s"
        time.sleep(0.3)


def chat(url: str, question: str, history=()) -> dict:
    messages = []
    for turn in history:
        if isinstance(turn, dict):
            messages.append(turn)
        else:
            messages += [{"role": "user", "content": turn[0]}, {"role": "assistant", "content": turn[1]}]
    body = json.dumps({"model": "rag", "messages": messages + [{"role": "user", "content": question}]}).encode()
    req = urllib.request.Request(f"{url}/v1/chat/completions", data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read())


def same(reply: dict, answer) -> bool:
    content = reply["choices"][0]["message"]["content"]
    cites = [{k: c[k] for k in ("marker", "source", "quote", "start", "end")} for c in reply["citations"]]
    return content.startswith(answer.text) and reply["refused"] == answer.refused and \
        cites == [{"marker": c.marker, "source": c.source, "quote": c.quote, "start": c.start, "end": c.end}
                  for c in answer.citations]


def test_two_servers_on_one_chroma_server_load_the_lexicon_and_answer_as_embedded(chroma_server, corpus,
                                                                                   tmp_path):
    shared = tmp_path / "shared-index"  # RAG_INDEX_DIR on every host: file state and lexicon
    env = {**os.environ, "RAG_CORPUS_DIR": str(corpus), "RAG_INDEX_DIR": str(shared),
           "RAG_CHROMA_URL": chroma_server, "ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1",
           "RAG_SERVE_WORKERS": "1"}
    env.pop("RAG_API_KEY", None)
    indexed = subprocess.run([sys.executable, "-m", "rag.cli", "index"], env=env, capture_output=True, text=True,
                             timeout=600)
    assert indexed.returncode == 0, indexed.stderr
    lexicon = lexicon_folder(shared, "corpus")
    committed = files_of(lexicon)
    assert any(name.startswith("seg-") for name in committed)

    embedded = Settings(corpus_dir=corpus, index_dir=tmp_path / "embedded")
    build_index(embedded, progress=False)

    servers = []
    try:
        for i in range(2):
            servers.append(start_server(env, tmp_path / f"serve-{i}.log"))
        # Loaded, not rebuilt: the folder is exactly as the indexer left it.
        assert files_of(lexicon) == committed
        suite = load_suite(REPO / "evals" / "seeds.yaml")
        differ = []
        for case in suite.cases:
            want = ask(case.question, history=list(case.history) or None, settings=embedded)
            for url, _, _ in servers:
                if not same(chat(url, case.question, case.history), want):
                    differ.append((case.id, url))
        assert differ == [], f"{len(differ)} answers differ from the embedded store's: {differ[:5]}"

        # The indexer edits; both servers follow on their next question, still without a rebuild.
        (corpus / "new.txt").write_text("The Quuxbarian accord on harbour pilots was signed in Osaka in 2019.\n",
                                        encoding="utf-8")
        again = subprocess.run([sys.executable, "-m", "rag.cli", "index"], env=env, capture_output=True,
                               text=True, timeout=600)
        assert again.returncode == 0 and "added: 1" in again.stdout, again.stdout + again.stderr
        for url, _, _ in servers:
            reply = chat(url, "Where was the Quuxbarian accord signed?")
            assert not reply["refused"] and reply["citations"][0]["source"] == "new.txt", reply
    finally:
        for _, proc, out in servers:
            stop_process(proc)
            out.close()
    for i in range(len(servers)):
        assert REBUILD_LOG not in (tmp_path / f"serve-{i}.log").read_text()
