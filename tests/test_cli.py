"""The `rag` command, run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rag.ingest.loading import document_text


def run(args, env_extra, timeout=300):
    env = {**os.environ, **env_extra}
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


@pytest.fixture
def env(corpus, tmp_path):
    return {"RAG_CORPUS_DIR": str(corpus), "RAG_INDEX_DIR": str(tmp_path / "index")}


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_rag_index_into_a_log_file_shows_progress_lines_and_quiet_shows_none(env, tmp_path):
    # `rag index > log.txt`: stdout is a file, not a terminal, so progress comes as lines there.
    log = tmp_path / "log.txt"
    with log.open("w") as out:
        done = subprocess.run([sys.executable, "-m", "rag.cli", "index", "--progress-every", "0.2"], stdout=out,
                              stderr=subprocess.PIPE, text=True, env={**os.environ, **env}, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = log.read_text().splitlines()
    progress = [ln for ln in lines if ln.startswith("indexing: ")]
    assert progress[0] == "indexing: 5 files to read (0 unchanged)"
    assert len(progress) >= 4, lines  # the run takes seconds: a line every 0.2 s
    assert any(" so far)" in ln and "chunks stored" in ln for ln in progress[1:-1])
    assert progress[-1].startswith("indexing: 5/5 files read, ") and "done in" in progress[-1]
    assert lines.index(progress[-1]) < lines.index(next(ln for ln in lines if ln.startswith("Index: ")))
    assert "\r" not in log.read_text() and "it/s" not in log.read_text()  # lines, not a bar's redraws

    quiet = run(["index", "--quiet", "--rebuild"], env)
    assert quiet.returncode == 0, quiet.stderr
    assert "indexing:" not in quiet.stdout + quiet.stderr and "chunks embedded: 31" in quiet.stdout
    bad = run(["index", "--progress-every", "0"], env)
    assert bad.returncode == 2 and "expected seconds" in bad.stderr


@pytest.mark.parametrize("command,module,extra", [(["eval"], "matplotlib", "eval"), (["ui"], "gradio", "ui")])
def test_a_command_whose_extra_is_missing_says_what_to_install(env, tmp_path, command, module, extra):
    # An installed package that fails to import is what a venv without the extra looks like to Python.
    shadow = tmp_path / "shadow" / module
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(f"raise ImportError('No module named {module}')\n")
    out = run(command, {**env, "PYTHONPATH": f"{shadow.parent}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"},
              timeout=60)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert f"need {module}, which is not installed: pip install -e '.[{extra}]'" in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
