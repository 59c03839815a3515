"""The benchmark tooling works from a clone: the corpus generator is
deterministic and sized as asked, and `benchmarks/run.py` runs end to end
(tiny size, hash embedder, a real `chroma run` server) and writes its report.
Figures are not asserted here: speed targets live in the benchmark itself."""

from __future__ import annotations

import filecmp
import json
import subprocess
import sys

import pytest
from conftest import REPO

pytestmark = pytest.mark.slow

sys.path.insert(0, str(REPO / "benchmarks"))

from corpus import generate  # noqa: E402

from rag.ingest.chunking import split_documents  # noqa: E402
from rag.ingest.loading import load_corpus  # noqa: E402


def test_corpus_is_deterministic_and_about_the_size_asked(tmp_path):
    a, b = generate(tmp_path / "a", chunks=600), generate(tmp_path / "b", chunks=600)
    assert a == b and a["files"] > 50
    cmp = filecmp.dircmp(tmp_path / "a", tmp_path / "b")
    assert not cmp.diff_files and not cmp.left_only and not cmp.right_only and cmp.subdirs
    docs, skipped = load_corpus(tmp_path / "a")
    assert not skipped and len(docs) == a["files"]
    chunks = split_documents(docs, 800, 120)
    assert 0.9 * 600 <= len(chunks) <= 1.1 * 600
    headings = [b for d in docs for b in d.blocks if b.kind == "heading"]
    assert len(headings) >= 2 * len(docs) and {b.level for b in headings} == {1, 2}  # titles and sections
    for q in a["questions"]:
        assert (tmp_path / "a" / q["source"]).exists()
    assert generate(tmp_path / "a", chunks=600) == a  # reused, not rewritten


def test_benchmark_command_writes_report_chart_and_figures(tmp_path):
    out = tmp_path / "docs" / "BENCHMARKS.md"
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run.py"), "--sizes", "300", "--minilm-up-to", "0",
         "--server-sizes", "300", "--files-sizes", "60", "--questions", "4", "--rounds", "1", "--work", str(tmp_path / "work"),
         "--out", str(out)],
        capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((tmp_path / "docs" / "benchmarks.json").read_text())
    size = results["sizes"][0]
    assert size["embedding"] == "hash" and size["index"]["chunks"] == size["index"]["embedded"] > 250
    assert size["reindex"]["edit_embedded"] >= 1 and size["reindex"]["restore_embedded"] >= 1
    assert size["reindex"]["edit_cli_s"] > 0 and len(size["reindex"]["unchanged_cli_s"]) == 3
    assert results["files"][0]["files"] == 60 and results["files"][0]["unchanged_cli_median_s"] > 0
    assert size["ask"]["n"] == 4 + 3 and size["server_ask"]["n"] == 4 + 3
    assert set(size["ask"]["stages_p50_s"]) == {"embed_query", "dense", "lexical", "fusion", "answer"}
    report = out.read_text()
    for heading in ("## Indexing", "## Re-indexing", "## Asking", "## Chroma server"):
        assert heading in report
    assert (tmp_path / "docs" / "benchmarks.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_corpus_of_many_small_files(tmp_path):
    info = generate(tmp_path / "f", chunks=0, files=40)
    assert info["files"] == 40 == sum(1 for p in (tmp_path / "f").rglob("*") if p.is_file() and p.name[0] != ".")
    docs, _ = load_corpus(tmp_path / "f")
    assert len(split_documents(docs, 800, 120)) <= 3 * 40
