"""The eval runner end to end: a user's own tiny corpus and suite in a temp dir,
a real Chroma index, the real embedding model and the default answerer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evals.runner import main, run_suite, settings_for
from evals.suite import load_suite
from rag import Settings

DOCS = {
    "festival.txt": "Port Alder Lighthouse Festival\n\nThe Lighthouse Festival in Port Alder is held every year "
                    "on June 14. It was founded by the harbour master Mara Quill in 1987.\n",
    "railway.txt": "Alder Valley Railway\n\nThe Alder Valley Railway opened in 1902. Its longest bridge spans "
                   "340 meters over the Tessel River. Trains leave Port Alder station every 40 minutes.\n",
}
SUITE = """
name: tiny
corpus: docs          # relative to this file
index: .tiny-index
thresholds:
  fact_accuracy: 1.0
  quote_validity: 1.0
  categories:
    out_of_corpus: {refusal_recall: 1.0}
cases:
  - id: festival-date
    category: facts
    question: On what date is the Lighthouse Festival in Port Alder held?
    facts: [["June 14", "14 June"]]
    sources: [festival.txt]
  - id: bridge
    category: facts
    question: How long is the longest bridge of the Alder Valley Railway?
    facts: ["340 meters"]
    sources: [railway.txt]
  - id: capital-of-peru
    category: out_of_corpus
    question: What is the capital of Peru?
    refuse: true
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("own-suite")
    (root / "docs").mkdir()
    for name, text in DOCS.items():
        (root / "docs" / name).write_text(text, encoding="utf-8")
    (root / "tiny.yaml").write_text(SUITE, encoding="utf-8")
    # The same cases with a wrong expected fact: what a broken answer looks like to the runner.
    (root / "broken.yaml").write_text(SUITE.replace('["340 meters"]', '["430 meters"]'), encoding="utf-8")
    return root


def test_a_users_suite_over_their_own_corpus_runs_and_writes_reports(workspace):
    out = workspace / "out"
    assert main([str(workspace / "tiny.yaml"), "--out", str(out), "--no-progress"]) == 0
    assert (workspace / ".tiny-index").is_dir()  # the suite's own index, never the configured one
    result = json.loads((out / "tiny.json").read_text(encoding="utf-8"))
    assert result["passed"] and result["corpus"] == str((workspace / "docs").resolve())
    by_id = {c["id"]: c for c in result["cases"]}
    assert set(by_id) == {"festival-date", "bridge", "capital-of-peru"}
    assert by_id["festival-date"]["fact_ok"] and by_id["festival-date"]["citations"][0]["source"] == "festival.txt"
    assert by_id["capital-of-peru"]["refused"] and by_id["capital-of-peru"]["passed"]
    s = result["summary"]
    assert (s["fact_accuracy"], s["quote_validity"], s["refusal_recall"], s["retrieval_recall"]) == (1.0, 1.0, 1.0, 1.0)
    assert s["latency_p50_s"] > 0 and result["by_category"]["out_of_corpus"]["cases"] == 1
    assert "# Eval report: tiny" in (out / "tiny.md").read_text(encoding="utf-8")
    assert (out / "tiny.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_missed_threshold_exits_non_zero_and_compare_names_the_case(workspace, capsys):
    out = workspace / "out-broken"
    assert main([str(workspace / "broken.yaml"), "--out", str(out), "--no-progress"]) == 1
    printed = capsys.readouterr().out
    assert "fact_accuracy" in printed and "MISSED" in printed and "RESULT: FAIL" in printed
    assert main(["--compare", str(workspace / "out" / "tiny.json"), str(out / "tiny.json")]) == 0
    assert "- bridge: now fails: missing fact: 430 meters" in capsys.readouterr().out


def test_run_suite_with_explicit_settings(workspace, tmp_path):
    suite = load_suite(workspace / "tiny.yaml")
    settings = settings_for(suite, Settings(), index_dir=tmp_path / "index")
    assert settings.ingest.corpus_dir == (workspace / "docs").resolve() and settings.store.index_dir == tmp_path / "index"
    result = run_suite(suite, settings, only=["bridge"], progress=False)
    assert [c["id"] for c in result["cases"]] == ["bridge"] and result["cases"][0]["passed"]
    # Thresholds of categories the filter left out cannot be measured; they do not fail the run.
    assert result["passed"] and [t["ok"] for t in result["thresholds"]] == [True, True, None, True]
    # The last row: the answerer against the top-chunk baseline on the same cases.
    assert result["thresholds"][-1]["kind"] == "above top-chunk" and result["baseline"]["answerer"] == "top-chunk"


def test_the_run_shows_the_margin_over_the_top_chunk_baseline(tmp_path):
    # A long document: its top chunk holds the fact but is no answer a reader can use (over 400 characters).
    (tmp_path / "docs").mkdir()
    filler = " ".join(f"Visitors also enjoy walk number {i} along the harbour front." for i in range(12))
    (tmp_path / "docs" / "festival.txt").write_text(
        "Port Alder Lighthouse Festival\n\n" + filler + " The Lighthouse Festival in Port Alder is held every "
        "year on June 14. " + filler + "\n", encoding="utf-8")
    (tmp_path / "long.yaml").write_text("corpus: docs\ncases:\n" + SUITE.split("cases:\n")[1].split("  - id: bridge")[0],
                                        encoding="utf-8")
    suite = load_suite(tmp_path / "long.yaml")
    result = run_suite(suite, settings_for(suite, Settings(), index_dir=tmp_path / "index"), progress=False)
    margin = result["thresholds"][-1]
    assert margin["kind"] == "above top-chunk" and margin["limit"] == 0.0 and margin["value"] == 1.0 and margin["ok"]
    assert result["cases"][0]["answer_chars"] <= 400


def test_rag_eval_command_dispatches_to_the_runner(workspace, tmp_path):
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    proc = subprocess.run([sys.executable, "-m", "rag.cli", "eval", str(workspace / "tiny.yaml"), "--out",
                           str(tmp_path), "--no-progress"], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "RESULT: PASS" in proc.stdout and (tmp_path / "tiny.json").exists()
