"""Issue 9 rows 7, 8, 9, 12 and 13: damaged vector files and databases,
read-only and unwritable folders, partial and interrupted indexes, concurrent
first runs, and folders that are not ours. Real Chroma files damaged on disk,
the real `rag` command in child processes (a segfault there is exit -11)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import pytest
from faultkit import (SEEDS, big_corpus, garble, hash_env, out, probe_json, raw_chroma_check, read_only,
                      run_rag, segment_files)

from rag import Settings, ask, build_index
from rag.store.chroma import stored_chunks, open_collection
from rag.store.chroma import make_chroma_client

pytestmark = pytest.mark.slow

QUESTION = "When did Tillerson travel to Tokyo?"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A ~1200-chunk index whose HNSW files Chroma has written, built once;
    each test damages its own copy."""
    root = tmp_path_factory.mktemp("built")
    corpus = big_corpus(root / "corpus")
    proc = run_rag(["index"], hash_env(corpus, root / "index"))
    assert proc.returncode == 0, out(proc)
    assert segment_files(root / "index", "data_level0.bin"), "Chroma wrote no HNSW files"
    return corpus, root / "index"


@pytest.fixture
def index(built, tmp_path):
    corpus, pristine = built
    dest = tmp_path / "index"
    shutil.copytree(pristine, dest)
    return corpus, dest


def whole(index_dir) -> bool:
    found = probe_json(index_dir)
    return found["error"] is None and found["count"] == found["ids"] == found["reachable"] > 1000


# -- row 7: damaged HNSW files ----------------------------------------------------------

def test_garbled_vector_files_crash_plain_chroma_but_not_rag_ask(index):
    corpus, ix = index
    garble(segment_files(ix, "data_level0.bin")[0])
    crashed = raw_chroma_check(ix)
    assert crashed.returncode < 0, "the damage should crash an unguarded reader (else this test proves nothing)"
    proc = run_rag(["ask", QUESTION], hash_env(corpus, ix))
    text = out(proc)
    assert proc.returncode == 0, text
    assert "2017" in text and "damaged" in text and "rebuilt" in text
    assert whole(ix)


def test_garbled_vector_files_are_rebuilt_by_rag_index_which_says_so(index):
    corpus, ix = index
    garble(segment_files(ix, "data_level0.bin")[0])
    proc = run_rag(["index"], hash_env(corpus, ix))
    text = out(proc)
    assert proc.returncode == 0, text
    assert "full rebuild: the index was damaged" in text and "SIGSEGV" in text
    assert whole(ix)
    again = run_rag(["index"], hash_env(corpus, ix))
    assert "chunks embedded: 0," in out(again) and "rebuild" not in out(again)


@pytest.mark.parametrize("damage", ["header", "pickle", "truncate"])
def test_other_vector_file_damage_is_detected_and_rebuilt(index, damage):
    corpus, ix = index
    seg = segment_files(ix, "header.bin")[0].parent
    if damage == "header":
        (seg / "header.bin").write_bytes(b"\xff" * 100)
    elif damage == "pickle":
        (seg / "index_metadata.pickle").write_bytes(b"\x80\x04garbage" * 50)
    else:
        with open(seg / "data_level0.bin", "r+b") as f:
            f.truncate(5000)
    proc = run_rag(["index"], hash_env(corpus, ix))
    assert proc.returncode == 0 and "full rebuild: the index was damaged" in out(proc), out(proc)
    assert whole(ix)


# -- row 8: damaged databases, read-only and unwritable folders --------------------------

