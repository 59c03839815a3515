"""``rag eval``: run eval suites through :func:`rag.ask` and report.

    rag eval                                   # every suite in evals/ -> evals/reports/<timestamp>/
    rag eval evals/seeds.yaml --answerer openai --out /tmp/eval
    rag eval --case 'who-*'                    # only some cases (thresholds of absent categories: n/a)
    rag eval --compare OLD.json NEW.json       # what got better / worse, case by case

Exit status: 0 all thresholds met, 1 a threshold missed, 2 bad suite or arguments.

>>> main(["evals/seeds.yaml", "--out", "/tmp/eval-report"])  # doctest: +SKIP
0
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from rag import Settings, ask, build_index
from rag.extras import require
from rag.ingest.indexing import fingerprint
from rag.ingest.loading import CorpusError, document_text, reader_signature, walk_corpus
from rag.pipeline import shared_retrieval
from rag.settings import ANSWERERS, SettingsError

from .metrics import aggregate, by_category, check_thresholds, error_result, score_case
from .report import chart, compare, markdown, overview, summary_text
from .suite import Suite, SuiteError, load_suite

EVALS_DIR = Path(__file__).resolve().parent
DEFAULT_SUITE = EVALS_DIR / "seeds.yaml"
REPORTS_DIR = EVALS_DIR / "reports"
BASELINE = "top-chunk"


def default_suites() -> list[Path]:
    """Every suite in evals/: each corpus's tuning suite, then its held-out split."""
    return sorted(EVALS_DIR.glob("*.yaml"), key=lambda p: (p.stem.removesuffix("-heldout"), p.stem))


def settings_for(suite: Suite, base: Settings, index_dir: Path | None = None) -> Settings:
    """The Settings a suite runs with: its own corpus if it names one.

    An index holds exactly one corpus and indexing syncs it (files not in the
    corpus are removed), so a suite over another corpus never reuses the
    configured index: it gets ``index_dir``, the suite's ``index:``, or a cache
    folder keyed by what the index is built from (:func:`cache_key`), which any
    clone of the repository with the same corpus reuses.
    """
    s = base
    if suite.corpus is not None and suite.corpus.resolve() != base.ingest.corpus_dir.resolve():
        s = s.replace(corpus_dir=suite.corpus)
        key = cache_key(s)
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", suite.corpus.resolve().name)
        s = s.replace(index_dir=suite.index or cache_dir() / f"eval-index-{name}-{key}")
        if s.store.chroma_url:
            s = s.replace(collection=f"eval-{key}")
    elif suite.index is not None:
        s = s.replace(index_dir=suite.index)
    return s.replace(index_dir=index_dir) if index_dir else s


