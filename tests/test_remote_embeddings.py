"""RAG_EMBEDDING=openai against real HTTP servers on 127.0.0.1: the bundled
MiniLM served over the OpenAI embeddings API (`rag embed-server`,
a real subprocess) must give exactly the local vectors, and a whole index and
its answers must come out the same."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import threading

import numpy as np
import pytest

from conftest import SEEDS, free_port, stop_process
from rag import Settings, ask, build_index
from rag.serve.embeddings import EmbeddingServer
from rag.embeddings.local import HashEmbeddings
from rag.store.chroma import open_collection
from rag.ingest.loading import load_corpus
from rag.ingest.chunking import split_documents
from rag.store.chroma import make_chroma_client
from rag.embeddings import make_embeddings
from rag.embeddings.remote import EmbeddingServiceError, OpenAIEmbeddings
from rag.settings import SettingsError

MODEL = "all-MiniLM-L6-v2"


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    """`rag embed-server` in its own process, answering to two model names."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("embedding-server") / "server.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "embed-server", "--port", str(port),
                             "--model", MODEL, "--model", "minilm-alias"], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"embedding server did not start: {log_path.read_text()}")
            time.sleep(0.3)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        stop_process(proc)
        log.close()


@pytest.fixture(scope="module")
def local():
    return make_embeddings(Settings())


@pytest.fixture(scope="module")
def seed_texts():
    docs, _ = load_corpus(SEEDS)
    return [c.text for c in split_documents(docs, 800, 120)]


def test_remote_vectors_equal_local_ones_exactly(server_url, local, seed_texts):
    remote = OpenAIEmbeddings(MODEL, base_url=server_url, batch_size=64)
    texts = seed_texts[:40]  # one request: the server embeds exactly this batch, as local does
    assert np.array_equal(np.asarray(remote.embed_documents(texts)), np.asarray(local.embed_documents(texts)))
    assert remote.embed_query("Which resolutions were cited?") == local.embed_query("Which resolutions were cited?")


@pytest.mark.slow
def test_batches_keep_their_order(server_url, local, seed_texts):
    texts = (seed_texts * 5)[:150]
    remote = OpenAIEmbeddings(MODEL, base_url=server_url, batch_size=16, parallel=3)
    got = np.asarray(remote.embed_documents(texts))
    want = np.concatenate([local.embed_documents(texts[i:i + 16]) for i in range(0, 150, 16)])
    assert got.shape == (150, 384) and np.array_equal(got, want)


@pytest.mark.slow
def test_index_and_answers_through_remote_embeddings_match_local(server_url, corpus, tmp_path):
    remote_s = Settings(corpus_dir=corpus, index_dir=tmp_path / "remote", embedding="openai",
                        embedding_model=MODEL, embedding_base_url=server_url, embedding_batch_size=32)
    local_s = Settings(corpus_dir=corpus, index_dir=tmp_path / "local")
    r_report, l_report = build_index(remote_s, progress=False), build_index(local_s, progress=False)
    assert r_report.chunks_embedded == l_report.chunks_embedded == r_report.chunks_total > 5

    def vectors(s):
        got = open_collection(make_chroma_client(s), s, create=False).get(include=["embeddings"])
        return dict(zip(got["ids"], got["embeddings"]))

    rv, lv = vectors(remote_s), vectors(local_s)
    assert rv.keys() == lv.keys()
    # Batches differ (32 per request vs. one local window), so allow float rounding, nothing more.
    assert max(float(np.abs(np.asarray(rv[k]) - np.asarray(lv[k])).max()) for k in rv) < 1e-5
    for q in ["Which UN Security Council resolutions were cited?", "Where is MCAS Futenma to be relocated?",
              "What is the capital of France?"]:
        a, b = ask(q, settings=remote_s), ask(q, settings=local_s)
        assert (a.text, a.refused, a.citations) == (b.text, b.refused, b.citations)
        assert [p.chunk_id for p in a.passages] == [p.chunk_id for p in b.passages]