@pytest.mark.parametrize("damage", ["truncated", "garbled", "garbled_inside"])
def test_damaged_database_is_rebuilt_by_ask_and_index(index, damage):
    corpus, ix = index
    db = ix / "chroma.sqlite3"
    if damage == "truncated":
        with open(db, "r+b") as f:
            f.truncate(db.stat().st_size // 2)
    elif damage == "garbled":
        garble(db, every=3, seed=2)
    else:  # same size, same header: only opening it shows the damage
        data = bytearray(db.read_bytes())
        data[4096:] = bytes(len(data) - 4096)
        db.write_bytes(bytes(data))
    (ix / "feedback.jsonl").write_text('{"kept": true}\n', encoding="utf-8")  # not Chroma's: must survive
    asked = run_rag(["ask", QUESTION], hash_env(corpus, ix))
    assert asked.returncode == 0, out(asked)
    assert "database chroma.sqlite3 is damaged" in out(asked) and "rebuilt" in out(asked)
    assert (ix / "feedback.jsonl").read_text(encoding="utf-8") == '{"kept": true}\n'
    assert whole(ix)


def test_damaged_database_error_names_path_and_variable_when_it_cannot_be_repaired(index):
    corpus, ix = index
    db = ix / "chroma.sqlite3"
    with open(db, "r+b") as f:
        f.truncate(db.stat().st_size // 2)
    with read_only(ix):
        proc = run_rag(["ask", QUESTION], hash_env(corpus, ix))
    text = out(proc)
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    assert proc.returncode == 1 and len(errors) == 1 and "Traceback" not in text, text  # one line
    assert str(ix) in errors[0] and "RAG_INDEX_DIR" in errors[0] and "damaged" in errors[0]


def test_read_only_index_still_answers_and_index_says_what_to_change(index):
    corpus, ix = index
    with read_only(ix):
        asked = run_rag(["ask", QUESTION], hash_env(corpus, ix))
        indexed = run_rag(["index"], hash_env(corpus, ix))
    assert asked.returncode == 0, out(asked)
    assert "2017" in out(asked) and "read-only" in out(asked)
    assert indexed.returncode == 1
    assert str(ix) in out(indexed) and "RAG_INDEX_DIR" in out(indexed) and "Traceback" not in out(indexed)


def test_unwritable_place_for_a_new_index_names_it(tmp_path):
    parent = tmp_path / "ro"
    parent.mkdir()
    with read_only(parent):
        proc = run_rag(["index"], hash_env(SEEDS, parent / "new-index"))
    text = out(proc)
    assert proc.returncode == 1 and "new-index" in text and "RAG_INDEX_DIR" in text, text


# -- row 9: unreachable vectors, partial and interrupted indexes ---------------------------

def test_deleted_vector_folder_is_found_and_rebuilt(index):
    corpus, ix = index
    shutil.rmtree(segment_files(ix, "data_level0.bin")[0].parent)
    before = probe_json(ix)
    assert before["error"] or before.get("reachable", 0) < before["count"]  # the damage is real
    proc = run_rag(["index"], hash_env(corpus, ix))
    text = out(proc)
    assert proc.returncode == 0 and "full rebuild: the index was damaged" in text, text
    assert whole(ix)


def test_rebuild_flag_forces_a_rebuild(index):
    corpus, ix = index
    proc = run_rag(["index", "--rebuild"], hash_env(corpus, ix))
    assert proc.returncode == 0 and "full rebuild: rebuild requested (--rebuild)" in out(proc), out(proc)
    assert whole(ix)


class Interrupting:
    """Real hash embeddings that stop the run (like Ctrl-C) after ``calls`` batches."""

    def __init__(self, inner, calls: int) -> None:
        self.inner, self.left = inner, calls

    def embed_documents(self, texts):
        if self.left <= 0:
            raise KeyboardInterrupt("simulated Ctrl-C")
        self.left -= 1
        return self.inner.embed_documents(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


def test_an_interrupted_run_makes_ask_warn_until_the_next_run_finishes(tmp_path):
    from rag.embeddings.local import HashEmbeddings

    corpus = big_corpus(tmp_path / "corpus", copies=2)
    s = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", embedding="hash", chunk_size=200,
                 chunk_overlap=20)  # ~300 chunks: several batches, so the run stops half way
    with pytest.raises(KeyboardInterrupt):
        build_index(s, embeddings=Interrupting(HashEmbeddings(), calls=1), progress=False)
    a = ask(QUESTION, settings=s)
    assert any("the index is incomplete" in w and "was interrupted" in w for w in a.warnings), a.warnings
    report = build_index(s, progress=False)
    assert "the previous `rag index` run did not finish" in report.summary()
    b = ask(QUESTION, settings=s)
    assert not any("incomplete" in w for w in b.warnings)


def stored_some_not_all(progress: bytes) -> bool:
    """The progress bar ("128/301 ...", chunks stored / found) shows a run half done."""
    import re

    return any(0 < int(n) < int(total) for n, total in re.findall(rb"(\d+)/(\d+)", progress))


def test_kill_9_during_rag_index_then_ask_warns_and_the_next_run_finishes(tmp_path):
    import os
    import signal

    corpus = big_corpus(tmp_path / "corpus", copies=2)
    env = {**hash_env(corpus, tmp_path / "index"), "RAG_EMBEDDING": "minilm-onnx"}  # slow enough to catch
    log = tmp_path / "index.log"
    with open(log, "wb") as f:
        proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "index", "--progress"], stdout=f, stderr=f,
                                env={**os.environ, **env})
        try:
            deadline = time.monotonic() + 120
            while not stored_some_not_all(log.read_bytes()):  # the first batch is stored
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")
                time.sleep(0.1)
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    partial = probe_json(tmp_path / "index")
    assert 0 < partial["count"] < 300 and partial["metadata"]["rag_complete"] is False, partial
    asked = run_rag(["ask", QUESTION], env)
    assert asked.returncode == 0 and "the index is incomplete" in out(asked), out(asked)
    again = run_rag(["index"], env)
    assert again.returncode == 0 and "did not finish; this run completed it" in out(again), out(again)
    assert "warning: the index is incomplete" not in out(run_rag(["ask", QUESTION], env))


# -- row 12: concurrent first runs ------------------------------------------------------

def test_two_concurrent_first_runs_both_succeed(tmp_path):
    for round_ in range(3):
        ix = tmp_path / f"index{round_}"
        env = {**__import__("os").environ, **hash_env(SEEDS, ix), "ANONYMIZED_TELEMETRY": "False"}
        procs = [subprocess.Popen([sys.executable, "-m", "rag.cli", "index"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT) for _ in range(2)]
        outs = [p.communicate(timeout=180)[0].decode() for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outs
        assert sum("files added: 5" in o for o in outs) == 1 and sum("unchanged: 5" in o for o in outs) == 1, outs
        assert whole_small(ix)


def whole_small(ix) -> bool:
    found = probe_json(ix)
    return found["error"] is None and found["count"] == found["ids"] == found["reachable"] > 0


# -- row 13: a folder that is not ours ---------------------------------------------------

def test_a_foreign_manifest_is_refused_not_overwritten(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "manifest.json").write_text('{"name": "app"}', encoding="utf-8")
    proc = run_rag(["index"], hash_env(SEEDS, d))
    text = out(proc)
    assert proc.returncode == 1 and "RAG_INDEX_DIR" in text and "manifest.json" in text, text
    assert json.loads((d / "manifest.json").read_text(encoding="utf-8")) == {"name": "app"}
    assert sorted(p.name for p in d.iterdir()) == ["manifest.json"]


def test_our_own_manifest_from_an_older_version_is_accepted(tmp_path):
    s = Settings(corpus_dir=SEEDS, index_dir=tmp_path / "ix", embedding="hash")
    build_index(s, progress=False)
    manifest = json.loads((s.store.index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest.pop("written_by") == "rag-citations"
    (s.store.index_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert build_index(s, progress=False).chunks_embedded == 0
