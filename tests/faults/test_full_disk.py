"""Issue 17 rows 7 and 8: the index folder on a full disk. A real tmpfs of
120 MB (as root, or in a user and mount namespace of our own), the real `rag`
command, real Chroma; see full_disk_run.py for the steps."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from faultkit import SEEDS

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).with_name("full_disk_run.py")


def _runner() -> list[str]:
    if os.geteuid() == 0:
        return [sys.executable, str(SCRIPT)]
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True)
    if probe.returncode == 0:
        return ["unshare", "--user", "--map-root-user", "--mount", sys.executable, str(SCRIPT)]
    pytest.skip("needs root or unprivileged user namespaces to mount a small tmpfs (a full disk)")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("full-disk")
    corpus = root / "corpus"
    shutil.copytree(SEEDS, corpus)
    proc = subprocess.run(_runner() + [str(root / "mnt"), str(corpus)], capture_output=True, timeout=1500)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-3000:]
    return json.loads(proc.stdout.decode().strip().splitlines()[-1])


def cited_answer(a: dict) -> str:
    assert a["rc"] == 0 and a["answer"], a["out"]
    assert a["answer"]["citations"], a["out"]
    return a["answer"]["text"]


def test_a_full_disk_is_named_before_anything_is_written(scenario):
    assert "files added: 5" in scenario["first"]
    for run in scenario["runs"]:
        out = run["out"]
        assert run["rc"] != 0, out
        assert "no space left on " in out and "/index" in out and "MB needed" in out and "MB free" in out, out
        assert "InternalError" not in out and "Traceback" not in out


def test_the_last_good_index_keeps_answering(scenario):
    before = cited_answer(scenario["before"])
    for run in scenario["runs"]:
        ask = run["ask"]
        assert cited_answer(ask) == before, ask["out"]
        assert "is damaged" not in ask["out"] and "rebuil" not in ask["out"] and "incomplete" not in ask["out"]


def test_a_disk_that_fills_anyway_is_reported_and_never_destroys_the_index(scenario):
    filled = scenario["filled_anyway"]
    assert filled["rc"] != 0 and "no space left on " in filled["out"], filled["out"]
    ask = filled["ask"]  # a reader on the full disk: it says so, and rebuilds nothing
    assert "is damaged" not in ask["out"] and "rebuil" not in ask["out"], ask["out"]
    if ask["rc"] != 0:
        assert "no space left on " in ask["out"] and "not damaged" in ask["out"], ask["out"]
    freed = scenario["freed"]
    assert "March 16, 2017" in cited_answer(freed["ask"])  # space freed: it answers again
    assert freed["index"]["rc"] == 0 and "total:" in freed["index"]["out"], freed["index"]["out"]
    cited_answer(freed["after"])
