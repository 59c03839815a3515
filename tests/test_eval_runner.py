"""The eval runner end to end: a user's own tiny corpus and suite in a temp dir,
a real Chroma index, the real embedding model and the default answerer."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evals.runner import cache_key, main, run_suite, settings_for
from evals.suite import load_suite
from rag import Settings, ask, build_index
from rag.pipeline import shared_retrieval
from rag.retrieval import Retriever

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


def _clone(root: Path) -> Path:
    """A suite over its corpus, with no ``index:``: what a clone of the repository holds."""
    (root / "docs").mkdir(parents=True)
    for name, text in DOCS.items():
        (root / "docs" / name).write_text(text, encoding="utf-8")
    (root / "tiny.yaml").write_text(SUITE.replace("index: .tiny-index\n", ""), encoding="utf-8")
    return root / "tiny.yaml"


def test_the_eval_index_cache_is_keyed_by_the_corpus_content_not_its_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    one, two = load_suite(_clone(tmp_path / "clone-1")), load_suite(_clone(tmp_path / "clone-2"))
    s1, s2 = settings_for(one, Settings()), settings_for(two, Settings())
    # Two clones of the same corpus: one cache folder, each clone's own corpus.
    assert s1.store.index_dir == s2.store.index_dir and s1.store.index_dir.parent == tmp_path / "cache" / "rag-citations"
    assert s1.store.index_dir.name.startswith("eval-index-docs-") and s1.ingest.corpus_dir != s2.ingest.corpus_dir
    key = cache_key(s2)
    assert s2.store.index_dir.name.endswith(key)
    # What the index is built from changes the key: a file's content (same size), name or presence,
    # a skipped (unsupported) file, and the index settings.
    railway = s2.ingest.corpus_dir / "railway.txt"
    railway.write_text(railway.read_text(encoding="utf-8").replace("1902", "1903"), encoding="utf-8")
    assert cache_key(s2) != key and settings_for(two, Settings()).store.index_dir != s1.store.index_dir
    railway.write_text(DOCS["railway.txt"], encoding="utf-8")
    assert cache_key(s2) == key  # back as it was: the first index again
    railway.rename(s2.ingest.corpus_dir / "rail.txt")
    assert cache_key(s2) != key
    (s2.ingest.corpus_dir / "rail.txt").rename(railway)
    (s2.ingest.corpus_dir / "notes.xyz").write_text("not indexed, but listed as skipped", encoding="utf-8")
    assert cache_key(s2) != key
    (s2.ingest.corpus_dir / "notes.xyz").unlink()
    assert cache_key(s2.replace(chunk_size=400)) != key and cache_key(s2.replace(embedding="hash")) != key
    (s2.ingest.corpus_dir / ".git").mkdir()  # hidden entries are not content: indexing ignores them
    (s2.ingest.corpus_dir / ".git" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    assert cache_key(s2) == key
    # With a Chroma server, the collection is named by the same key.
    assert settings_for(one, Settings(chroma_url="http://127.0.0.1:1")).store.collection == f"eval-{key}"


def test_a_second_clone_reuses_the_first_ones_index_and_cites_its_own_files(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first = settings_for(load_suite(_clone(tmp_path / "clone-1")), Settings())
    assert build_index(first, progress=False).chunks_embedded > 0
    shutil.rmtree(tmp_path / "clone-1")  # the first clone is gone; its index stays in the cache
    suite = load_suite(_clone(tmp_path / "clone-2"))
    second = settings_for(suite, Settings())
    assert second.store.index_dir == first.store.index_dir
    report = build_index(second, progress=False)  # from another folder: every file re-read, nothing embedded
    assert (report.chunks_embedded, report.files_added, report.files_removed) == (0, [], [])
    result = run_suite(suite, second, progress=False, baseline=False)
    assert result["passed"] and result["summary"]["quote_validity"] == 1.0  # quotes checked against clone-2's files
    assert {c["source"] for case in result["cases"] for c in case["citations"]} == {"festival.txt", "railway.txt"}


def _counting_searches(monkeypatch) -> list[str]:
    queries: list[str] = []
    search = Retriever.search

    def counted(self, query, k, *args, **kwargs):
        queries.append(query)
        return search(self, query, k, *args, **kwargs)

    monkeypatch.setattr(Retriever, "search", counted)
    return queries


def test_the_baseline_reuses_the_answerers_search_and_gets_the_same_answers(workspace, tmp_path, monkeypatch):
    settings = settings_for(load_suite(workspace / "tiny.yaml"), Settings(), index_dir=tmp_path / "index")
    build_index(settings, progress=False)
    plain = settings.replace(answerer="top-chunk")
    question = "How long is the longest bridge of the Alder Valley Railway?"
    compound = "When is the Lighthouse Festival held, and when did the railway open?"
    alone = {q: ask(q, settings=plain) for q in (question, compound)}  # each searches for itself
    queries = _counting_searches(monkeypatch)
    with shared_retrieval():
        ours = {q: ask(q, settings=settings) for q in (question, compound)}
        shared = {q: ask(q, settings=plain) for q in (question, compound)}
    # One search for the plain question; the compound one is answered part by part, while the
    # baseline searches the whole question: its own search, nothing shared.
    assert queries.count(question) == 1 and queries.count(compound) == 1 and len(queries) == 4
    for q in (question, compound):
        assert (shared[q].text, shared[q].citations, shared[q].passages) == \
            (alone[q].text, alone[q].citations, alone[q].passages)
    assert ours[question].passages == shared[question].passages
    # Outside the block nothing is shared.
    ask(question, settings=plain)
    assert queries.count(question) == 2


def test_run_suite_searches_once_per_case_for_the_answerer_and_the_baseline(workspace, tmp_path, monkeypatch):
    suite = load_suite(workspace / "tiny.yaml")
    settings = settings_for(suite, Settings(), index_dir=tmp_path / "index")
    build_index(settings, progress=False)
    queries = _counting_searches(monkeypatch)
    alone = run_suite(suite, settings, progress=False, baseline=False)
    searched = len(queries)
    with_baseline = run_suite(suite, settings, progress=False)
    assert len(queries) == 2 * searched  # the baseline added no search of its own
    assert {c.question for c in suite.cases} <= set(queries)
    assert [c["answer"] for c in with_baseline["cases"]] == [c["answer"] for c in alone["cases"]]
    assert with_baseline["baseline"]["summary"]["cases"] == len(suite.cases)
