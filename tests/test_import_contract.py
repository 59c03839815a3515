"""The code's contracts with itself (issue 21): no module reaches into another's private
names, and rag's public surface is what rag/__init__ says it is."""

from __future__ import annotations

import ast
from pathlib import Path

import rag

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("rag", "ui", "evals", "benchmarks", "training", "tests")


def private_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            found += [f"{path.relative_to(ROOT)}:{node.lineno}: from {'.' * node.level}{node.module or ''} "
                      f"import {a.name}" for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
    return found


def test_no_module_imports_another_modules_private_names():
    files = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py") if ".venv" not in p.parts]
    assert len(files) > 100  # the walk found the code
    assert [hit for f in files for hit in private_imports(f)] == []


def test_the_checker_sees_a_private_import(tmp_path):
    sample = ROOT / "tests" / "_contract_sample.py"
    sample.write_text("from rag.pipeline import _loading_part, engine\nfrom . import _x as y\n")
    try:
        assert [h.split(": ", 1)[1] for h in private_imports(sample)] == [
            "from rag.pipeline import _loading_part", "from . import _x"]
    finally:
        sample.unlink()


def test_the_public_surface_is_pinned_and_every_name_resolves():
    assert sorted(rag.__all__) == sorted(["ask", "ask_stream", "engine", "build_index", "as_retriever",
                                          "as_runnable", "Settings", "Answer", "Citation", "Passage",
                                          "IndexReport"])
    for name in rag.__all__:
        assert getattr(rag, name) is not None, name
