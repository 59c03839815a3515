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
    assert sorted(rag.__all__) == sorted(["ask", "ask_stream", "engine", "validate_question", "build_index", "as_retriever",
                                          "as_runnable", "Settings", "Answer", "Citation", "Passage",
                                          "IndexReport"])
    for name in rag.__all__:
        assert getattr(rag, name) is not None, name


# --- The stages (issue 21): packages named after the pipeline's stages, data flowing one way.
STAGES = ("rag.store", "rag.embeddings", "rag.ingest", "rag.retrieval", "rag.answer", "rag.generate", "rag.serve")
# Modules every stage may use: the typed objects, the settings, text and display helpers.
BASE = ("rag.objects", "rag.settings", "rag.safety", "rag.text", "rag.extras", "rag.lazy")
# Which stage may import which (docs/ARCHITECTURE.md has the same table). Anything not listed is refused.
ALLOWED = {
    "rag.store": set(),
    "rag.embeddings": set(),
    "rag.ingest": {"rag.store", "rag.embeddings"},
    "rag.retrieval": {"rag.store", "rag.embeddings"},
    "rag.answer": {"rag.retrieval", "rag.ingest"},  # ingest: reading a cited file's text for quotes
    "rag.generate": {"rag.answer"},
    "rag.providers": {"rag.embeddings", "rag.store", "rag.answer", "rag.generate"},
    "rag.pipeline": {"rag.store", "rag.embeddings", "rag.ingest", "rag.retrieval", "rag.answer", "rag.providers"},
    # rag.pipeline below: what `from rag import ask, engine` resolves to (the public surface).
    "rag.serve": {"rag", "rag.pipeline", "rag.store", "rag.embeddings", "rag.ingest", "rag.retrieval"},
    "rag.cli": {"rag", "rag.pipeline", "rag.ingest", "rag.serve"},
    "rag": {"rag.pipeline", "rag.ingest", "rag.serve"},
    "ui": {"rag", "rag.pipeline", "rag.cli", *STAGES},  # rag.cli: the plugin API of `rag ui`
}


def module_name(path: Path) -> tuple[str, bool]:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return (".".join(parts[:-1]), True) if parts[-1] == "__init__" else (".".join(parts), False)


def lazy_exports(init: Path, package: str) -> dict[str, str]:
    """A package's ``_EXPORTS`` / ``_LAZY`` table: name -> the module that defines it."""
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") in ("_EXPORTS", "_LAZY"):
            table = ast.literal_eval(node.value)
            return {k: package + "." + v.split(":")[0].lstrip(".") for k, v in table.items()}
    return {}


def import_graph(roots=("rag", "ui")) -> tuple[dict[str, set[str]], list[tuple[str, str, str, int]]]:
    """(module -> modules it imports, every import as (importer, module named, name, line)), with
    function-level imports and names served lazily by a package resolved to their module."""
    files = {module_name(p): p for r in roots for p in (ROOT / r).rglob("*.py")}
    mods = {name for name, _ in files}
    lazy = {name: lazy_exports(p, name) for (name, pkg), p in files.items() if pkg}
    graph: dict[str, set[str]] = {name: set() for name in mods}
    seen = []
    for (name, is_pkg), path in files.items():
        package = name if is_pkg else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    target = full if full in mods else lazy.get(base, {}).get(alias.name, base)
                    seen.append((name, base, alias.name, node.lineno))
                    if target in mods and target != name:
                        graph[name].add(target)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    seen.append((name, alias.name, "", node.lineno))
                    if alias.name in mods and alias.name != name:
                        graph[name].add(alias.name)
    return graph, seen


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def stage_of(module: str) -> str:
    for stage in STAGES:
        if module == stage or module.startswith(stage + "."):
            return stage
    if module == "ui" or module.startswith("ui."):
        return "ui"
    return module


def test_no_import_cycles_counting_imports_inside_functions():
    graph, _ = import_graph()
    assert len(graph) > 60 and graph["rag.pipeline"]  # the walk found the code and its imports
    assert cycles(graph) == []


def test_the_cycle_finder_finds_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_stages_import_only_the_stages_below_them():
    graph, _ = import_graph()
    wrong = sorted({(stage_of(a), stage_of(b)) for a, targets in graph.items() for b in targets
                    if stage_of(a) != stage_of(b) and stage_of(b) not in BASE
                    and stage_of(b) not in ALLOWED.get(stage_of(a), set())
                    and stage_of(a) not in BASE})
    assert wrong == []


def test_base_modules_import_no_stage():
    graph, _ = import_graph()
    assert {(a, b) for a in BASE for b in graph.get(a, ()) if b not in BASE} == set()


def test_across_stages_only_a_packages_public_names_are_imported():
    """From outside a stage (ui, serve, another stage), `from rag.store import x` with x in
    rag.store.__all__, never `from rag.store.chroma import x`."""
    import importlib

    _, seen = import_graph()
    wrong = []
    for importer, module, name, line in seen:
        stage = stage_of(module)
        if stage not in STAGES or stage_of(importer) == stage:
            continue
        if module != stage:
            wrong.append(f"{importer}:{line} imports {module}")
        elif name and name not in importlib.import_module(stage).__all__:
            wrong.append(f"{importer}:{line} imports {stage}.{name}, not in its __all__")
    assert wrong == []


def test_ui_and_serve_use_only_public_modules():
    _, seen = import_graph()
    public = {"rag", "rag.cli", *BASE, *STAGES}  # rag.cli: shared options for plugin commands
    wrong = [f"{a}:{line} imports {m}" for a, m, _, line in seen
             if (a.startswith("ui") or a.startswith("rag.serve")) and m.startswith("rag")
             and stage_of(m) != stage_of(a) and m not in public]
    assert wrong == []


def test_the_library_does_not_import_the_ui_or_the_evals():
    _, seen = import_graph(("rag",))
    assert [(a, m) for a, m, _, _ in seen if m.split(".")[0] in ("ui", "evals")] == []


def test_every_stage_package_serves_every_name_it_lists():
    import importlib

    for stage in STAGES:
        package = importlib.import_module(stage)
        assert package.__all__, stage
        for name in package.__all__:
            assert getattr(package, name) is not None, f"{stage}.{name}"


def test_the_readme_tree_matches_the_folders():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    tree = text.split("## How it works", 1)[1].split("```", 2)[1]
    listed = {line.split()[0] for line in tree.splitlines() if line.startswith("  ") and line.strip()
              and not line.startswith("   ")}
    actual = {p.name + ("/" if p.is_dir() else "") for p in (ROOT / "rag").iterdir()
              if p.name != "__pycache__" and (p.is_dir() or p.suffix == ".py")}
    assert listed == actual
