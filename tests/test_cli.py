"""The `rag` command, run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rag.loading import document_text


def run(args, env_extra, timeout=300):
    env = {**os.environ, **env_extra}
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


@pytest.fixture
def env(corpus, tmp_path):
    return {"RAG_CORPUS_DIR": str(corpus), "RAG_INDEX_DIR": str(tmp_path / "index")}


def test_index_then_ask_json_then_reindex_is_a_noop(env, corpus):
    first = run(["index"], env)
    assert first.returncode == 0, first.stderr
    assert "files added: 5" in first.stdout and "chunks embedded:" in first.stdout

    asked = run(["ask", "--json", "Which UN Security Council resolutions were cited?"], env)
    assert asked.returncode == 0, asked.stderr
    data = json.loads(asked.stdout)
    assert data["refused"] is False and "2231" in data["text"]
    for c in data["citations"]:
        assert document_text(corpus / c["source"])[c["start"]:c["end"]] == c["quote"]

    again = run(["index"], env)
    assert "chunks embedded: 0," in again.stdout

    checked = run(["index", "--full-check"], env)
    assert checked.returncode == 0, checked.stderr
    assert "unchanged: 5" in checked.stdout and "chunks embedded: 0," in checked.stdout


def test_ask_prints_answer_then_numbered_sources(env):
    out = run(["ask", "Where is MCAS Futenma to be relocated?"], env)
    assert out.returncode == 0, out.stderr
    assert "Henoko" in out.stdout and "Sources:" in out.stdout
    assert "[1] 002_14833195580d7924.txt" in out.stdout


@pytest.mark.parametrize("args,extra,code,message", [
    (["ask", "   "], {}, 1, "question is empty"),
    (["ask", "x" * 2500], {}, 1, "too long"),
    (["ask", "hello?"], {"RAG_TOP_K": "lots"}, 2, "RAG_TOP_K"),
    (["ask", "hello?"], {"RAG_CORPUS_DIR": "/nonexistent/corpus"}, 1, "/nonexistent/corpus"),
    (["index"], {"RAG_CHROMA_URL": "http://127.0.0.1:9"}, 1, "cannot reach the Chroma server"),
])
def test_errors_exit_non_zero_with_one_clear_line(env, args, extra, code, message):
    out = run(args, {**env, **extra})
    assert out.returncode == code
    assert message in out.stderr
    assert "Traceback" not in out.stderr
