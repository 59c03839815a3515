"""The answer-unit vectors beside the index (rag/unitstore.py) are a cache: a damaged,
deleted or unwritable store never stops an answer, and the next run refills it."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from rag.unitstore import FILE_NAME

from faultkit import SEEDS, out, run_rag


@pytest.fixture
def index(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    env = {"RAG_CORPUS_DIR": str(corpus), "RAG_INDEX_DIR": str(tmp_path / "index")}
    proc = run_rag(["index"], env)
    assert proc.returncode == 0, out(proc)
    assert (tmp_path / "index" / FILE_NAME).stat().st_size > 0
    return env, tmp_path / "index", corpus


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
    refill = run_rag(["index"], env)  # the fresh store lacks what the question did not touch
    assert refill.returncode == 0 and "sentences embedded: 0" not in out(refill), out(refill)
    again = run_rag(["index"], env)
    assert again.returncode == 0 and "sentences embedded: 0" in out(again), out(again)


def test_deleted_unit_store_is_refilled_by_the_next_index_run(index):
    env, ix, _ = index
    (ix / FILE_NAME).unlink()
    assert "2270" in ask_json(env)["text"]  # embedded on the fly
    proc = run_rag(["index"], env)
    assert proc.returncode == 0, out(proc)
    assert "chunks embedded: 0" in out(proc)
