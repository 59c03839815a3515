"""Issue 9 rows 6 and 14: a Chroma server that freezes (SIGSTOP) or goes away
under a running process. A real `chroma run` on 127.0.0.1, stopped by its PID."""

from __future__ import annotations

import time

import pytest
from conftest import free_port
from faultkit import SEEDS, ChromaServer, hash_env, out, run_rag

from rag import Settings, ask, build_index
from rag.store.errors import StoreUnavailable
from rag.pipeline import engine_for

pytestmark = pytest.mark.slow

QUESTION = "When did Tillerson travel to Tokyo?"


@pytest.fixture
def server(tmp_path):
    srv = ChromaServer(tmp_path / "server-data", free_port(), tmp_path / "chroma.log")
    try:
        yield srv
    finally:
        srv.stop()


def test_a_frozen_server_gives_a_bounded_one_line_error(server, tmp_path):
    env = {**hash_env(SEEDS, tmp_path / "unused"), "RAG_CHROMA_URL": server.url, "RAG_CHROMA_TIMEOUT": "3"}
    assert run_rag(["index"], env).returncode == 0
    server.freeze()
    t0 = time.monotonic()
    proc = run_rag(["ask", QUESTION], env, timeout=90)
    elapsed = time.monotonic() - t0
    text = out(proc)
    assert proc.returncode == 1 and elapsed < 60, (elapsed, text)
    error = [line for line in text.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and server.url in error[0] and "RAG_CHROMA_TIMEOUT" in error[0], text


def test_a_server_frozen_under_a_running_process_times_out(server, tmp_path):
    s = Settings(corpus_dir=SEEDS, index_dir=tmp_path / "unused", chroma_url=server.url, embedding="hash",
                 chroma_timeout=3)
    build_index(s, progress=False)
    assert ask(QUESTION, settings=s).citations  # the engine is loaded and works
    server.freeze()
    t0 = time.monotonic()
    with pytest.raises(StoreUnavailable, match="did not answer within 3s") as err:
        ask(QUESTION, settings=s)
    assert time.monotonic() - t0 < 30
    assert "RAG_CHROMA_TIMEOUT" in str(err.value)
    engine_for.cache_clear()  # its client points at a server this test is about to stop


def test_a_server_that_goes_away_is_reported_as_gone_not_as_a_missing_index(server, tmp_path):
    s = Settings(corpus_dir=SEEDS, index_dir=tmp_path / "unused", chroma_url=server.url, embedding="hash")
    build_index(s, progress=False)
    assert ask(QUESTION, settings=s).citations
    server.stop()
    with pytest.raises(StoreUnavailable) as err:
        ask(QUESTION, settings=s)
    message = str(err.value)
    assert "lost the Chroma server at " + server.url in message and "RAG_CHROMA_URL" in message
    assert "rag index" not in message
    engine_for.cache_clear()
