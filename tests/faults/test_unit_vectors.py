"""The answer-unit vectors beside the index (rag/store/unitstore.py) are a cache filled by questions:
a damaged, deleted or unwritable store never stops an answer, and the next question refills it."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from rag import Settings
from rag.embeddings import embedding_name
from rag.store.unitstore import FILE_NAME, UnitStore

from faultkit import SEEDS, out, run_rag

pytestmark = pytest.mark.slow


@pytest.fixture
def index(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    env = {"RAG_CORPUS_DIR": str(corpus), "RAG_INDEX_DIR": str(tmp_path / "index")}
    proc = run_rag(["index"], env)
    assert proc.returncode == 0, out(proc)
    return env, tmp_path / "index", corpus


def settings_of(env) -> dict:
    return {"corpus_dir": env["RAG_CORPUS_DIR"], "index_dir": env["RAG_INDEX_DIR"]}


def ask_json(env) -> dict:
    proc = run_rag(["ask", "--json", "Which UN Security Council resolutions were cited?"], env)
    assert proc.returncode == 0, out(proc)
    return json.loads(proc.stdout)


def test_garbled_unit_store_is_started_afresh_and_answers_stay_verbatim(index):
    env, ix, corpus = index
    (ix / FILE_NAME).write_bytes(os.urandom(50_000))
    answer = ask_json(env)
    assert "2270" in answer["text"]
    for c in answer["citations"]:
        assert (corpus / c["source"]).read_text(encoding="utf-8")[c["start"]:c["end"]] == c["quote"]
    # The store was started afresh and holds what that question read.
    assert UnitStore(ix / FILE_NAME, embedding_name(Settings(**settings_of(env)))).chunk_ids()
    assert ask_json(env)["text"] == answer["text"]


def test_deleted_unit_store_is_refilled_by_the_next_question(index):
    env, ix, _ = index
    first = ask_json(env)
    (ix / FILE_NAME).unlink()
    assert ask_json(env)["text"] == first["text"]  # embedded on the fly
    assert UnitStore(ix / FILE_NAME, embedding_name(Settings(**settings_of(env)))).chunk_ids()
    proc = run_rag(["index"], env)
    assert proc.returncode == 0, out(proc)
    assert "chunks embedded: 0" in out(proc)