def cache_dir() -> Path:
    """Where eval indexes are kept: ``$XDG_CACHE_HOME/rag-citations`` (default ``~/.cache``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rag-citations"


def cache_key(settings: Settings) -> str:
    """A digest of what the index of ``settings.ingest.corpus_dir`` is built from: every file
    indexing sees (relative name, size, sha256 of its bytes; wherever the folder is),
    the index fingerprint (embedding model, chunk size and overlap, chunker version),
    what this machine can read (OCR) and the Chroma version that writes the store.

    Two clones with the same corpus get the same key, so the second reuses the first's
    index; a changed corpus gets another key (and its own index), so a run never reads
    an index that a run over another version of the corpus is rewriting. The index
    records sources relative to the corpus, and a run from another folder re-reads
    (without re-embedding) every file once, so loaders' changes are picked up too.

    >>> cache_key(Settings(corpus_dir="seeds"))  # doctest: +SKIP
    '3f1c0e9a7b2d4c55'
    """
    from importlib.metadata import version

    files, skipped = walk_corpus(settings.ingest.corpus_dir)
    digest = hashlib.sha256()
    for head in (fingerprint(settings), reader_signature(settings), version("chromadb")):
        digest.update(head.encode() + b"\0")
    for rel in files:
        content, size = hashlib.sha256(), 0
        try:
            with open(settings.ingest.corpus_dir / rel, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    content.update(block)
                    size += len(block)
        except OSError as exc:  # indexing will say so; the key only has to differ from a readable file's
            digest.update(f"{rel}\0unreadable\0{exc.strerror}\n".encode())
            continue
        digest.update(f"{rel}\0{size}\0{content.hexdigest()}\n".encode())
    for s in skipped:  # unreadable folders, links out of the corpus: the index's "skipped" list
        digest.update(f"skipped\0{s.source}\0{s.reason}\n".encode())
    return digest.hexdigest()[:16]


def run_suite(suite: Suite, settings: Settings, only: list[str] | None = None, progress: bool = True,
              baseline: bool = True) -> dict:
    """Index the suite's corpus (incrementally), ask every case, score it; then
    score the ``top-chunk`` baseline on the same cases (unless ``baseline`` is
    False), on the passages the answerer's search found for the same query (one
    search per case, see :func:`rag.pipeline.shared_retrieval`). Returns the
    JSON-ready result (see evals/README.md "Results")."""
    texts: dict[str, str | None] = {}  # the corpus files' texts, read once for both runs
    with shared_retrieval():
        result = _run(suite, settings, only, progress, texts)
        base = _run(suite, settings.replace(answerer=BASELINE), only, progress, texts) \
            if baseline and settings.answer.answerer != BASELINE else None
    if base is not None:
        result["baseline"] = {"answerer": BASELINE, "summary": base["summary"],
                              "by_category": base["by_category"]}
        ours, theirs = result["summary"]["fact_accuracy"], base["summary"]["fact_accuracy"]
        if ours is not None and theirs is not None:
            # The answerer must beat the plain approach on the same cases, every run (a tie
            # only at 100%, where there is nothing left to beat).
            row = {"metric": "fact_accuracy", "category": None, "limit": theirs, "kind": "above top-chunk",
                   "value": ours, "ok": ours > theirs or ours == theirs == 1.0}
            result["thresholds"].append(row)
            result["passed"] = result["passed"] and row["ok"]
    return result


def _run(suite: Suite, settings: Settings, only: list[str] | None, progress: bool,
         texts: dict[str, str | None]) -> dict:
    from tqdm import tqdm

    cases = [c for c in suite.cases if not only or any(fnmatch.fnmatchcase(c.id, p) for p in only)]
    if not cases:
        raise SuiteError(f"{suite.path}: no case id matches {', '.join(only or [])}")
    started = datetime.now(timezone.utc)
    t_start = time.perf_counter()
    build_index(settings)
    try:  # load the models now, so start-up cost is not the first case's latency
        ask("warm-up: load the models", settings=settings)
    except Exception:  # an answerer that fails shows up in every case's result below
        pass
    startup = time.perf_counter() - t_start

    def corpus_text(source: str) -> str | None:
        if source not in texts:
            try:
                texts[source] = document_text(settings.ingest.corpus_dir / source, settings)
            except (OSError, ValueError):
                texts[source] = None
        return texts[source]

    results = []
    bar = tqdm(cases, desc=f"eval {suite.name}", unit="case", file=sys.stderr, disable=not progress)
    for case in bar:
        t0 = time.perf_counter()
        try:
            answer = ask(case.question, history=list(case.history) or None, settings=settings)
        except Exception as exc:  # one broken case must not hide the others' results
            results.append(error_result(case, f"{type(exc).__name__}: {exc}", time.perf_counter() - t0))
        else:
            results.append(score_case(case, answer, time.perf_counter() - t0, corpus_text))
        bar.set_postfix(failed=sum(not r.passed for r in results))
    bar.close()

    summary, categories = aggregate(results), by_category(results)
    rows = check_thresholds(summary, categories, suite.thresholds)
    by_id = {c.id: c for c in cases}
    return {
        "schema": 1, "suite": suite.name, "suite_path": str(suite.path), "description": suite.description,
        "corpus": str(settings.ingest.corpus_dir), "index": settings.index_location, "answerer": settings.answer.answerer,
        "top_k": settings.retrieval.top_k, "started_at": started.isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - t_start, 2), "startup_seconds": round(startup, 2),
        "summary": summary, "by_category": categories, "thresholds": rows,
        "passed": all(r["ok"] is not False for r in rows),
        "cases": [{**r.to_dict(), "expected": _expected(by_id[r.id])} for r in results],
    }


def _expected(case) -> dict:
    return {"refuse": case.refuse, "facts": [list(g) for g in case.facts], "sources": [list(g) for g in case.sources],
            "sources_mode": case.sources_mode, "forbidden": list(case.forbidden),
            "history": [t if isinstance(t, dict) else list(t) for t in case.history], "note": case.note}


def write_outputs(result: dict, out_dir: Path, stem: str) -> list[Path]:
    """``<stem>.json``, ``<stem>.md`` and ``<stem>.png`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    js, md, png = (out_dir / f"{stem}{ext}" for ext in (".json", ".md", ".png"))
    js.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    chart(result, png)
    md.write_text(markdown(result, png.name), encoding="utf-8")
    return [js, md, png]


def main(argv: list[str] | None = None) -> int:
    """``rag eval ARGS`` from Python (the command line is evals/cli.py); returns the exit status."""
    import click

    from .cli import command

    try:
        return command.main(list(sys.argv[1:] if argv is None else argv), prog_name="rag eval",
                            standalone_mode=False)
    except click.ClickException as exc:  # bad arguments: the message, exit status 2
        exc.show()
        return exc.exit_code


def run(suites: list[Path], *, baseline: bool = True, answerer: str | None = None, top_k: int | None = None,
        out: Path | None = None, index_dir: Path | None = None, cases: list[str] | None = None,
        progress: bool = True, compare_files: tuple[Path, Path] | None = None, **overrides) -> int:
    """``rag eval``: run ``suites`` (default: every suite in evals/) or compare two results;
    ``overrides`` are more Settings fields (None: from the environment). Returns the exit status."""
    try:
        if compare_files:
            old, new = (json.loads(p.read_text(encoding="utf-8")) for p in compare_files)
            print(compare(old, new))
            return 0
        require("matplotlib", "eval", "rag eval's charts")  # before minutes of answering, not after
        given = {"answerer": answerer, "top_k": top_k, **overrides}
        base = Settings.from_env(**{k: v for k, v in given.items() if v is not None})
        suites = [load_suite(p) for p in suites or default_suites()]
        corpora = {str((s.corpus or base.ingest.corpus_dir).resolve()) for s in suites}
        if index_dir and len(corpora) > 1:
            raise SuiteError("--index-dir holds one corpus, but these suites name different corpora: run them apart")
        out_dir = out or REPORTS_DIR / datetime.now().strftime("%Y%m%d-%H%M%S")
        failed = False
        results = []
        for n, suite in enumerate(suites):
            # A bar redrawn into a log file (CI) is noise: show it on a terminal only.
            show = progress and sys.stderr.isatty()
            result = run_suite(suite, settings_for(suite, base, index_dir), cases, show, baseline)
            stem = suite.name if suite.name not in {s.name for s in suites[:n]} else f"{suite.name}-{n + 1}"
            paths = write_outputs(result, out_dir, stem)
            print(summary_text(result))
            print("Wrote " + ", ".join(str(p) for p in paths) + "\n")
            failed |= not result["passed"]
            results.append(result)
        if len(results) > 1:
            text = overview(results)
            (out_dir / "overview.md").write_text("# Eval overview\n\n" + overview(results, markdown=True) + "\n",
                                                 encoding="utf-8")
            print(text)
    except (SuiteError, CorpusError, SettingsError, json.JSONDecodeError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if out is None:
        _point_latest(out_dir)
    return 1 if failed else 0


def _point_latest(out: Path) -> None:
    """evals/reports/latest -> the newest run, so CI and people find it."""
    latest = REPORTS_DIR / "latest"
    try:
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        latest.symlink_to(out.name)
    except OSError:
        pass  # a filesystem without symlinks: the timestamped folder is still there


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