def test_changing_the_remote_model_rebuilds_the_index(server_url, corpus, tmp_path):
    s = Settings(corpus_dir=corpus, index_dir=tmp_path / "ix", embedding="openai", embedding_model=MODEL,
                 embedding_base_url=server_url)
    build_index(s, progress=False)
    assert build_index(s.replace(embedding_base_url=server_url + "/"),
                       progress=False).chunks_embedded == 0  # same model, other URL: vectors stay
    report = build_index(s.replace(embedding_model="minilm-alias"), progress=False)
    assert report.rebuilt and "fingerprint" in report.rebuild_reason
    assert report.chunks_embedded == report.chunks_total


def test_unknown_model_is_a_clear_error(server_url):
    with pytest.raises(EmbeddingServiceError, match=r"HTTP 404.*RAG_EMBEDDING_MODEL"):
        OpenAIEmbeddings("no-such-model", base_url=server_url).embed_query("hello")


class Flaky:
    """An embeddings server on 127.0.0.1 that fails the first ``failures``
    requests with ``status``, then answers with hash vectors; counts requests."""

    def __init__(self, failures: int, status: int = 503) -> None:
        self.failures, self.status, self.calls = failures, status, 0
        emb, outer = HashEmbeddings(), self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.calls += 1
                if outer.calls <= outer.failures:
                    status, reply = outer.status, {"error": {"message": "overloaded", "type": "server_error"}}
                else:
                    status, reply = 200, {"object": "list", "model": body["model"], "data": [
                        {"object": "embedding", "index": i, "embedding": v}
                        for i, v in enumerate(emb.embed_documents(body["input"]))]}
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_overloaded_server_is_retried_then_succeeds():
    with Flaky(failures=2, status=503) as fake:
        emb = OpenAIEmbeddings("m", base_url=fake.url, max_retries=2, timeout=10)
        assert emb.embed_documents(["a b", "c"]) == HashEmbeddings().embed_documents(["a b", "c"])
        assert fake.calls == 3


def test_retries_exhausted_or_server_down_name_the_url():
    with Flaky(failures=10, status=500) as fake:
        with pytest.raises(EmbeddingServiceError, match=r"HTTP 500"):
            OpenAIEmbeddings("m", base_url=fake.url, max_retries=1, timeout=10).embed_query("x")
        assert fake.calls == 2
    down = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(EmbeddingServiceError, match=r"cannot reach the embedding server at http://127\.0\.0\.1"):
        OpenAIEmbeddings("m", base_url=down, max_retries=0, timeout=5).embed_query("x")


def test_in_process_server_checks_its_api_key():
    with pytest.raises(ValueError, match="API key"):
        EmbeddingServer(HashEmbeddings(), host="0.0.0.0", port=0)
    with EmbeddingServer(HashEmbeddings(), port=0, models=("m",), api_key="k1") as server:
        with pytest.raises(EmbeddingServiceError, match="HTTP 401"):
            OpenAIEmbeddings("m", base_url=server.url, api_key="wrong", max_retries=0).embed_query("x")
        good = OpenAIEmbeddings("m", base_url=server.url, api_key="k1", max_retries=0)
        assert good.embed_query("x y") == HashEmbeddings().embed_query("x y")
        status, reply = server.embed({"model": "m", "input": [[1, 2, 3]]})
        assert status == 400 and "token ids" in reply["error"]["message"]


def test_settings_for_remote_embeddings():
    s = Settings.from_env({"RAG_EMBEDDING": "openai", "RAG_EMBEDDING_MODEL": "bge-small",
                           "OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "sk-x",
                           "RAG_EMBEDDING_BATCH_SIZE": "128"})
    assert (s.embeddings.provider, s.embeddings.model, s.embeddings.base_url, s.embeddings.batch_size) == \
        ("openai", "bge-small", "http://127.0.0.1:9/v1", 128)
    assert "sk-x" not in repr(s)
    for var, value in [("RAG_EMBEDDING_BATCH_SIZE", "0"), ("RAG_EMBEDDING_BASE_URL", "nope"),
                       ("RAG_EMBEDDING_THREADS", "-1"), ("RAG_EMBEDDING_MAX_RETRIES", "99")]:
        with pytest.raises(SettingsError, match=var):
            Settings.from_env({var: value})
